// SPDX-License-Identifier: MIT
// LD_PRELOAD experiments: a program built against qaio's headers carries
// its AioContext layout and API level (block/aio.h); a libqaio with another
// would make the header inlines touch the wrong fields, so it refuses to
// run.  Programs without the weak symbol (a QEMU tree) are not checked.
#include "qemu/osdep.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" __attribute__((weak)) const char qaio_program_aio_context_layout[];

namespace {

__attribute__((constructor)) void check_program_layout()
{
    const char *program = qaio_program_aio_context_layout;
    if (!program || strcmp(program, QAIO_AIO_CONTEXT_ABI) == 0) {
        return;
    }
    fprintf(stderr, "qaio: this program was built against qaio headers with the AioContext "
            "layout \"%s\", but the libqaio loaded (qaio %s) has the layout \"%s\" "
            "(tlg at offset %d); rebuild one of them with the same "
            "--enable-aio-context-layout and --with-qemu-api\n",
            program, QAIO_VERSION, QAIO_AIO_CONTEXT_ABI, QAIO_AIO_CONTEXT_TLG_OFFSET);
    exit(EXIT_FAILURE);
}

} // namespace
