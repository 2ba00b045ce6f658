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
    assert!(load_results(&dir.join("missing.jsonl"))
        .expect("missing = empty")
        .is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
