#!/usr/bin/env python3
"""Sanity-check the reference fixtures (schema, internal consistency, size).

    check_fixtures.py [FIXTURES_DIR]   (default: crates/model/tests/fixtures next to this repo)

Exits non-zero on the first inconsistency. Standard library only.
"""
import glob
import json
import os
import sys

MODELS = {
    "smollm2-135m": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    "qwen2.5-0.5b": "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
}
PROMPTS = ["emma", "pride", "genesis1", "code", "chat"]
MAX_TOTAL = 2 * 1024 * 1024


def fail(msg):
    sys.exit("check_fixtures: " + msg)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    fix = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "crates", "model", "tests", "fixtures")
    total = sum(os.path.getsize(p) for p in glob.glob(os.path.join(fix, "**", "*"), recursive=True) if os.path.isfile(p))
    if total > MAX_TOTAL:
        fail("fixtures total %d bytes > %d" % (total, MAX_TOTAL))
    for model, sha in MODELS.items():
        special = json.load(open(os.path.join(fix, "special", model + ".json")))
        eog = set(special["eog"])
        for p in PROMPTS:
            path = os.path.join(fix, "logits", "%s-%s.json" % (model, p))
            d = json.load(open(path, encoding="utf-8"))
            name = os.path.basename(path)
            if d["model"] != model or d["model_sha256"] != sha:
                fail(name + ": wrong model/sha")
            if d["parse_special"] != (p == "chat"):
                fail(name + ": parse_special should be %s" % (p == "chat"))
            prompt_file = os.path.join(fix, "prompts", (model + "-chat.txt") if p == "chat" else p + ".txt")
            if open(prompt_file, encoding="utf-8", newline="").read() != d["text"]:
                fail(name + ": text differs from " + prompt_file)
            n = d["n_tokens"]
            if n < 300 or len(d["tokens"]) != n or len(d["positions"]) != n:
                fail(name + ": token/position count mismatch or < 300 tokens")
            if d["add_bos"] != special["add_bos"]:
                fail(name + ": add_bos mismatch")
            for i, pos in enumerate(d["positions"]):
                ids, lg = pos["ids"], pos["logits"]
                if len(ids) != d["top_k"] or len(lg) != d["top_k"] or len(set(ids)) != len(ids):
                    fail("%s: position %d malformed" % (name, i))
                if any(lg[j] < lg[j + 1] for j in range(len(lg) - 1)):
                    fail("%s: position %d logits not sorted" % (name, i))
                if any(round(x, 4) != x for x in lg):
                    fail("%s: position %d logits not rounded to 4 decimals" % (name, i))
            g = d["greedy"]
            if not g or g[0] != d["positions"][-1]["ids"][0]:
                fail(name + ": greedy[0] is not the argmax of the last prompt position")
            if any(t in eog for t in g[:-1]) or d["greedy_stopped_at_eog"] != (g[-1] in eog):
                fail(name + ": greedy EOG handling inconsistent")
        tok = json.load(open(os.path.join(fix, "tokenizer", model + ".json"), encoding="utf-8"))
        cases = tok["cases"]
        if tok["model_sha256"] != sha or len(cases) < 80:
            fail("tokenizer/%s.json: wrong sha or too few cases" % model)
        for c in cases:
            if c["text"] == "" and c["ids"] != ([special["bos"]] if special["add_bos"] else []):
                fail("tokenizer/%s.json: empty text should give no tokens" % model)
        # the prompt tokens must agree with a plain tokenization of the same text
        texts = {c["text"]: c["ids"] for c in cases if not c["parse_special"]}
        if "<|im_start|>" in texts and len(texts["<|im_start|>"]) < 2:
            fail("tokenizer/%s.json: '<|im_start|>' with parse_special=false must be split" % model)
        special_ids = {c["text"]: c["ids"] for c in cases if c["parse_special"]}
        if special_ids.get("<|im_start|>") != [special["control"][special["control_text"].index("<|im_start|>")]]:
            fail("tokenizer/%s.json: '<|im_start|>' with parse_special=true must be one control token" % model)
    ppl = json.load(open(os.path.join(fix, "ppl.json")))
    for r in ppl["runs"]:
        if not (1.0 < r["ppl"] < 1000.0) or r["n_tokens_scored"] != r["n_chunks"] * (r["n_ctx"] - r["n_ctx"] // 2 - 1):
            fail("ppl.json: bad run %r" % r["command"])
    print("check_fixtures: ok (%d bytes)" % total)


if __name__ == "__main__":
    main()
