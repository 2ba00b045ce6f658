#!/usr/bin/env bash
# llama.cpp vs itself: re-evaluate every logits fixture's prompt one token per micro-batch and
# record how far llama.cpp moves (crates/model/tests/fixtures/logits/self_consistency.json).
# The logits test (crates/model/tests/logits.rs) derives its tolerances from these numbers.
# Needs the llama.cpp build (scripts/ref/build_llama_cpp.sh) and the two models
# (SMOLLM2_GGUF, QWEN05_GGUF; default: the vkv home cache).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FIX=$ROOT/crates/model/tests/fixtures
BIN=$(bash "$HERE/build_llama_cpp.sh" | tail -1)
HOMEDIR=${VKV_HOME:-$HOME/.cache/vectorkv}
SMOLLM2_GGUF=${SMOLLM2_GGUF:-$HOMEDIR/models/SmolLM2-135M-Instruct.Q4_1.gguf}
QWEN05_GGUF=${QWEN05_GGUF:-$HOMEDIR/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf}
OUT=$(mktemp -d)
for m in "smollm2-135m:$SMOLLM2_GGUF" "qwen2.5-0.5b:$QWEN05_GGUF"; do
    name=${m%%:*}; gguf=${m#*:}
    for p in emma pride genesis1 code; do
        "$BIN/vkv-dump-logits" --model "$gguf" --model-name "$name" --ubatch 1 \
            --prompt-file "$FIX/prompts/$p.txt" --top-k 20 --greedy 64 --out "$OUT/$name-$p.json"
    done
    "$BIN/vkv-dump-logits" --model "$gguf" --model-name "$name" --ubatch 1 --parse-special \
        --prompt-file "$FIX/prompts/$name-chat.txt" --top-k 20 --greedy 64 --out "$OUT/$name-chat.json"
done
python3 "$HERE/self_consistency.py" "$OUT" "$FIX/logits"
rm -rf "$OUT"
