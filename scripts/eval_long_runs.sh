#!/usr/bin/env bash
# The long qwen2.5-0.5b evaluation runs of docs/EVAL.md, in priority order. Every step is
# resumable: re-running this script skips finished cells (a finished step only rewrites its
# report). Each prompt is prefilled once and forked into every KV mode of the step (dense and
# wave side by side cost one prefill). Logs and per-step reports: <home>/eval/logs/.
#
#   scripts/eval_long_runs.sh            (VKV=path/to/vkv to use another binary)
#   nohup scripts/eval_long_runs.sh >/dev/null 2>&1 &
set -u
cd "$(dirname "$0")/.."
V=${VKV:-target/release/vkv}
L=${VKV_HOME:-$HOME/.cache/vectorkv}/eval/logs
mkdir -p "$L"
step() { name=$1; shift; echo "$(date -u +%FT%TZ) start $name: $*" >> "$L/chain.log"; s=$(date +%s); "$V" "$@" > "$L/$name.md" 2> "$L/$name.err"; rc=$?; echo "$(date -u +%FT%TZ) end $name rc=$rc secs=$(( $(date +%s) - s ))" >> "$L/chain.log"; }
M="--model qwen2.5-0.5b"
DEPTHS10=0,0.11,0.22,0.33,0.44,0.56,0.67,0.78,0.89,1
# Wave settings: the spec's (r = 1.8 % of 16-token clusters retrieved, e = 23.2 % estimated),
# the 10 % retrieval budget that the 16K needle grid needs, and the default (10 % of 8-token
# clusters) that the 32K grid needs (docs/EVAL.md, "Choosing the default budget"). Spelled out
# in full, so that a binary with another default runs the same configurations (the run
# directories key each result by the mode's full configuration).
SPEC="wave:r=0.018,cs=16"
R10="wave:r=0.1,cs=16"
CS8="wave:r=0.1,cs=8"
K16="cs=16"
BUDGETS="$SPEC;wave:r=0.009,$K16;wave:r=0.036,$K16;wave:r=0.072,$K16;$R10;wave:e=0,$K16;wave:e=0.1,$K16;wave:r=0.036,e=0.1,$K16"
step niah-16k-r10 eval niah $M --context 16384 --tasks passkey --kv "$R10"
step niah-8k-r10  eval niah $M --context 8192 --depths $DEPTHS10 --samples 1 --tasks passkey --kv "$R10"
# The KL runs are finished and not resumable, so they are off by default (VKV_KL=1 reruns them;
# the 32K sweep took 5,801 s). The sweep's last mode keeps the slow tier in a memory-mapped
# scratch file under /tmp with a fast tier of one retrieval zone (10 % of the clusters): its
# numbers must equal the in-RAM row of the same budget to the last digit.
KL=${VKV_KL:-0}
if [ "$KL" = 1 ]; then
step kl-32k       eval kl $M --text austen/emma --context 32000 --steps 128 --kv "$BUDGETS;$R10,slow=/tmp,cache=1"
fi
step ruler-8k     eval ruler $M --context 8192 --kv "dense;$SPEC;$R10"
step niah-32k     eval niah $M --context 32000 --tasks passkey --kv "dense;$SPEC;$R10"
# The default's evidence (it answered the one 32K pass key that 16-token clusters miss): KL at
# 8K/16K/32K, the needle grids, RULER 8K. Same run directories: only its cells run. Then RULER
# 16K with every setting beside dense (one prefill per prompt serves all modes).
if [ "$KL" = 1 ]; then
step kl-cs8       eval kl $M --text austen/emma --context 8192,16384 --steps 128 --kv "$R10;$CS8"
step kl-32k-cs8   eval kl $M --text austen/emma --context 32000 --steps 128 --kv "$R10;$CS8"
fi
step niah-32k-cs8 eval niah $M --context 32000 --tasks passkey --kv "$CS8"
step niah-16k-cs8 eval niah $M --context 16384 --tasks passkey --kv "$CS8"
step niah-8k-cs8  eval niah $M --context 8192 --depths $DEPTHS10 --samples 1 --tasks passkey --kv "$CS8"
step ruler-8k-cs8 eval ruler $M --context 8192 --kv "$CS8"
step ruler-16k    eval ruler $M --context 16384 --kv "dense;$SPEC;$R10;$CS8"
# At 10 samples one flipped value or word moves multi-value by 2.5 points and fwe by 3.3, more
# than issue 4's 2-point margin; 10 more samples of its four tasks at 16K, dense and the default
# (samples 0-9 are the cells above; the prompts depend only on seed, length and sample index,
# and a run directory is shared by every sample count and task list of the same model,
# haystack and seed, so only samples 10-19 run).
step ruler-16k-20 eval ruler $M --context 16384 --tasks niah_multikey,niah_multivalue,cwe,fwe --samples 20 --kv "dense;$CS8"
# With 40 samples of fwe at 16K the default stays 3.3 points below dense (r = 0.15 too) and
# r = 0.2 is level (docs/EVAL.md, "fwe at 16K"): r = 0.2 is the candidate default. Its
# evidence, the same as the default's: issue 4's four RULER tasks at 16K (20 samples; fwe is
# done) and 8K (10 samples), then the pass-key grids at 8K, 16K and 32K. The prefills of the
# 16K RULER prompts and of the 16K/32K needle prompts are saved (~200 / ~400 MB each, in
# <run dir>/prefills/; ~22 GB in all), so any later budget costs no prefill.
R20="wave:r=0.2,cs=8"
FOUR=niah_multikey,niah_multivalue,cwe,fwe
step ruler-16k-r20 eval ruler $M --context 16384 --tasks $FOUR --samples 20 --kv "dense;$CS8;$R20" --save-prefills
step ruler-8k-r20 eval ruler $M --context 8192 --tasks $FOUR --kv "dense;$CS8;$R20"
step niah-8k-r20  eval niah $M --context 8192 --depths $DEPTHS10 --samples 1 --tasks passkey --kv "dense;$CS8;$R20"
step niah-16k-r20 eval niah $M --context 16384 --tasks passkey --kv "dense;$CS8;$R20" --save-prefills
step niah-32k-r20 eval niah $M --context 32000 --tasks passkey --kv "dense;$CS8;$R20" --save-prefills
# RULER 32K: dense (issue 3's table), the default and the candidate beside it; each wave mode
# adds an index build (~30 s) and its own decode to a ~8 min prefill (this VM), so the other
# settings are left out.
step ruler-32k    eval ruler $M --context 32000 --kv "dense;$CS8;$R20"
# Finished earlier (the KL sweep at 8K/16K, the 8K/16K needle grids for dense and the spec's
# budget, RULER 4K): re-running a grid only rewrites its report.
step niah-all    eval niah $M --context 4096,8192,16384,32000 --tasks passkey --kv "dense;$SPEC;$R10;$CS8;$R20" --report-only
step ruler-all   eval ruler $M --context 4096,8192,16384,32000 --kv "dense;$SPEC;$R10;$CS8;$R20" --report-only
