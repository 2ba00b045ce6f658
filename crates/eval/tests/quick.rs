//! The `--quick` profile end to end on smollm2-135m (what CI runs): NIAH and RULER through the
//! library, reports written, and a second run resumes (runs nothing new, same report); saved
//! prefills give the same answers as prefilling, and a corrupt one is a clear error.

mod common;

use vkv_engine::KvMode;
use vkv_eval::prefill_store::PrefillStore;
use vkv_eval::runner::{CellResult, RunProgress};
use vkv_eval::suite::{Provenance, Run, Suite, SuiteSpec};
use vkv_eval::tasks::Haystack;

struct Count(usize);
impl RunProgress for Count {
    fn tokens(&mut self, _: usize) {}
    fn cell(&mut self, _: &CellResult) {
        self.0 += 1;
    }
}

fn provenance(lm: &vkv_model::loader::LoadedModel, text: &vkv_eval::data::Text) -> Provenance {
    Provenance {
        model: lm.name.clone(),
        model_path: lm.source.path().to_path_buf(),
        model_sha256: "test".into(),
        haystack: text.id.clone(),
        haystack_sha256: text.sha256.clone(),
    }
}

#[test]
fn quick_profile_runs_reports_and_resumes() {
    let lm = common::smollm2();
    let text = common::essays();
    let hay = Haystack::new(&text.id, &text.text, &lm.tokenizer).expect("haystack");
    let modes = vec![KvMode::default()];
    let prov = provenance(&lm, &text);
    for suite in [Suite::Niah, Suite::Ruler] {
        let spec = SuiteSpec::quick(suite, 1);
        spec.validate(lm.transformer.config.context_length)
            .expect("valid");
        let cells = spec.cells(&lm.tokenizer, &hay).expect("cells");
        assert_eq!(
            cells.len(),
            4,
            "2 lengths x (2 depths | 2 tasks) x 1 sample"
        );
        let dir = common::tempdir(suite.name());
        let run = Run::open(&dir, &spec, &prov, &modes).expect("open");
        let go = |n: &mut Count| {
            let store = run.prefills(false);
            run.run(&lm.transformer, &lm.tokenizer, &cells, &modes, &store, n)
        };
        let mut n = Count(0);
        let t0 = std::time::Instant::now();
        let results = go(&mut n).expect("run");
        eprintln!(
            "{}: {} cells in {:.1}s",
            suite.name(),
            n.0,
            t0.elapsed().as_secs_f64()
        );
        assert_eq!((n.0, results.len()), (4, 4));
        assert!(results
            .iter()
            .all(|r| (0.0..=1.0).contains(&r.score) && r.prompt_tokens <= r.length));
        assert!(
            results.iter().any(|r| r.reused_tokens > 0),
            "prompts over one haystack share a prefix"
        );
        let md = vkv_eval::report::write(&dir, &spec, &prov, &["dense".into()], &results, 0.0)
            .expect("report");
        assert!(md.contains("| 512 |") || md.contains("512"), "{md}");
        for f in ["report.md", "report.json", "config.json", "results.jsonl"] {
            assert!(dir.join(f).is_file(), "{f}");
        }
        let png = if suite == Suite::Niah {
            "niah-passkey-dense.png"
        } else {
            "ruler-dense.png"
        };
        assert!(std::fs::read(dir.join(png))
            .expect("png")
            .starts_with(b"\x89PNG"));
        // Resume: nothing left to run.
        let mut again = Count(0);
        let r2 = go(&mut again).expect("resume");
        assert_eq!((again.0, r2.len()), (0, 4));
        if suite == Suite::Niah {
            let acc = results.iter().map(|r| r.score).sum::<f64>() / results.len() as f64;
            eprintln!(
                "smollm2 quick passkey accuracy {acc:.2}: {:?}",
                results.iter().map(|r| r.output.trim()).collect::<Vec<_>>()
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A run saving its prefills and a second run (new results file) loading them give the same
/// outputs for dense and wave, the second one prefilling only each prompt's last token; a
/// truncated prefill file stops the run with an error naming it.
#[test]
fn saved_prefills_give_the_same_answers() {
    let lm = common::smollm2();
    let text = common::essays();
    let hay = Haystack::new(&text.id, &text.text, &lm.tokenizer).expect("haystack");
    let modes = KvMode::parse_list("dense;wave:r=0.1,cs=8").expect("modes");
    let prov = provenance(&lm, &text);
    let spec = SuiteSpec::quick(Suite::Ruler, 3);
    let cells = spec.cells(&lm.tokenizer, &hay).expect("cells");
    let store_dir = common::tempdir("prefills");
    let run_in = |name: &str, store: &PrefillStore| {
        let dir = common::tempdir(name);
        let run = Run::open(&dir, &spec, &prov, &modes).expect("open");
        let r = run.run(
            &lm.transformer,
            &lm.tokenizer,
            &cells,
            &modes,
            store,
            &mut Count(0),
        );
        let _ = std::fs::remove_dir_all(&dir);
        r
    };
    let first = run_in("saving", &PrefillStore::new(&store_dir, true)).expect("first run");
    let saved: Vec<_> = std::fs::read_dir(&store_dir)
        .expect("prefills written")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(saved.len(), cells.len(), "one prefill per prompt");
    let second = run_in("loading", &PrefillStore::new(&store_dir, false)).expect("second run");
    assert_eq!(first.len(), cells.len() * 2);
    for (a, b) in first.iter().zip(&second) {
        assert_eq!((&a.key, &a.kv, &a.output), (&b.key, &b.kv, &b.output));
        assert_eq!(b.reused_tokens, b.prompt_tokens - 1, "{}: loaded", b.key);
    }
    let victim = &saved[0];
    let bytes = std::fs::read(victim).expect("read");
    std::fs::write(victim, &bytes[..bytes.len() / 2]).expect("truncate");
    let e = run_in("corrupt", &PrefillStore::new(&store_dir, false))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let name = victim
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    assert!(e.contains(&name), "the error names the file: {e}");
    let _ = std::fs::remove_dir_all(&store_dir);
}

/// `vkv bench --save-depths`: the first fill of a depth is prefilled and saved, the second is
/// loaded (no prefill) and measures at the same depth; a truncated fill is an error naming it.
#[test]
fn bench_depth_fills_are_saved_and_loaded() {
    use vkv_eval::bench::{prepare_modes, BenchSpec};
    let lm = common::smollm2();
    let modes = KvMode::parse_list("dense").expect("modes");
    let spec = BenchSpec {
        depths: vec![700],
        modes: modes.clone(),
        n_prompt: 16,
        n_gen: 4,
        chunk: 256,
        seed: 5,
    };
    let dir = common::tempdir("bench-fills");
    let store = PrefillStore::new(&dir, true);
    let fill = |store: &PrefillStore| {
        let mut prefilled = 0;
        let r = prepare_modes(&lm.transformer, &modes, 700, &spec, Some(store), &mut |n| {
            prefilled = n
        });
        (r, prefilled)
    };
    let (first, n1) = fill(&store);
    let mut first = first.expect("first fill");
    assert_eq!(n1, 700, "prefilled");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("saved")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(files.len(), 1);
    let (second, n2) = fill(&PrefillStore::new(&dir, false));
    let mut second = second.expect("second fill");
    assert_eq!(n2, 0, "loaded, not prefilled");
    let a = first[0].run_tg(&lm.transformer, &spec, 0).expect("tg");
    let b = second[0].run_tg(&lm.transformer, &spec, 0).expect("tg");
    assert_eq!((a.depth, a.tokens), (b.depth, b.tokens));
    assert_eq!(first[0].memory(), second[0].memory());
    let bytes = std::fs::read(&files[0]).expect("read");
    std::fs::write(&files[0], &bytes[..bytes.len() - 100]).expect("truncate");
    let e = fill(&store)
        .0
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let name = files[0]
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    assert!(e.contains(&name), "the error names the file: {e}");
    let _ = std::fs::remove_dir_all(&dir);
}
