#!/usr/bin/env bash
# The long qwen2.5-0.5b evaluation runs of docs/EVAL.md that are still to run, in priority
# order. Every step is resumable: re-running this script skips finished cells (a finished step
# only rewrites its report). Each prompt is prefilled once and forked into every KV mode of the
# step (dense and wave side by side cost one prefill). Logs and per-step reports:
# <home>/eval/logs/. Finished cells travel in git (scripts/eval_sync.sh): the script restores
# docs/runs/ first and saves the run directories back into it after every step, so a run that
# a session's end cuts off goes on in the next session, on another machine, once docs/runs/ is
# committed.
#
#   scripts/eval_long_runs.sh            (VKV=path/to/vkv to use another binary)
#   nohup scripts/eval_long_runs.sh >/dev/null 2>&1 &
set -u
cd "$(dirname "$0")/.."
V=${VKV:-target/release/vkv}
L=${VKV_HOME:-$HOME/.cache/vectorkv}/eval/logs
mkdir -p "$L"
scripts/eval_sync.sh restore >> "$L/chain.log" 2>&1
# Save every 10 minutes too, so that a session ending mid-step loses at most that much once
# docs/runs/ is committed (a 16K RULER step is hours long).
( while sleep 600; do scripts/eval_sync.sh save > /dev/null 2>&1; done ) &
saver=$!
trap 'kill $saver 2>/dev/null' EXIT
step() {
    name=$1; shift
    echo "$(date -u +%FT%TZ) start $name: $*" >> "$L/chain.log"; s=$(date +%s)
    "$V" "$@" > "$L/$name.md" 2> "$L/$name.err"; rc=$?
    echo "$(date -u +%FT%TZ) end $name rc=$rc secs=$(( $(date +%s) - s ))" >> "$L/chain.log"
    scripts/eval_sync.sh save >> "$L/chain.log" 2>&1
}
M="--model qwen2.5-0.5b"
DEPTHS10=0,0.11,0.22,0.33,0.44,0.56,0.67,0.78,0.89,1
# Wave settings, spelled out in full so that a binary with another default runs the same
# configurations (a result is keyed by the mode's full configuration): the paper's (1.8 % of
# 16-token clusters retrieved), r = 0.1 with 16- and 8-token clusters, and r = 0.2 with
# 8-token clusters (docs/EVAL.md, "Choosing the default budget").
SPEC="wave:r=0.018,cs=16"
R10="wave:r=0.1,cs=16"
CS8="wave:r=0.1,cs=8"
R20="wave:r=0.2,cs=8"
# Finished before the results travelled in git (2026-11-30, first to sixth sessions; the
# tables and commands are in docs/EVAL.md): passkey NIAH 4K-32K for dense, SPEC, R10 and CS8;
# RULER 4K (dense), 8K and 16K (dense, SPEC, R10, CS8); the KL sweeps. Not re-run.
#
# r = 0.2's evidence beside dense (issue 4): the pass-key grids at 8K (10 depths), 16K and
# 32K (5 depths x 2 samples), and issue 4's four RULER tasks at 8K (10 samples) and 16K (20
# samples; fwe at 16K has its 40 samples in docs/EVAL.md). The 32K grid (~2 h) goes before
# RULER 16K (~5 h) so that it finishes within one session.
step niah-8k-r20   eval niah $M --context 8192 --depths $DEPTHS10 --samples 1 --tasks passkey --kv "dense;$R20"
step ruler-8k-r20  eval ruler $M --context 8192 --tasks niah_multivalue,cwe,fwe,niah_multikey --kv "dense;$R20"
step niah-16k-r20  eval niah $M --context 16384 --tasks passkey --kv "dense;$R20"
step niah-32k-r20  eval niah $M --context 32000 --tasks passkey --kv "dense;$R20"
# Samples 0-9 first (prompts run in token order, not sample order), so that a 10-sample
# verdict comes within one session; then the 20.
step ruler-16k-r20-10 eval ruler $M --context 16384 --tasks niah_multivalue,cwe,niah_multikey --samples 10 --kv "dense;$R20"
step ruler-16k-r20 eval ruler $M --context 16384 --tasks niah_multivalue,cwe,niah_multikey --samples 20 --kv "dense;$R20"
# RULER 32K (issue 3's dense table) with the default beside it: 70 prompts at 6-15 min each
# on 2 cores depending on the CPU (7-17 h, several sessions; done 2026-12-01).
step ruler-32k     eval ruler $M --context 32000 --kv "dense;$R20"
