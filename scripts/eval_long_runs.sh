#!/usr/bin/env bash
# Background chain of the long qwen2.5-0.5b runs (resumable: re-running skips finished cells).
V=${VKV:-target/release/vkv}
L=$HOME/.cache/vectorkv/eval/logs
step() { name=$1; shift; echo "$(date -u +%FT%TZ) start $name: $*" >> $L/chain.log; s=$(date +%s); "$V" "$@" > $L/$name.md 2> $L/$name.err; echo "$(date -u +%FT%TZ) end $name rc=$? secs=$(( $(date +%s) - s ))" >> $L/chain.log; }
step niah-4k  eval niah --model qwen2.5-0.5b --context 4096 --tasks passkey
step niah-8k  eval niah --model qwen2.5-0.5b --context 8192 --tasks passkey
step ruler-4k eval ruler --model qwen2.5-0.5b --context 4096
step niah-16k eval niah --model qwen2.5-0.5b --context 16384 --tasks passkey
step ruler-8k eval ruler --model qwen2.5-0.5b --context 8192
step niah-32k eval niah --model qwen2.5-0.5b --context 32000 --tasks passkey
step ruler-16k eval ruler --model qwen2.5-0.5b --context 16384
step ruler-32k eval ruler --model qwen2.5-0.5b --context 32000
