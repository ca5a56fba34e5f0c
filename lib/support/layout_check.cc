// SPDX-License-Identifier: MIT
// The start-up check of LD_PRELOAD experiments: a program compiled against
// qaio's headers carries the name of the AioContext layout it was built for
// (a weak qaio_program_aio_context_layout, defined by block/aio.h, which
// names the QEMU API level too where it is not 7.2); a libqaio built for
// another layout or level would make the header inlines read and write the
// wrong fields, so it refuses to run, naming both.  A
// program built without qaio's headers (a QEMU tree linking
// libqaio-core.a) has no such symbol, and nothing is checked.
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
    fprintf(stderr,
            "qaio: this program was built against qaio headers with the AioContext "
            "layout \"%s\", but the libqaio loaded (qaio %s) has the layout \"%s\" "
            "(tlg at offset %d); rebuild one of them with the same "
            "--enable-aio-context-layout and --with-qemu-api\n",
            program, QAIO_VERSION, QAIO_AIO_CONTEXT_ABI, QAIO_AIO_CONTEXT_TLG_OFFSET);
    exit(EXIT_FAILURE);
}

} // namespace
