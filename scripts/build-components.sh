#!/usr/bin/env bash
# Builds every provider component for wasm32-wasip2 (installing the target if needed).
# Output: target/wasm32-wasip2/component/<id>.wasm, where domain-host finds them.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi
providers=()
for dir in providers/*/; do
  providers+=(-p "$(basename "$dir")")
done
cargo build --locked --target wasm32-wasip2 --profile component "${providers[@]}"
ls -l target/wasm32-wasip2/component/*.wasm
