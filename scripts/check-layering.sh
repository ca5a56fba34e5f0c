#!/bin/sh
# SPDX-License-Identifier: MIT
# The folders of lib/ must form a directed graph without cycles (see
# docs/architecture.md): reads every #include "lib/..." line of lib/, fails
# naming each cycle between folders, and fails on any include of cabi/
# (lib/ is below the C layer).  Prints the folders in layer order when clean.
set -eu
srcdir=${QAIO_SRCDIR:-$(dirname "$0")/..}
exec python3 - "$srcdir" <<'PY'
import os, re, sys

root = sys.argv[1]
include = re.compile(r'^\s*#\s*include\s*"((lib|cabi)/[^"]+)"')
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
                m = include.match(line)
                if not m:
                    continue
                target = m.group(1).split('/')
                if target[0] == 'cabi':
                    problems.append(f'{rel}:{n}: lib/ includes the C layer: {m.group(1)}')
                elif target[1] != folder:
                    edges[folder].setdefault(target[1], f'{rel}:{n}')

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
