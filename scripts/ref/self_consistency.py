#!/usr/bin/env python3
"""Compare llama.cpp with itself: the committed logits fixtures (whole prompt in one batch)
against the same prompts evaluated one token per micro-batch (`vkv-dump-logits --ubatch 1`).

Usage: self_consistency.py UB1_DIR FIXTURE_DIR  -> writes FIXTURE_DIR/self_consistency.json
"""
import glob
import json
import os
import sys

ub1_dir, fix_dir = sys.argv[1], sys.argv[2]
out = {"method": "llama.cpp batch (n_ubatch = n_prompt) vs n_ubatch = 1, same binary, 2 threads; "
                  "max |Δ| over ids present in both top-20 lists; top-1 flips where the batch "
                  "run's top-2 margin > 0.1; greedy = identical prefix of the 64-token continuations",
       "max_delta": {}, "top1_flips": {}, "top1_compared": {}, "greedy_identical": {}}
for f in sorted(glob.glob(os.path.join(ub1_dir, "*.json"))):
    name = os.path.basename(f)
    a = json.load(open(os.path.join(fix_dir, name)))
    b = json.load(open(f))
    assert a["tokens"] == b["tokens"], name
    maxd, flips, comp = 0.0, 0, 0
    for pa, pb in zip(a["positions"], b["positions"]):
        mb = dict(zip(pb["ids"], pb["logits"]))
        for i, l in zip(pa["ids"], pa["logits"]):
            if i in mb:
                maxd = max(maxd, abs(mb[i] - l))
        if pa["logits"][0] - pa["logits"][1] > 0.1:
            comp += 1
            flips += pb["ids"][0] != pa["ids"][0]
    g = 0
    for x, y in zip(a["greedy"], b["greedy"]):
        if x != y:
            break
        g += 1
    out["max_delta"][name] = round(maxd, 4)
    out["top1_flips"][name] = flips
    out["top1_compared"][name] = comp
    out["greedy_identical"][name] = g
    print(f"{name}: max|Δ| {maxd:.4f}, top-1 flips {flips}/{comp}, greedy {g}/64")
json.dump(out, open(os.path.join(fix_dir, "self_consistency.json"), "w"), indent=1)
