#!/usr/bin/env bash
# Regenerates crates/model/tests/data/tokenizer_expect_<model>.json: llama.cpp's token ids
# for every string in crates/model/tests/data/tokenizer_cases.json, for the real GGUF
# models, with parse_special off and on. The Rust test `tokenizer_models` compares ours
# against these.
#
#   LLAMA_TOKENIZE       llama.cpp's llama-tokenize binary
#   VKV_TEST_MODEL_DIR   directory with smollm2.gguf and qwen05.gguf (default /work/ref/models)
#
# Needs only python3 (stdlib). Input files are passed verbatim (--no-escape).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export LLAMA_TOKENIZE="${LLAMA_TOKENIZE:-/work/ref/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin/llama-tokenize}"
export VKV_TEST_MODEL_DIR="${VKV_TEST_MODEL_DIR:-/work/ref/models}"
export ROOT="$root"
[ -x "$LLAMA_TOKENIZE" ] || { echo "llama-tokenize not found at $LLAMA_TOKENIZE" >&2; exit 1; }

python3 - <<'PY'
import hashlib, json, os, subprocess, tempfile

root = os.environ["ROOT"]
tok = os.environ["LLAMA_TOKENIZE"]
model_dir = os.environ["VKV_TEST_MODEL_DIR"]
data = os.path.join(root, "crates/model/tests/data")
cases = json.load(open(os.path.join(data, "tokenizer_cases.json"), encoding="utf-8"))

def run(model, text, parse_special):
    with tempfile.NamedTemporaryFile("wb", delete=False) as f:
        f.write(text.encode("utf-8"))
        path = f.name
    try:
        args = [tok, "-m", model, "-f", path, "--ids", "--log-disable", "--no-escape"]
        if not parse_special:
            args.append("--no-parse-special")
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(path)
    return json.loads(out.strip().splitlines()[-1])

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

def write(path, doc):
    # one case per line: reviewable diffs
    head = {k: v for k, v in doc.items() if k != "cases"}
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "cases": [\n')
        f.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in doc["cases"]))
        f.write("\n]}\n")

for name in ["smollm2", "qwen05"]:
    model = os.path.join(model_dir, name + ".gguf")
    rows = []
    for text in cases:
        rows.append({
            "text": text,
            "ids": run(model, text, False),
            "ids_parse_special": run(model, text, True),
        })
    doc = {
        "model": name + ".gguf",
        "model_sha256": sha256(model),
        "generator": "scripts/gen_tokenizer_expect.sh: llama-tokenize --ids --no-escape [--no-parse-special] (llama.cpp vendored in llama-cpp-python 0.3.36); add_special as the model says (no BOS for these models)",
        "cases": rows,
    }
    out = os.path.join(data, f"tokenizer_expect_{name}.json")
    write(out, doc)
    print(f"{out}: {len(rows)} cases")
PY
