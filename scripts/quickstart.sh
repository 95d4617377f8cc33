#!/usr/bin/env bash
# `npm start`: the whole platform on this machine, through `mcp up` (docs/console.md): the
# platform home in $XDG_DATA_HOME/metacircular (CA, registry, agent, console config and
# login), mcr and mcp-agent in the background on loopback, then the console's TUI.
# Arguments go to `mcp up` (`npm start -- --json`, `npm start -- --foreground`).
set -euo pipefail
cd "$(dirname "$0")/.."
exec bin/mcp up "$@"
