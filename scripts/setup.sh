#!/usr/bin/env bash
# `npm run setup`: the Debian packages memwarden's features and tests use, then the npm
# dependencies, with the native SQLite module (better-sqlite3) built for the Node that runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh
# Node's own builds ship the headers node-gyp needs beside bin/ (include/node). Building against
# them makes the module fit this Node whichever nodedir npm is configured with, and needs no
# download; a Node without them is left to npm's own configuration.
prefix=$(node -p 'require("node:path").resolve(process.execPath, "../..")')
if [ -f "$prefix/include/node/node.h" ]; then
  export npm_config_nodedir="$prefix"
fi
npm ci
