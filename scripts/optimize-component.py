#!/usr/bin/env python3
"""Shrinks built components in place with binaryen's wasm-opt.

binaryen reads core modules, not components, so this walks a component's top-level
sections, runs `wasm-opt -Oz` on each embedded core module of any size (the provider's
code; the tiny adapter shims are left alone), and writes the component back with the
optimised modules in their place. Every import and export of a module keeps its name
and type, so the component's wiring around it stays valid. The component-level
`component-name` custom section (debug names only) is dropped.

The result is kept in CACHE_DIR by the input's SHA-256: cargo links the unoptimised
file back on every build, and the next run then only copies.

Usage: optimize-component.py CACHE_DIR FILE.wasm...   (needs wasm-opt on PATH)
"""

import hashlib
import os
import subprocess
import sys
import tempfile

# What rustc 1.95 emits for wasm32-wasip2 (LLVM's generic CPU) and binaryen must accept.
FEATURES = [
    "--enable-bulk-memory",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
]
# Modules smaller than this are the component's generated shims: nothing to gain.
MIN_MODULE = 16 * 1024
DROPPED_CUSTOM = {b"component-name"}


def leb(data, i):
    result = shift = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def enc_leb(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def wasm_opt(module):
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in.wasm")
        dst = os.path.join(tmp, "out.wasm")
        with open(src, "wb") as f:
            f.write(module)
        subprocess.run(
            ["wasm-opt", "-Oz", "--strip-debug", "--strip-producers", *FEATURES, src, "-o", dst],
            check=True,
        )
        with open(dst, "rb") as f:
            return f.read()


def optimize(path, cache_dir):
    data = open(path, "rb").read()
    cached = os.path.join(cache_dir, hashlib.sha256(data).hexdigest() + ".wasm")
    if os.path.exists(cached):
        out = open(cached, "rb").read()
    else:
        out = optimized_component(path, data)
        os.makedirs(cache_dir, exist_ok=True)
        with open(cached + ".tmp", "wb") as f:
            f.write(out)
        os.replace(cached + ".tmp", cached)
    # A new file, not a write through cargo's hard link to its own copy.
    with open(path + ".tmp", "wb") as f:
        f.write(out)
    os.replace(path + ".tmp", path)
    print(f"{os.path.basename(path)}: {len(data)} -> {len(out)} bytes")


def optimized_component(path, data):
    # A component's preamble: magic, then version 0x0d and layer 1.
    if data[:4] != b"\0asm" or data[4:8] != b"\x0d\x00\x01\x00":
        raise SystemExit(f"{path}: not a component")
    out = bytearray(data[:8])
    i = 8
    while i < len(data):
        section = data[i]
        size, start = leb(data, i + 1)
        body = data[start : start + size]
        i = start + size
        if section == 0:
            name_len, at = leb(body, 0)
            if body[at : at + name_len] in DROPPED_CUSTOM:
                continue
        if section == 1 and size >= MIN_MODULE:
            optimized = wasm_opt(body)
            if len(optimized) < len(body):
                body = optimized
        out.append(section)
        out += enc_leb(len(body))
        out += body
    return bytes(out)


if __name__ == "__main__":
    for file in sys.argv[2:]:
        optimize(file, sys.argv[1])
