#!/usr/bin/env bash
# Carry the long evaluation runs' results across machines through the repository.
#
# A NIAH/RULER run directory (<home>/eval/<suite>-<hash>/, docs/EVAL.md "How runs resume")
# holds config.json and results.jsonl: a few hundred bytes per finished cell, while the cells
# themselves cost minutes of prefill each. This machine is fresh every session, so the long
# grids (RULER 32K: ~10 h on 2 cores) only finish if their finished cells travel in git:
#
#   scripts/eval_sync.sh restore   copy docs/runs/*/ into <home>/eval/ (a directory that is
#                                  already there gets the committed cells it lacks appended;
#                                  the harness skips a cell whose key and prompt hash it has)
#   scripts/eval_sync.sh save      copy every run directory's config.json and results.jsonl
#                                  back into docs/runs/ (then commit them)
#
# Saved prefills (<run dir>/prefills/, hundreds of MB) stay where they are.
set -eu
cd "$(dirname "$0")/.."
E=${VKV_HOME:-$HOME/.cache/vectorkv}/eval
R=docs/runs
case "${1:-}" in
restore)
    [ -d "$R" ] || exit 0
    for d in "$R"/*/; do
        n=$(basename "$d"); mkdir -p "$E/$n"
        [ -f "$E/$n/config.json" ] || cp "$d/config.json" "$E/$n/"
        touch "$E/$n/results.jsonl"
        # Append the committed lines this machine lacks. A torn last line of the local file
        # (a run killed mid-write) is dropped first, as the harness itself would redo it.
        if [ -s "$E/$n/results.jsonl" ] && [ "$(tail -c1 "$E/$n/results.jsonl")" != "" ]; then
            head -n -1 "$E/$n/results.jsonl" > "$E/$n/results.jsonl.tmp"
            mv "$E/$n/results.jsonl.tmp" "$E/$n/results.jsonl"
        fi
        grep -vxF -f "$E/$n/results.jsonl" "$d/results.jsonl" >> "$E/$n/results.jsonl" || true
        echo "restored $n: $(wc -l < "$E/$n/results.jsonl") results"
    done ;;
save)
    for d in "$E"/niah-*/ "$E"/ruler-*/; do
        [ -s "$d/results.jsonl" ] || continue
        n=$(basename "$d"); mkdir -p "$R/$n"
        cp "$d/config.json" "$R/$n/"
        # Only whole lines: a cell being written right now is saved next time.
        if [ "$(tail -c1 "$d/results.jsonl")" = "" ]; then
            cp "$d/results.jsonl" "$R/$n/results.jsonl"
        else
            head -n -1 "$d/results.jsonl" > "$R/$n/results.jsonl"
        fi
        echo "saved $n: $(wc -l < "$R/$n/results.jsonl") results"
    done ;;
*) echo "usage: $0 restore|save" >&2; exit 2 ;;
esac
