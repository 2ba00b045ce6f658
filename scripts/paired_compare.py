#!/usr/bin/env python3
"""Paired comparison of two KV modes over one run directory's results.jsonl.

    scripts/paired_compare.py RESULTS LENGTH [--base dense] [--mode wave:r=0.2,cs=8]
                              [--tasks cwe,fwe] [--samples N] [--diffs]

Cells are paired by (task, sample): both modes answered the same prompt (`vkv eval ... --kv
"dense;wave:r=0.2,cs=8"` forks one prefill into both). Per task it prints both scores, the
difference (mode - base, points), its paired bootstrap 95% interval (10,000 resamples of the
samples, random.Random(1), the 250th and 9,749th of the sorted means), how many samples score
better / worse, and the median seconds of a base prompt (prefill + decode). The tables of
docs/EVAL.md ("Wave (RetroInfer) vs dense on RULER") come from this script.

A mode matches a cell whose `kv` has the same kind and every `key=value` given (results record
the mode's full configuration, e.g. `wave:r=0.2,e=0.232,...,cs=8,...`).
"""
import argparse
import json
import random
import statistics


def parse_kv(spec):
    kind, _, rest = spec.partition(":")
    return kind, dict(p.split("=", 1) for p in rest.split(",") if "=" in p)


def matches(kv, want):
    kind, pairs = parse_kv(kv)
    want_kind, want_pairs = want
    return kind == want_kind and all(pairs.get(k) == v for k, v in want_pairs.items())


def bootstrap(diffs, resamples=10000, seed=1):
    rng = random.Random(seed)
    n = len(diffs)
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    return means[resamples // 40], means[resamples - resamples // 40 - 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results")
    ap.add_argument("length", type=int)
    ap.add_argument("--base", default="dense")
    ap.add_argument("--mode", default="wave:r=0.2,cs=8")
    ap.add_argument("--tasks", help="comma list (default: every task at this length)")
    ap.add_argument("--samples", type=int, help="only samples 0..N-1")
    ap.add_argument("--diffs", action="store_true", help="print the answers that differ")
    a = ap.parse_args()
    base, mode = parse_kv(a.base), parse_kv(a.mode)
    cells = {}
    with open(a.results) as f:
        for line in f:
            r = json.loads(line)
            if r["length"] != a.length or (a.samples is not None and r["sample"] >= a.samples):
                continue
            side = "base" if matches(r["kv"], base) else "mode" if matches(r["kv"], mode) else None
            if side:
                cells[(r["task"], r["sample"], side)] = r
    secs = [c["prefill_secs"] + c["decode_secs"] for k, c in cells.items() if k[2] == "base"]
    median = statistics.median(secs) if secs else float("nan")
    print(f"length {a.length}: {len(cells)} cells; base prompt median {median:.0f} s")
    tasks = sorted({t for t, _, _ in cells})
    if a.tasks:
        tasks = [t for t in tasks if t.split("/")[-1] in a.tasks.split(",")]
    for t in tasks:
        samples = sorted({s for tt, s, side in cells if tt == t and side == "base"})
        paired = [s for s in samples if (t, s, "mode") in cells]
        if not paired:
            print(f"{t:24s} no paired samples")
            continue
        b = [100 * cells[(t, s, "base")]["score"] for s in paired]
        m = [100 * cells[(t, s, "mode")]["score"] for s in paired]
        diffs = [y - x for x, y in zip(b, m)]
        lo, hi = bootstrap(diffs)
        better, worse = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
        n = len(paired)
        print(f"{t:24s} n={n:2d} base {sum(b) / n:6.2f} mode {sum(m) / n:6.2f} "
              f"delta {sum(diffs) / n:+6.2f} [{lo:+.2f}, {hi:+.2f}] better/worse {better}/{worse}")
        if a.diffs:
            for s in paired:
                x, y = cells[(t, s, "base")], cells[(t, s, "mode")]
                if x["output"] != y["output"]:
                    print(f"   s={s} base {x['score']:.2f} {x['output'][:60]!r}"
                          f" | mode {y['score']:.2f} {y['output'][:60]!r}")


if __name__ == "__main__":
    main()
