#!/bin/sh
# SPDX-License-Identifier: MIT
# The folders of lib/ must form a directed graph without cycles (see
# docs/architecture.md): reads every #include "lib/..." line of lib/, fails
# naming each cycle between folders, on any include of cabi/ (lib/ is below
# the C layer), on a wait backend (posix, win32) included by the platform-
# neutral core or by the other backend, and on a POSIX fd header in the
# neutral core.  Prints the folders in layer order when clean.
set -eu
srcdir=${QAIO_SRCDIR:-$(dirname "$0")/..}
exec python3 - "$srcdir" <<'PY'
import os, re, sys

root = sys.argv[1]
include = re.compile(r'^\s*#\s*include\s*"((lib|cabi)/[^"]+)"')
system = re.compile(r'^\s*#\s*include\s*<([^>]+)>')
# The platform-neutral core and what it must not know of how POSIX waits.
neutral = {'support', 'coroutine', 'timer', 'loop'}
backends = {'posix', 'win32'}
fd_headers = {'poll.h', 'sys/poll.h', 'sys/epoll.h', 'sys/eventfd.h', 'sys/select.h',
              'sys/signalfd.h', 'liburing.h', 'fcntl.h'}
# qemu_poll_ns's ppoll, a timer function of QEMU's API (util/qemu-timer.c).
allowed = {('lib/timer/clock.hh', 'poll.h')}
edges, problems = {}, []
for dirpath, _, files in os.walk(os.path.join(root, 'lib')):
    for name in sorted(files):
        if not name.endswith(('.cc', '.hh', '.h', '.c', '.S')):
            continue
        path = os.path.join(dirpath, name)
        rel = os.path.relpath(path, root)
        folder = rel.split(os.sep)[1]
        edges.setdefault(folder, {})
        with open(path, encoding='utf-8') as f:
            for n, line in enumerate(f, 1):
                m = system.match(line)
                if (m and folder in neutral and m.group(1) in fd_headers
                        and (rel, m.group(1)) not in allowed):
                    problems.append(f'{rel}:{n}: the neutral core includes <{m.group(1)}>')
                m = include.match(line)
                if not m:
                    continue
                target = m.group(1).split('/')
                if target[0] == 'cabi':
                    problems.append(f'{rel}:{n}: lib/ includes the C layer: {m.group(1)}')
                elif target[1] != folder:
                    edges[folder].setdefault(target[1], f'{rel}:{n}')
                    if target[1] in backends and (folder in neutral or folder in backends):
                        problems.append(f'{rel}:{n}: {folder} includes a wait backend: {m.group(1)}')

# Depth-first search; a back edge closes a cycle.
state, stack, order = {}, [], []
def visit(u):
    state[u] = 'open'
    stack.append(u)
    for v in sorted(edges.get(u, {})):
        if state.get(v) == 'open':
            cycle = stack[stack.index(v):] + [v]
            where = ', '.join(edges[a][b] for a, b in zip(cycle, cycle[1:]))
            problems.append('folder cycle ' + ' -> '.join(cycle) + ' (' + where + ')')
        elif v not in state:
            visit(v)
    stack.pop()
    state[u] = 'done'
    order.append(u)
for u in sorted(edges):
    if u not in state:
        visit(u)

if problems:
    print('\n'.join(problems))
    sys.exit(1)
print('lib/ folders in include order (each includes only those before it):',
      ' < '.join(order))
PY
