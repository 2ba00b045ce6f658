// vkv-dump-logits: reference oracle dumper for vectorkv, linked against llama.cpp's libllama.
//
// Modes (exactly one):
//   --prompt-file F --out OUT.json [--top-k 20] [--greedy 64] [--ctx N] [--parse-special]
//        Tokenize F verbatim (no newline stripping) like llama.cpp's tools do for raw text:
//        add_special = llama_vocab_get_add_bos(vocab), parse_special as given (default false).
//        Evaluate every prompt position in ONE batch (logits for all positions), dump the
//        top-k (id, logit) per position, then greedy-decode up to N tokens (argmax, one
//        token per llama_decode), stopping after an end-of-generation token.
//        With --count-tokens only the token count (+ first/last 16 ids) is written;
//        --strip-trailing-newline drops one final '\n' first, as llama.cpp's `-f FILE` does.
//   --tokenize-only --texts-file T.json --out OUT.json
//        T.json is a JSON array of strings. Each string is tokenized twice (parse_special
//        false, then true), always with add_special = llama_vocab_get_add_bos(vocab).
//   --info --out OUT.json
//        Vocab / special-token conventions and the model's chat template.
//   --render-chat MSGS.json --out OUT.txt
//        MSGS.json is a JSON array of {"role": ..., "content": ...}; renders it with the
//        model's own chat template through llama_chat_apply_template (add_ass = true) and
//        writes the raw text (no trailing newline added).
//
// Common flags: --model M (required), --model-name NAME, --model-sha256 HEX, --threads 2.
// CPU only. All output is UTF-8 JSON written with compact separators.

#include "llama.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef VKV_REF_DESC
#define VKV_REF_DESC "llama.cpp from llama-cpp-python 0.3.36"
#endif

// ---------------------------------------------------------------- minimal JSON reader

struct JVal {
    enum Kind { NUL, BOOL, NUM, STR, ARR, OBJ } kind = NUL;
    bool b = false;
    double num = 0;
    std::string str;
    std::vector<JVal> arr;
    std::vector<std::pair<std::string, JVal>> obj;
    const JVal * get(const std::string & k) const {
        for (auto & kv : obj) if (kv.first == k) return &kv.second;
        return nullptr;
    }
};

struct JParser {
    const std::string & s;
    size_t p = 0;
    explicit JParser(const std::string & s) : s(s) {}
    [[noreturn]] void fail(const char * what) {
        throw std::runtime_error(std::string("JSON parse error: ") + what + " at byte " + std::to_string(p));
    }
    void ws() { while (p < s.size() && (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r')) p++; }
    static void put_utf8(std::string & out, uint32_t cp) {
        if (cp < 0x80) out += (char) cp;
        else if (cp < 0x800) { out += (char) (0xC0 | (cp >> 6)); out += (char) (0x80 | (cp & 0x3F)); }
        else if (cp < 0x10000) { out += (char) (0xE0 | (cp >> 12)); out += (char) (0x80 | ((cp >> 6) & 0x3F)); out += (char) (0x80 | (cp & 0x3F)); }
        else { out += (char) (0xF0 | (cp >> 18)); out += (char) (0x80 | ((cp >> 12) & 0x3F)); out += (char) (0x80 | ((cp >> 6) & 0x3F)); out += (char) (0x80 | (cp & 0x3F)); }
    }
    uint32_t hex4() {
        if (p + 4 > s.size()) fail("short \\u escape");
        uint32_t v = (uint32_t) std::stoul(s.substr(p, 4), nullptr, 16);
        p += 4;
        return v;
    }
    std::string string() {
        if (s[p] != '"') fail("expected string");
        p++;
        std::string out;
        while (true) {
            if (p >= s.size()) fail("unterminated string");
            char c = s[p++];
            if (c == '"') break;
            if (c != '\\') { out += c; continue; }
            char e = s[p++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    uint32_t cp = hex4();
                    if (cp >= 0xD800 && cp < 0xDC00 && p + 6 <= s.size() && s[p] == '\\' && s[p + 1] == 'u') {
                        p += 2;
                        uint32_t lo = hex4();
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    put_utf8(out, cp);
                    break;
                }
                default: fail("bad escape");
            }
        }
        return out;
    }
    JVal value() {
        ws();
        JVal v;
        if (p >= s.size()) fail("unexpected end");
        char c = s[p];
        if (c == '"') { v.kind = JVal::STR; v.str = string(); }
        else if (c == '[') {
            v.kind = JVal::ARR; p++; ws();
            if (s[p] == ']') { p++; return v; }
            while (true) {
                v.arr.push_back(value()); ws();
                if (s[p] == ',') { p++; continue; }
                if (s[p] == ']') { p++; break; }
                fail("expected , or ]");
            }
        } else if (c == '{') {
            v.kind = JVal::OBJ; p++; ws();
            if (s[p] == '}') { p++; return v; }
            while (true) {
                ws(); std::string k = string(); ws();
                if (s[p] != ':') fail("expected :");
                p++;
                v.obj.emplace_back(k, value()); ws();
                if (s[p] == ',') { p++; continue; }
                if (s[p] == '}') { p++; break; }
                fail("expected , or }");
            }
        } else if (s.compare(p, 4, "true") == 0) { v.kind = JVal::BOOL; v.b = true; p += 4; }
        else if (s.compare(p, 5, "false") == 0) { v.kind = JVal::BOOL; v.b = false; p += 5; }
        else if (s.compare(p, 4, "null") == 0) { v.kind = JVal::NUL; p += 4; }
        else {
            size_t q = p;
            while (q < s.size() && strchr("+-0123456789.eE", s[q])) q++;
            if (q == p) fail("unexpected character");
            v.kind = JVal::NUM; v.num = std::stod(s.substr(p, q - p)); p = q;
        }
        return v;
    }
};

// ---------------------------------------------------------------- JSON writing helpers

static std::string jstr(const std::string & s) {
    std::string o = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': o += "\\\""; break;
            case '\\': o += "\\\\"; break;
            case '\n': o += "\\n"; break;
            case '\r': o += "\\r"; break;
            case '\t': o += "\\t"; break;
            default:
                if (c < 0x20 || c == 0x7f) { char b[8]; snprintf(b, sizeof b, "\\u%04x", c); o += b; }
                else o += (char) c;
        }
    }
    return o + "\"";
}

static std::string jints(const std::vector<llama_token> & v) {
    std::string o = "[";
    for (size_t i = 0; i < v.size(); i++) { if (i) o += ","; o += std::to_string(v[i]); }
    return o + "]";
}

static std::string jfloat4(float f) {
    char b[32];
    double r = std::round((double) f * 10000.0) / 10000.0;
    if (r == 0.0) r = 0.0; // no "-0.0000"
    snprintf(b, sizeof b, "%.4f", r);
    return b;
}

static std::string read_file(const std::string & path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read " + path);
    std::stringstream ss; ss << f.rdbuf();
    return ss.str();
}

static void write_file(const std::string & path, const std::string & data) {
    std::ofstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot write " + path);
    f << data;
}

// ---------------------------------------------------------------- llama helpers

static std::vector<llama_token> tokenize(const llama_vocab * vocab, const std::string & text, bool add_special, bool parse_special) {
    int n = (int) text.size() + 2 * (add_special ? 1 : 0) + 1;
    std::vector<llama_token> out(n);
    int got = llama_tokenize(vocab, text.data(), (int32_t) text.size(), out.data(), n, add_special, parse_special);
    if (got < 0) {
        out.resize(-got);
        got = llama_tokenize(vocab, text.data(), (int32_t) text.size(), out.data(), (int32_t) out.size(), add_special, parse_special);
    }
    if (got < 0) throw std::runtime_error("tokenization failed");
    out.resize(got);
    return out;
}

static std::string piece(const llama_vocab * vocab, llama_token t, bool special) {
    char buf[256];
    int n = llama_token_to_piece(vocab, t, buf, sizeof buf, 0, special);
    if (n < 0) {
        std::string s(-n, '\0');
        llama_token_to_piece(vocab, t, &s[0], (int32_t) s.size(), 0, special);
        return s;
    }
    return std::string(buf, n);
}

static std::string meta(const llama_model * m, const char * key) {
    char buf[1 << 16];
    int n = llama_model_meta_val_str(m, key, buf, sizeof buf);
    if (n < 0) return "";
    if ((size_t) n >= sizeof buf) {
        std::string s(n + 1, '\0');
        llama_model_meta_val_str(m, key, &s[0], s.size());
        s.resize(n);
        return s;
    }
    return std::string(buf, n);
}

struct Args {
    int ubatch = 0;  // physical micro-batch; 0 = the whole prompt in one (1 = token by token)
    std::string model, model_name, model_sha256, prompt_file, out, texts_file, chat_file;
    int top_k = 20, greedy = 64, ctx = 0, threads = 2;
    bool parse_special = false, tokenize_only = false, info = false, count_tokens = false, strip_nl = false;
};

static void usage() {
    fprintf(stderr,
        "usage: vkv-dump-logits --model M [--model-name N] [--model-sha256 H] [--threads 2] MODE --out OUT\n"
        "  MODE: --prompt-file F [--top-k 20] [--greedy 64] [--ctx N] [--parse-special]\n"
        "        [--count-tokens [--strip-trailing-newline]]\n"
        "      | --tokenize-only --texts-file T.json\n"
        "      | --info\n"
        "      | --render-chat MSGS.json\n");
    exit(2);
}

static void quiet_log(ggml_log_level level, const char * text, void *) {
    if (level >= GGML_LOG_LEVEL_WARN || getenv("VKV_DUMP_VERBOSE")) fputs(text, stderr);
}

static std::string header(const Args & a) {
    std::string o;
    o += "\"model\":" + jstr(a.model_name) + ",";
    o += "\"model_sha256\":" + jstr(a.model_sha256) + ",";
    o += "\"reference\":" + jstr(VKV_REF_DESC) + ",";
    return o;
}

int main(int argc, char ** argv) {
    Args a;
    for (int i = 1; i < argc; i++) {
        std::string k = argv[i];
        auto next = [&]() -> std::string { if (i + 1 >= argc) usage(); return argv[++i]; };
        if (k == "--model") a.model = next();
        else if (k == "--model-name") a.model_name = next();
        else if (k == "--model-sha256") a.model_sha256 = next();
        else if (k == "--prompt-file") a.prompt_file = next();
        else if (k == "--out") a.out = next();
        else if (k == "--top-k") a.top_k = std::stoi(next());
        else if (k == "--greedy") a.greedy = std::stoi(next());
        else if (k == "--ctx") a.ctx = std::stoi(next());
        else if (k == "--ubatch") a.ubatch = std::stoi(next());
        else if (k == "--threads" || k == "-t") a.threads = std::stoi(next());
        else if (k == "--parse-special") a.parse_special = true;
        else if (k == "--count-tokens") a.count_tokens = true;
        else if (k == "--strip-trailing-newline") a.strip_nl = true;
        else if (k == "--tokenize-only") a.tokenize_only = true;
        else if (k == "--texts-file") a.texts_file = next();
        else if (k == "--info") a.info = true;
        else if (k == "--render-chat") a.chat_file = next();
        else { fprintf(stderr, "unknown argument %s\n", k.c_str()); usage(); }
    }
    if (a.model.empty() || a.out.empty()) usage();
    if (a.model_name.empty()) a.model_name = a.model;

    try {
        llama_log_set(quiet_log, nullptr);
        llama_backend_init();

        llama_model_params mp = llama_model_default_params();
        mp.n_gpu_layers = 0;
        mp.progress_callback = [](float, void *) { return true; };
        llama_model * model = llama_model_load_from_file(a.model.c_str(), mp);
        if (!model) throw std::runtime_error("failed to load model " + a.model);
        const llama_vocab * vocab = llama_model_get_vocab(model);
        const bool add_bos = llama_vocab_get_add_bos(vocab);

        if (a.info) {
            std::string o = "{" + header(a);
            o += "\"n_vocab\":" + std::to_string(llama_vocab_n_tokens(vocab)) + ",";
            o += "\"add_bos\":" + std::string(add_bos ? "true" : "false") + ",";
            o += "\"add_eos\":" + std::string(llama_vocab_get_add_eos(vocab) ? "true" : "false") + ",";
            auto tok = [&](const char * name, llama_token t) {
                o += "\"" + std::string(name) + "\":" + std::to_string(t) + ",";
                if (t >= 0) o += "\"" + std::string(name) + "_text\":" + jstr(llama_vocab_get_text(vocab, t)) + ",";
            };
            tok("bos", llama_vocab_bos(vocab));
            tok("eos", llama_vocab_eos(vocab));
            tok("eot", llama_vocab_eot(vocab));
            tok("pad", llama_vocab_pad(vocab));
            tok("nl", llama_vocab_nl(vocab));
            std::vector<llama_token> eog;
            for (llama_token t = 0; t < llama_vocab_n_tokens(vocab); t++) if (llama_vocab_is_eog(vocab, t)) eog.push_back(t);
            o += "\"eog\":" + jints(eog) + ",";
            std::vector<llama_token> control;
            for (llama_token t = 0; t < llama_vocab_n_tokens(vocab); t++) if (llama_vocab_is_control(vocab, t)) control.push_back(t);
            o += "\"control\":" + jints(control) + ",";
            std::string ctl_text = "[";
            for (size_t i = 0; i < control.size(); i++) { if (i) ctl_text += ","; ctl_text += jstr(llama_vocab_get_text(vocab, control[i])); }
            o += "\"control_text\":" + ctl_text + "],";
            for (const char * key : {"general.architecture", "general.name", "tokenizer.ggml.model", "tokenizer.ggml.pre",
                                     "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token", "tokenizer.ggml.add_space_prefix",
                                     "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                                     "tokenizer.ggml.padding_token_id", "general.file_type"}) {
                o += jstr(std::string("meta:") + key) + ":" + jstr(meta(model, key)) + ",";
            }
            const char * tmpl = llama_model_chat_template(model, nullptr);
            o += "\"chat_template\":" + (tmpl ? jstr(tmpl) : std::string("null")) + "}\n";
            write_file(a.out, o);
            llama_model_free(model);
            return 0;
        }

        if (!a.chat_file.empty()) {
            JVal msgs = JParser(read_file(a.chat_file)).value();
            if (msgs.kind != JVal::ARR) throw std::runtime_error("chat file must be a JSON array");
            std::vector<llama_chat_message> cm;
            for (auto & m : msgs.arr) {
                const JVal * r = m.get("role");
                const JVal * c = m.get("content");
                if (!r || !c) throw std::runtime_error("message needs role and content");
                cm.push_back({r->str.c_str(), c->str.c_str()});
            }
            const char * tmpl = llama_model_chat_template(model, nullptr);
            if (!tmpl) throw std::runtime_error("model has no chat template");
            std::vector<char> buf(1 << 16);
            int n = llama_chat_apply_template(tmpl, cm.data(), cm.size(), true, buf.data(), (int32_t) buf.size());
            if (n > (int) buf.size()) {
                buf.resize(n);
                n = llama_chat_apply_template(tmpl, cm.data(), cm.size(), true, buf.data(), (int32_t) buf.size());
            }
            if (n < 0) throw std::runtime_error("llama_chat_apply_template failed (template not supported?)");
            write_file(a.out, std::string(buf.data(), n));
            llama_model_free(model);
            return 0;
        }

        if (a.tokenize_only) {
            if (a.texts_file.empty()) usage();
            JVal texts = JParser(read_file(a.texts_file)).value();
            if (texts.kind != JVal::ARR) throw std::runtime_error("texts file must be a JSON array of strings");
            std::string o = "{" + header(a);
            o += "\"add_bos\":" + std::string(add_bos ? "true" : "false") + ",";
            o += "\"bos\":" + std::to_string(llama_vocab_bos(vocab)) + ",";
            o += "\"cases\":[\n";
            bool first = true;
            for (auto & t : texts.arr) {
                if (t.kind != JVal::STR) throw std::runtime_error("texts file must contain only strings");
                for (bool ps : {false, true}) {
                    auto ids = tokenize(vocab, t.str, add_bos, ps);
                    if (!first) o += ",\n";
                    first = false;
                    o += "{\"text\":" + jstr(t.str) + ",\"parse_special\":" + (ps ? "true" : "false") + ",\"ids\":" + jints(ids) + "}";
                }
            }
            o += "\n]}\n";
            write_file(a.out, o);
            llama_model_free(model);
            return 0;
        }

        if (a.prompt_file.empty()) usage();
        std::string text = read_file(a.prompt_file);
        if (a.strip_nl && !text.empty() && text.back() == '\n') text.pop_back();
        const auto tokens = tokenize(vocab, text, add_bos, a.parse_special);
        if (a.count_tokens) {
            std::vector<llama_token> head(tokens.begin(), tokens.begin() + std::min<size_t>(16, tokens.size()));
            std::vector<llama_token> tail(tokens.end() - std::min<size_t>(16, tokens.size()), tokens.end());
            std::string o = "{" + header(a);
            o += "\"add_bos\":" + std::string(add_bos ? "true" : "false") + ",";
            o += "\"parse_special\":" + std::string(a.parse_special ? "true" : "false") + ",";
            o += "\"stripped_trailing_newline\":" + std::string(a.strip_nl ? "true" : "false") + ",";
            o += "\"n_bytes\":" + std::to_string(text.size()) + ",";
            o += "\"n_tokens\":" + std::to_string(tokens.size()) + ",";
            o += "\"first_ids\":" + jints(head) + ",\"last_ids\":" + jints(tail) + "}\n";
            write_file(a.out, o);
            llama_model_free(model);
            return 0;
        }
        const int n_prompt = (int) tokens.size();
        if (n_prompt == 0) throw std::runtime_error("empty prompt");
        const int n_vocab = llama_vocab_n_tokens(vocab);
        int n_ctx = a.ctx > 0 ? a.ctx : n_prompt + a.greedy + 1;
        if (n_ctx < n_prompt + a.greedy) throw std::runtime_error("--ctx too small for prompt + greedy tokens");

        llama_context_params cp = llama_context_default_params();
        cp.n_ctx = (uint32_t) n_ctx;
        cp.n_batch = (uint32_t) n_ctx;   // whole prompt in one logical batch ...
        cp.n_ubatch = (uint32_t) (a.ubatch > 0 ? a.ubatch : n_ctx);  // ... and one physical ubatch (unless --ubatch)
        cp.n_seq_max = 1;
        cp.n_threads = a.threads;
        cp.n_threads_batch = a.threads;
        cp.no_perf = true;
        llama_context * ctx = llama_init_from_model(model, cp);
        if (!ctx) throw std::runtime_error("failed to create context");

        llama_batch batch = llama_batch_init(n_prompt, 0, 1);
        for (int i = 0; i < n_prompt; i++) {
            batch.token[i] = tokens[i];
            batch.pos[i] = i;
            batch.n_seq_id[i] = 1;
            batch.seq_id[i][0] = 0;
            batch.logits[i] = 1;
        }
        batch.n_tokens = n_prompt;
        if (llama_decode(ctx, batch) != 0) throw std::runtime_error("llama_decode failed on the prompt");

        const int k = std::min(a.top_k, n_vocab);
        std::vector<int> idx(n_vocab);
        auto topk = [&](const float * lg) {
            for (int j = 0; j < n_vocab; j++) idx[j] = j;
            std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int x, int y) {
                return lg[x] > lg[y] || (lg[x] == lg[y] && x < y);
            });
        };

        std::string pos_json;
        llama_token next = -1;
        for (int i = 0; i < n_prompt; i++) {
            const float * lg = llama_get_logits_ith(ctx, i);
            if (!lg) throw std::runtime_error("no logits for position " + std::to_string(i));
            topk(lg);
            if (i) pos_json += ",\n";
            pos_json += "{\"ids\":[";
            for (int j = 0; j < k; j++) { if (j) pos_json += ","; pos_json += std::to_string(idx[j]); }
            pos_json += "],\"logits\":[";
            for (int j = 0; j < k; j++) { if (j) pos_json += ","; pos_json += jfloat4(lg[idx[j]]); }
            pos_json += "]}";
            if (i == n_prompt - 1) next = idx[0];
        }
        llama_batch_free(batch);

        std::vector<llama_token> greedy;
        std::string greedy_text;
        bool stopped_eog = false;
        int pos = n_prompt;
        for (int g = 0; g < a.greedy; g++) {
            greedy.push_back(next);
            greedy_text += piece(vocab, next, true);
            if (llama_vocab_is_eog(vocab, next)) { stopped_eog = true; break; }
            if (g + 1 == a.greedy) break;
            llama_batch b1 = llama_batch_get_one(&next, 1);
            (void) pos;
            if (llama_decode(ctx, b1) != 0) throw std::runtime_error("llama_decode failed during greedy decoding");
            pos++;
            const float * lg = llama_get_logits_ith(ctx, -1);
            int best = 0;
            for (int j = 1; j < n_vocab; j++) if (lg[j] > lg[best]) best = j;
            next = best;
        }

        std::string o = "{" + header(a);
        o += "\"text\":" + jstr(text) + ",\n";
        o += "\"add_bos\":" + std::string(add_bos ? "true" : "false") + ",";
        o += "\"parse_special\":" + std::string(a.parse_special ? "true" : "false") + ",";
        o += "\"n_ctx\":" + std::to_string(n_ctx) + ",";
        o += "\"threads\":" + std::to_string(a.threads) + ",";
        o += "\"n_ubatch\":" + std::to_string(a.ubatch > 0 ? a.ubatch : n_ctx) + ",";
        o += "\"n_tokens\":" + std::to_string(n_prompt) + ",\n";
        o += "\"tokens\":" + jints(tokens) + ",\n";
        o += "\"top_k\":" + std::to_string(k) + ",\n";
        o += "\"positions\":[\n" + pos_json + "\n],\n";
        o += "\"greedy\":" + jints(greedy) + ",\n";
        o += "\"greedy_text\":" + jstr(greedy_text) + ",";
        o += "\"greedy_stopped_at_eog\":" + std::string(stopped_eog ? "true" : "false") + "}\n";
        write_file(a.out, o);

        llama_free(ctx);
        llama_model_free(model);
        llama_backend_free();
    } catch (const std::exception & e) {
        fprintf(stderr, "vkv-dump-logits: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
