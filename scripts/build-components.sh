#!/usr/bin/env bash
# Builds every provider component for wasm32-wasip2 (installing the target if needed), then
# shrinks each provider's core module with binaryen's `wasm-opt -Oz` (Debian's `binaryen`;
# skipped with a note when it is missing; see scripts/optimize-component.py).
# Output: target/wasm32-wasip2/component/<id>.wasm, where domain-host finds them.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi
# wasm-opt is optional: without it the components are built as the compiler wrote them
# (larger, same behaviour). .ci/run installs it.
optimize=1
if ! command -v wasm-opt >/dev/null; then
  optimize=0
  echo "note: wasm-opt (Debian's binaryen) not found; components are left unoptimised (about 25% larger). apt-get install binaryen to shrink them." >&2
fi
providers=()
components=()
for dir in providers/*/; do
  id=$(basename "$dir")
  providers+=(-p "$id")
  components+=("target/wasm32-wasip2/component/${id//-/_}.wasm")
done
cargo build --locked --target wasm32-wasip2 --profile component "${providers[@]}"
# The test fixtures (built in the same folder) are left as the compiler wrote them.
if [ "$optimize" = 1 ]; then
  python3 scripts/optimize-component.py target/wasm32-wasip2/wasm-opt-cache "${components[@]}"
fi
ls -l target/wasm32-wasip2/component/*.wasm
