#!/usr/bin/env bash
# The long qwen2.5-0.5b evaluation runs of docs/EVAL.md, in the issue's priority order.
# Every step is resumable: re-running this script skips finished cells (a finished step only
# rewrites its report). Logs and per-step reports: <home>/eval/logs/.
#
#   scripts/eval_long_runs.sh            (VKV=path/to/vkv to use another binary)
#   nohup scripts/eval_long_runs.sh >/dev/null 2>&1 &
set -u
cd "$(dirname "$0")/.."
V=${VKV:-target/release/vkv}
L=${VKV_HOME:-$HOME/.cache/vectorkv}/eval/logs
mkdir -p "$L"
step() { name=$1; shift; echo "$(date -u +%FT%TZ) start $name: $*" >> "$L/chain.log"; s=$(date +%s); "$V" "$@" > "$L/$name.md" 2> "$L/$name.err"; rc=$?; echo "$(date -u +%FT%TZ) end $name rc=$rc secs=$(( $(date +%s) - s ))" >> "$L/chain.log"; }
step niah-4k  eval niah --model qwen2.5-0.5b --context 4096 --tasks passkey
step niah-8k  eval niah --model qwen2.5-0.5b --context 8192 --tasks passkey
step ruler-4k eval ruler --model qwen2.5-0.5b --context 4096
step niah-16k eval niah --model qwen2.5-0.5b --context 16384 --tasks passkey
step ruler-8k eval ruler --model qwen2.5-0.5b --context 8192
step niah-32k eval niah --model qwen2.5-0.5b --context 32000 --tasks passkey
step ruler-16k eval ruler --model qwen2.5-0.5b --context 16384
step ruler-32k eval ruler --model qwen2.5-0.5b --context 32000
step niah-all  eval niah --model qwen2.5-0.5b --context 4096,8192,16384,32000 --tasks passkey --report-only
step ruler-all eval ruler --model qwen2.5-0.5b --context 4096,8192,16384,32000 --report-only
