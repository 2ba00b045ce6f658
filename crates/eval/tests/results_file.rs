//! Corrupt results files: a torn last line (killed mid-write) is ignored and redone; a corrupt
//! line in the middle is a clear error naming the line.

use vkv_eval::runner::load_results;

#[test]
fn torn_and_corrupt_lines() {
    let dir = std::env::temp_dir().join(format!("vkv-results-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let good = r#"{"key":"niah/passkey|512|0.250|0","task":"niah/passkey","kv":"dense","length":512,"depth":0.25,"sample":0,"prompt_tokens":500,"prompt_hash":"00","expected":["1"],"output":"1","score":1.0,"reused_tokens":0,"prefill_secs":1.0,"gen_tokens":1,"decode_secs":0.1}"#;
    let p = dir.join("r.jsonl");
    std::fs::write(&p, format!("{good}\n{}", &good[..40])).expect("write");
    assert_eq!(load_results(&p).expect("torn tail is ignored").len(), 1);
    std::fs::write(&p, format!("{good}\n{{garbage\n{good}\n")).expect("write");
    let e = load_results(&p)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("line 2"), "{e}");
    // Appending after a torn line cuts it first, so the file stays readable.
    std::fs::write(&p, format!("{good}\n{}", &good[..40])).expect("write");
    {
        use std::io::Write;
        let mut f = vkv_eval::runner::open_for_append(&p).expect("open");
        writeln!(f, "{good}").expect("append");
    }
    assert_eq!(
        load_results(&p).expect("no torn line in the middle").len(),
        2
    );
    assert!(load_results(&dir.join("missing.jsonl"))
        .expect("missing = empty")
        .is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A result line for `key` and `kv`.
fn line(key: &str, kv: &str) -> String {
    format!(
        r#"{{"key":"{key}","task":"ruler/fwe","kv":"{kv}","length":512,"depth":null,"sample":0,"prompt_tokens":500,"prompt_hash":"00","expected":["a"],"output":"a","score":1.0,"reused_tokens":0,"prefill_secs":1.0,"gen_tokens":1,"decode_secs":0.1}}"#
    )
}

/// The run id ignores what only selects cells; directories named by the older id (which hashed
/// samples, tasks and depths) with the same model, haystack, seed and chat are merged into the
/// new one, once, and nothing else is.
#[test]
fn legacy_run_directories_are_adopted() {
    use vkv_eval::suite::{Provenance, Suite, SuiteSpec};
    let root = std::env::temp_dir().join(format!("vkv-legacy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let spec = SuiteSpec::new(Suite::Ruler, vec![512], 1);
    let prov = Provenance {
        model: "m".into(),
        model_path: "m.gguf".into(),
        model_sha256: "aa".into(),
        haystack: "h".into(),
        haystack_sha256: "bb".into(),
    };
    let mut other = spec.clone();
    other.samples = 20;
    other.tasks = vec!["fwe".into()];
    other.lengths = vec![1024, 2048];
    assert_eq!(spec.run_id(&prov), other.run_id(&prov));
    other.seed = 2;
    assert_ne!(spec.run_id(&prov), other.run_id(&prov));
    other.seed = 1;

    let config = |spec: &SuiteSpec, model: &str| {
        serde_json::json!({"spec": spec, "provenance": {"model_sha256": model, "haystack_sha256": "bb"}, "prompt_format": vkv_eval::suite::PROMPT_FORMAT}).to_string()
    };
    let make = |name: &str, cfg: &str, lines: &[String]| {
        let d = root.join(name);
        std::fs::create_dir_all(&d).expect("dir");
        std::fs::write(d.join("config.json"), cfg).expect("config");
        std::fs::write(d.join("results.jsonl"), lines.join("\n") + "\n").expect("results");
    };
    // Through the library's entry point: open the default directory, adopting.
    let adopt = |root: &std::path::Path, spec: &SuiteSpec, prov: &Provenance| {
        vkv_eval::suite::Run::open_default(root, spec, prov, &[]).map(|(_, adopted)| adopted)
    };
    let new = root.join(spec.run_id(&prov));
    make("ruler-new", "", &[]);
    std::fs::rename(root.join("ruler-new"), &new).expect("rename");
    std::fs::write(new.join("results.jsonl"), line("a", "dense") + "\n").expect("seed line");
    // Same identity, other samples/tasks: one result new, one already there.
    make(
        "ruler-old1",
        &config(&other, "aa"),
        &[line("a", "dense"), line("b", "dense")],
    );
    // Another model; a foreign config; another suite with the same identity.
    make("ruler-old2", &config(&spec, "zz"), &[line("c", "dense")]);
    make("ruler-old3", "{not json", &[line("d", "dense")]);
    make("niah-old4", &config(&spec, "aa"), &[line("e", "dense")]);

    let got = adopt(&root, &spec, &prov).expect("adopt");
    assert_eq!(got, vec![("ruler-old1".to_string(), 1)]);
    let keys: Vec<String> = load_results(&new.join("results.jsonl"))
        .expect("read")
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(keys, ["a", "b"]);
    // Idempotent; a cell added later to the old directory is picked up.
    assert!(adopt(&root, &spec, &prov).expect("again").is_empty());
    let old1 = root.join("ruler-old1").join("results.jsonl");
    let mut text = std::fs::read_to_string(&old1).expect("read");
    text.push_str(&(line("b", "wave") + "\n"));
    std::fs::write(&old1, text).expect("append");
    let got = adopt(&root, &spec, &prov).expect("third");
    assert_eq!(got, vec![("ruler-old1".to_string(), 1)]);
    let _ = std::fs::remove_dir_all(&root);
}
