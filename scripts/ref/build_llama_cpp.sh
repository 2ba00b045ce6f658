#!/usr/bin/env bash
# Build the llama.cpp reference (from the llama-cpp-python 0.3.36 sdist on PyPI)
# plus our dump tool (scripts/ref/dump_logits.cpp -> vkv-dump-logits).
#
#   scripts/ref/build_llama_cpp.sh [DIR]
#
# DIR defaults to ${VKV_HOME:-$HOME/.cache/vectorkv}/llama.cpp. Layout:
#   DIR/llama_cpp_python-0.3.36.tar.gz            the sdist (pip download)
#   DIR/llama_cpp_python-0.3.36/vendor/llama.cpp  llama.cpp sources
#   DIR/venv                                      cmake + ninja from PyPI
#   $LLAMA/build/bin/                             llama-perplexity llama-tokenize llama-bench
#                                                 llama-simple llama-passkey vkv-dump-logits + .so
#
# Needs: bash, python3 (with venv/pip), a C/C++ compiler (g++), network access to PyPI only.
# Idempotent: every step is skipped when its output already exists. CPU only, no curl,
# no OpenSSL, no server. Prints the bin directory on the last line of stdout.
# Env: VKV_BUILD_JOBS (default: nproc).
set -euo pipefail

VERSION=0.3.36
DIR=${1:-${VKV_HOME:-$HOME/.cache/vectorkv}/llama.cpp}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
JOBS=${VKV_BUILD_JOBS:-$(nproc)}
TOOLS=(llama-perplexity llama-tokenize llama-bench llama-simple llama-passkey)

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
SDIST=$DIR/llama_cpp_python-$VERSION.tar.gz
LLAMA=$DIR/llama_cpp_python-$VERSION/vendor/llama.cpp
BUILD=$LLAMA/build
BIN=$BUILD/bin
log() { echo "[build_llama_cpp] $*" >&2; }

# 1. sources -------------------------------------------------------------------------------
if [ ! -f "$LLAMA/include/llama.h" ]; then
    if [ ! -f "$SDIST" ]; then
        log "downloading llama-cpp-python==$VERSION sdist from PyPI"
        python3 -m pip download --no-deps --no-binary llama-cpp-python \
            "llama-cpp-python==$VERSION" -d "$DIR" >&2
    fi
    log "unpacking $SDIST"
    tar -xzf "$SDIST" -C "$DIR"
fi
test -f "$LLAMA/include/llama.h" || { log "no llama.cpp sources in the sdist?"; exit 1; }

# 2. cmake + ninja ---------------------------------------------------------------------------
if [ ! -x "$DIR/venv/bin/cmake" ] || [ ! -x "$DIR/venv/bin/ninja" ]; then
    log "creating $DIR/venv with cmake and ninja (needs python3-venv on Debian)"
    python3 -m venv "$DIR/venv" >&2
    "$DIR/venv/bin/python" -m pip install -q cmake ninja >&2
fi
CMAKE=$DIR/venv/bin/cmake
NINJA=$DIR/venv/bin/ninja

# 3. configure ---------------------------------------------------------------------------------
# On CPUs with AMX (Sapphire Rapids and later), GGML_NATIVE compiles ggml's AMX path, and in
# this llama.cpp version every prefill died on it (2026-12-01, a 2-vCPU Xeon VM with amx_int8,
# whose kernel grants AMX: the first `tileloadd` raised an invalid-opcode SIGILL; `llama-bench
# --repack 0`, which skips the AMX buffers, ran). Compile without AMX there: GCC's explicit
# -mno-* flags win over -march=native whatever their order, and the AVX-512 VNNI/BF16 kernels
# (the rest of -march=native) stay. A build directory configured with other flags (an earlier
# run of this script) is configured again, which rebuilds it.
NOAMX=""
if grep -qw amx_tile /proc/cpuinfo 2>/dev/null; then
    NOAMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    log "CPU has AMX: building without it ($NOAMX)"
fi
if [ -f "$BUILD/CMakeCache.txt" ] && ! grep -qxF "CMAKE_C_FLAGS:STRING=$NOAMX" "$BUILD/CMakeCache.txt"; then
    log "$BUILD was configured with other compiler flags: configuring it again"
    rm -f "$BUILD/build.ninja" "$BIN"/llama-* "$BIN/vkv-dump-logits"
fi
if [ ! -f "$BUILD/build.ninja" ]; then
    log "configuring $BUILD"
    "$CMAKE" -S "$LLAMA" -B "$BUILD" -G Ninja \
        -DCMAKE_C_FLAGS="$NOAMX" -DCMAKE_CXX_FLAGS="$NOAMX" \
        -DCMAKE_MAKE_PROGRAM="$NINJA" \
        -DCMAKE_BUILD_TYPE=Release \
        -DBUILD_SHARED_LIBS=ON \
        -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_UI=OFF \
        -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_EXAMPLES=ON \
        -DGGML_NATIVE=ON >&2
fi

# 4. build the tools -------------------------------------------------------------------------
missing=()
for t in "${TOOLS[@]}"; do [ -x "$BIN/$t" ] || missing+=("bin/$t"); done
if [ ${#missing[@]} -gt 0 ]; then
    log "building ${missing[*]} with -j$JOBS (takes a while on 2 cores)"
    "$NINJA" -C "$BUILD" -j"$JOBS" "${missing[@]}" >&2
fi

# 5. our dump tool -----------------------------------------------------------------------------
COMMIT=$(sed -n 's/^char const \* LLAMA_COMMIT = "\(.*\)";/\1/p' "$BUILD/common/build-info.cpp" 2>/dev/null || true)
if [ -z "$COMMIT" ] && command -v git >/dev/null; then
    COMMIT=$(git -C "$LLAMA" rev-parse --short HEAD 2>/dev/null || true)
fi
DESC="llama.cpp from llama-cpp-python $VERSION (llama.cpp commit ${COMMIT:-unknown}, ggml $(sed -n 's/.*set(GGML_VERSION_MAJOR \([0-9]*\)).*/\1/p' "$LLAMA/ggml/CMakeLists.txt" | head -1).$(sed -n 's/.*set(GGML_VERSION_MINOR \([0-9]*\)).*/\1/p' "$LLAMA/ggml/CMakeLists.txt" | head -1).$(sed -n 's/.*set(GGML_VERSION_PATCH \([0-9]*\)).*/\1/p' "$LLAMA/ggml/CMakeLists.txt" | head -1), CPU)"
DUMP=$BIN/vkv-dump-logits
if [ ! -x "$DUMP" ] || [ "$HERE/dump_logits.cpp" -nt "$DUMP" ] || [ "$BIN/libllama.so" -nt "$DUMP" ]; then
    log "compiling vkv-dump-logits ($DESC)"
    "${CXX:-g++}" -O2 -std=c++17 -Wall -Wextra \
        -DVKV_REF_DESC="\"$DESC\"" \
        -I"$LLAMA/include" -I"$LLAMA/ggml/include" \
        "$HERE/dump_logits.cpp" \
        -L"$BIN" -lllama -lggml -lggml-base -Wl,-rpath,"$BIN" \
        -o "$DUMP"
fi

log "ok: $BIN"
echo "$BIN"
