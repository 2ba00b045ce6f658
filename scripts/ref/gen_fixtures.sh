#!/usr/bin/env bash
# Regenerate the llama.cpp reference fixtures under crates/model/tests/fixtures/.
#
#   scripts/ref/gen_fixtures.sh [STEP...]
#
# STEPs (default: all of texts prompts special logits tokenizer ppl, in that order):
#   texts      apt-get download r-cran-janeaustenr bible-kjv-text bible-kjv, extract the six
#              Austen novels (extract_austen.py) and Genesis 1 (the package's `bible` program)
#              into $WORK/texts, and check their sha256
#   prompts    write fixtures/prompts/{emma,pride,genesis1}.txt (make_inputs.py) and render
#              fixtures/prompts/chat.json with each model's chat template -> prompts/<model>-chat.txt
#   special    fixtures/special/<model>.json: add_bos/eos, bos/eos/eot/eog ids, chat template
#   logits     fixtures/logits/<model>-<prompt>.json: tokens, top-20 logits per position, greedy-64
#   tokenizer  fixtures/tokenizer/<model>.json (texts from make_inputs.py tokcases)
#   ppl        llama-perplexity on emma.txt -> fixtures/ppl.json (+ logs in $WORK/ppl)
#   bench      (not in the default set) llama-bench -p 512 -n 64 [-d 4096] JSON into $WORK/bench
#
# Environment:
#   VKV_HOME       default $HOME/.cache/vectorkv
#   VKV_LLAMA_DIR  llama.cpp build dir for build_llama_cpp.sh (default $VKV_HOME/llama.cpp)
#   VKV_REF_WORK   scratch dir for .debs, texts, logs (default $VKV_HOME/ref-work)
#   SMOLLM2_GGUF   SmolLM2-135M-Instruct Q4_1 GGUF  (default $VKV_HOME/models/smollm2.gguf)
#   QWEN05_GGUF    Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF (default $VKV_HOME/models/qwen05.gguf)
#   VKV_THREADS    threads for every llama.cpp run (default 2)
# The model files are checked against the sha256 below; a mismatch aborts.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FIX=$ROOT/crates/model/tests/fixtures
VKV_HOME=${VKV_HOME:-$HOME/.cache/vectorkv}
LLAMA_DIR=${VKV_LLAMA_DIR:-$VKV_HOME/llama.cpp}
WORK=${VKV_REF_WORK:-$VKV_HOME/ref-work}
THREADS=${VKV_THREADS:-2}
GREEDY=64
TOPK=20

# our name | path | sha256
MODELS=(
    "smollm2-135m|${SMOLLM2_GGUF:-$VKV_HOME/models/smollm2.gguf}|b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    "qwen2.5-0.5b|${QWEN05_GGUF:-$VKV_HOME/models/qwen05.gguf}|1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
)
# prompt name -> extra dump flags (chat is per model, tokenized with parse_special=true)
PROMPTS=(emma pride genesis1 code)
# perplexity runs: model|ctx|chunks
PPL_RUNS=(
    "smollm2-135m|2048|8"
    "qwen2.5-0.5b|2048|8"
    "qwen2.5-0.5b|512|16"
)
# sha256 of the extracted texts (Debian bookworm r-cran-janeaustenr 1.0.0-1, bible-kjv 4.38)
declare -A TEXT_SHA=(
    [emma]=7c67b5985c6d0de1efaeb5d342d52cb82c38083c40e2295129e30e87ee690ebe
    [mansfieldpark]=98bc90519cdf4ef663ad7de2734bb529435ef24f7abbde6bb1a50898871dafe9
    [northangerabbey]=51f91bbe0517db8e65cff009b097ce0a1836124c4e0532ac19e6c0cad982abed
    [persuasion]=8061549557aebd2fd6e353d18d9197cb707029112bd52d4d8b174583a925848a
    [prideprejudice]=dfc684d4f857fa938268f9ab9c5567b64bd0691251eca959644adeabe6287a4d
    [sensesensibility]=105e1651fe93bed7130078578efd31e0c557d68667ba672ddc876f735b30fe09
)

log() { echo "[gen_fixtures] $*" >&2; }
die() { log "error: $*"; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

STEPS=("$@")
[ ${#STEPS[@]} -gt 0 ] || STEPS=(texts prompts special logits tokenizer ppl)
want() { local s; for s in "${STEPS[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

BIN=$("$HERE/build_llama_cpp.sh" "$LLAMA_DIR" | tail -n 1)
DUMP=$BIN/vkv-dump-logits
mkdir -p "$WORK" "$FIX"/{prompts,logits,tokenizer,special}
TEXTS=$WORK/texts

check_models() {
    local m name path want_sha
    for m in "${MODELS[@]}"; do
        IFS='|' read -r name path want_sha <<<"$m"
        [ -f "$path" ] || die "$name: model file $path not found (set SMOLLM2_GGUF / QWEN05_GGUF)"
        local got; got=$(sha "$path")
        [ "$got" = "$want_sha" ] || die "$name: $path has sha256 $got, expected $want_sha"
    done
}
model_field() { # name field(1=path,2=sha)
    local m name path s
    for m in "${MODELS[@]}"; do
        IFS='|' read -r name path s <<<"$m"
        if [ "$name" = "$1" ]; then [ "$2" = 1 ] && echo "$path" || echo "$s"; return; fi
    done
    die "unknown model $1"
}
dump() { # name args...
    local name=$1; shift
    "$DUMP" --model "$(model_field "$name" 1)" --model-name "$name" \
        --model-sha256 "$(model_field "$name" 2)" --threads "$THREADS" "$@"
}

# ---------------------------------------------------------------------------------- texts
if want texts; then
    mkdir -p "$WORK/debs" "$TEXTS"
    (
        cd "$WORK/debs"
        for p in r-cran-janeaustenr bible-kjv-text bible-kjv; do
            if ! ls "${p}"_*.deb >/dev/null 2>&1; then
                log "apt-get download $p"
                apt-get download "$p" >&2 || die "apt-get download $p failed (run 'apt-get update' first?)"
            fi
            dpkg-deb -x "$(ls "${p}"_*.deb | head -n 1)" root
        done
    )
    log "extracting Austen novels"
    python3 "$HERE/extract_austen.py" "$WORK/debs/root" "$TEXTS" >&2
    for b in "${!TEXT_SHA[@]}"; do
        got=$(sha "$TEXTS/$b.txt")
        [ "$got" = "${TEXT_SHA[$b]}" ] || log "WARNING: $b.txt sha256 $got differs from ${TEXT_SHA[$b]} (package changed?)"
    done
    log "decoding Genesis 1 with bible-kjv's bible program"
    "$WORK/debs/root/usr/bin/bible" -f -l 1000 -p "$WORK/debs/root/usr/lib" gen1:1-gen1:31 </dev/null \
        >"$TEXTS/genesis1-kjv.txt" || die "bible failed (needs libreadline8: apt-get install libreadline8)"
    [ "$(grep -c '^Ge1:' "$TEXTS/genesis1-kjv.txt")" = 31 ] || die "unexpected bible output"
fi

# -------------------------------------------------------------------------------- prompts
if want prompts; then
    [ -f "$TEXTS/emma.txt" ] || die "run the texts step first"
    python3 "$HERE/make_inputs.py" prompts "$TEXTS" "$TEXTS/genesis1-kjv.txt" "$FIX/prompts"
    check_models
    for m in "${MODELS[@]}"; do
        name=${m%%|*}
        dump "$name" --render-chat "$FIX/prompts/chat.json" --out "$FIX/prompts/$name-chat.txt"
    done
fi

# -------------------------------------------------------------------------------- special
if want special; then
    check_models
    for m in "${MODELS[@]}"; do
        name=${m%%|*}
        log "special/$name.json"
        dump "$name" --info --out "$FIX/special/$name.json"
    done
fi

# --------------------------------------------------------------------------------- logits
if want logits; then
    check_models
    for m in "${MODELS[@]}"; do
        name=${m%%|*}
        for p in "${PROMPTS[@]}"; do
            log "logits/$name-$p.json"
            dump "$name" --prompt-file "$FIX/prompts/$p.txt" --top-k $TOPK --greedy $GREEDY \
                --out "$FIX/logits/$name-$p.json"
        done
        log "logits/$name-chat.json (parse_special=true)"
        dump "$name" --prompt-file "$FIX/prompts/$name-chat.txt" --parse-special --top-k $TOPK \
            --greedy $GREEDY --out "$FIX/logits/$name-chat.json"
    done
fi

# ------------------------------------------------------------------------------ tokenizer
if want tokenizer; then
    [ -f "$TEXTS/emma.txt" ] || die "run the texts step first"
    check_models
    python3 "$HERE/make_inputs.py" tokcases "$TEXTS" "$TEXTS/genesis1-kjv.txt" "$WORK/tokenizer-texts.json" >&2
    for m in "${MODELS[@]}"; do
        name=${m%%|*}
        log "tokenizer/$name.json"
        dump "$name" --tokenize-only --texts-file "$WORK/tokenizer-texts.json" --out "$FIX/tokenizer/$name.json"
    done
fi

# ------------------------------------------------------------------------------------ ppl
if want ppl; then
    [ -f "$TEXTS/emma.txt" ] || die "run the texts step first"
    check_models
    mkdir -p "$WORK/ppl"
    rows=()
    for r in "${PPL_RUNS[@]}"; do
        IFS='|' read -r name ctx chunks <<<"$r"
        logf=$WORK/ppl/$name-c$ctx-n$chunks.log
        log "llama-perplexity $name -c $ctx --chunks $chunks (log: $logf)"
        t0=$(date +%s)
        "$BIN/llama-perplexity" -m "$(model_field "$name" 1)" -f "$TEXTS/emma.txt" \
            -c "$ctx" --chunks "$chunks" -t "$THREADS" >"$logf" 2>&1 || die "llama-perplexity failed, see $logf"
        t1=$(date +%s)
        # token count exactly as llama-perplexity sees the file (-f strips one trailing \n)
        dump "$name" --prompt-file "$TEXTS/emma.txt" --strip-trailing-newline --count-tokens \
            --out "$WORK/ppl/$name-tokens.json"
        rows+=("$name|$ctx|$chunks|$logf|$WORK/ppl/$name-tokens.json|$(model_field "$name" 2)|$((t1 - t0))")
    done
    python3 - "$FIX/ppl.json" "$(sha "$TEXTS/emma.txt")" "$THREADS" "${rows[@]}" <<'PY'
import json, re, sys
out, text_sha, threads, rows = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
runs = []
reference = None
for row in rows:
    name, ctx, chunks, logf, tokf, msha, secs = row.split("|")
    ctx, chunks = int(ctx), int(chunks)
    log = open(logf, encoding="utf-8", errors="replace").read()
    m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", log)
    if not m:
        sys.exit("no final estimate in " + logf)
    running = [float(x) for x in re.findall(r"\[\d+\]([0-9.]+),", log)]
    tok = json.load(open(tokf))
    reference = tok["reference"]
    model_file = {"smollm2-135m": "smollm2.gguf", "qwen2.5-0.5b": "qwen05.gguf"}[name]
    runs.append({
        "model": name,
        "model_sha256": msha,
        "command": "llama-perplexity -m %s -f emma.txt -c %d --chunks %d -t %s" % (model_file, ctx, chunks, threads),
        "n_ctx": ctx,
        "n_chunks": chunks,
        "ppl": float(m.group(1)),
        "ppl_stderr": float(m.group(2)),
        "ppl_after_each_chunk": running,
        "n_tokens_file": tok["n_tokens"],
        "n_tokens_used": ctx * chunks,
        "n_tokens_scored": chunks * (ctx - ctx // 2 - 1),
        "add_bos": tok["add_bos"],
        "first_ids": tok["first_ids"],
        "wall_seconds": int(secs),
    })
doc = {
    "reference": reference,
    "text": {
        "file": "emma.txt",
        "source": "Debian r-cran-janeaustenr 1.0.0-1, Rdata.rdb 'emma', lines joined with \\n plus a final \\n (scripts/ref/extract_austen.py)",
        "sha256": text_sha,
    },
    "method": "see docs/reference.md#perplexity: whole file tokenized once (one trailing \\n stripped, add_special = add_bos), "
              "split into n_chunks consecutive windows of n_ctx tokens; token 0 of each window replaced by BOS iff add_bos; "
              "scores predictions of tokens [n_ctx/2+1, n_ctx) of each window; PPL = exp(mean NLL)",
    "runs": runs,
}
with open(out, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
for r in runs:
    print("%-14s c=%-5d chunks=%-3d PPL = %.4f +/- %.5f" % (r["model"], r["n_ctx"], r["n_chunks"], r["ppl"], r["ppl_stderr"]))
PY
fi

# ---------------------------------------------------------------------------------- bench
if want bench; then
    check_models
    mkdir -p "$WORK/bench"
    q=$(model_field qwen2.5-0.5b 1)
    log "llama-bench -m $q -t $THREADS -p 512 -n 64 -o json"
    "$BIN/llama-bench" -m "$q" -t "$THREADS" -p 512 -n 64 -o json >"$WORK/bench/qwen2.5-0.5b.json"
    log "llama-bench -m $q -t $THREADS -p 512 -n 64 -d 4096 -o json"
    "$BIN/llama-bench" -m "$q" -t "$THREADS" -p 512 -n 64 -d 4096 -o json >"$WORK/bench/qwen2.5-0.5b-d4096.json"
    log "bench JSON in $WORK/bench"
fi

log "done: ${STEPS[*]}"
