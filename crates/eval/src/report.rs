//! Reports of a NIAH or RULER run: markdown tables (printed and written to `report.md`), the
//! same numbers as JSON (`report.json`, with every cell's output), and PNG heatmaps.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::json;

use crate::plot;
use crate::runner::CellResult;
use crate::suite::{Provenance, Suite, SuiteSpec};
use crate::{Error, Result};

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = xs.collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{:.0}", v * 100.0))
}

/// `dense:f32` → `dense_f32` (file names).
pub fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn len_label(l: usize) -> String {
    if l.is_multiple_of(1024) {
        format!("{}K", l / 1024)
    } else if l.is_multiple_of(1000) {
        format!("{}k", l / 1000)
    } else {
        l.to_string()
    }
}

/// Write `report.md`, `report.json` and the PNGs into `dir`; returns the markdown.
pub fn write(
    dir: &Path,
    spec: &SuiteSpec,
    prov: &Provenance,
    modes: &[String],
    results: &[CellResult],
    wall_secs: f64,
) -> Result<String> {
    let mut md = String::new();
    md.push_str(&format!(
        "## {} — {} ({}), haystack {}\n\nmodel sha256 `{}`; haystack sha256 `{}`; seed {}; samples {}; chat template {}.\n\n",
        spec.suite.name().to_uppercase(),
        prov.model,
        prov.model_path.display(),
        prov.haystack,
        prov.model_sha256,
        prov.haystack_sha256,
        spec.seed,
        spec.samples,
        if spec.chat { "on" } else { "off" }
    ));
    let mut summary = Vec::new();
    for mode in modes {
        let rs: Vec<&CellResult> = results.iter().filter(|r| &r.kv == mode).collect();
        match spec.suite {
            Suite::Niah => {
                for task in &spec.tasks {
                    let name = format!("niah/{task}");
                    md.push_str(&format!("### `{name}`, KV `{mode}`: accuracy % (rows: depth, columns: prompt tokens)\n\n| depth |"));
                    for &l in &spec.lengths {
                        md.push_str(&format!(" {} |", len_label(l)));
                    }
                    md.push_str("\n|---:|");
                    md.push_str(&"---:|".repeat(spec.lengths.len()));
                    md.push('\n');
                    let mut grid = Vec::new();
                    for &d in &spec.depths {
                        let row: Vec<Option<f64>> = spec
                            .lengths
                            .iter()
                            .map(|&l| {
                                mean(
                                    rs.iter()
                                        .filter(|r| {
                                            r.task == name
                                                && r.length == l
                                                && r.depth.is_some_and(|x| (x - d).abs() < 1e-9)
                                        })
                                        .map(|r| r.score),
                                )
                            })
                            .collect();
                        md.push_str(&format!("| {d:.2} |"));
                        for v in &row {
                            md.push_str(&format!(" {} |", pct(*v)));
                        }
                        md.push('\n');
                        for (&l, v) in spec.lengths.iter().zip(&row) {
                            summary.push(json!({"kv": mode, "task": name, "length": l, "depth": d, "accuracy": v}));
                        }
                        grid.push(row);
                    }
                    md.push_str("| **all** |");
                    for &l in &spec.lengths {
                        md.push_str(&format!(
                            " **{}** |",
                            pct(mean(
                                rs.iter()
                                    .filter(|r| r.task == name && r.length == l)
                                    .map(|r| r.score)
                            ))
                        ));
                    }
                    let png = format!("niah-{}-{}.png", file_safe(task), file_safe(mode));
                    plot::heatmap(&dir.join(&png), &grid)?;
                    md.push_str(&format!("\n\nHeatmap: `{png}` (rows = depths top to bottom, columns = lengths; green 100, red 0, grey not run).\n\n"));
                }
            }
            Suite::Ruler => {
                let mut grid = Vec::new();
                for &l in &spec.lengths {
                    md.push_str(&format!("### RULER at {} tokens ({l}), KV `{mode}`\n\n| task | score % | samples | mean prompt tokens |\n|---|---:|---:|---:|\n", len_label(l)));
                    let mut avg = Vec::new();
                    for t in &spec.tasks {
                        let name = format!("ruler/{t}");
                        let sel: Vec<&&CellResult> = rs
                            .iter()
                            .filter(|r| r.task == name && r.length == l)
                            .collect();
                        let s = mean(sel.iter().map(|r| r.score));
                        let toks = mean(sel.iter().map(|r| r.prompt_tokens as f64));
                        md.push_str(&format!(
                            "| {t} | {} | {} | {} |\n",
                            pct(s),
                            sel.len(),
                            toks.map_or("–".into(), |x| format!("{x:.0}"))
                        ));
                        summary.push(json!({"kv": mode, "task": name, "length": l, "score": s, "samples": sel.len()}));
                        if let Some(s) = s {
                            avg.push(s);
                        }
                    }
                    md.push_str(&format!(
                        "| **average** | **{}** | | |\n\n",
                        pct(mean(avg.into_iter()))
                    ));
                }
                for t in &spec.tasks {
                    let name = format!("ruler/{t}");
                    grid.push(
                        spec.lengths
                            .iter()
                            .map(|&l| {
                                mean(
                                    rs.iter()
                                        .filter(|r| r.task == name && r.length == l)
                                        .map(|r| r.score),
                                )
                            })
                            .collect(),
                    );
                }
                let png = format!("ruler-{}.png", file_safe(mode));
                plot::heatmap(&dir.join(&png), &grid)?;
                md.push_str(&format!(
                    "Heatmap: `{png}` (rows = tasks in table order, columns = lengths).\n\n"
                ));
            }
        }
        // Run time per length.
        md.push_str(&format!("Run time, KV `{mode}`:\n\n| length | cells | prompt tokens | reused from cache | prefill s | decode s |\n|---:|---:|---:|---:|---:|---:|\n"));
        let lengths: BTreeSet<usize> = rs.iter().map(|r| r.length).collect();
        for l in lengths {
            let sel: Vec<&&CellResult> = rs.iter().filter(|r| r.length == l).collect();
            md.push_str(&format!(
                "| {l} | {} | {} | {} | {:.0} | {:.0} |\n",
                sel.len(),
                sel.iter().map(|r| r.prompt_tokens).sum::<usize>(),
                sel.iter().map(|r| r.reused_tokens).sum::<usize>(),
                sel.iter().map(|r| r.prefill_secs).sum::<f64>(),
                sel.iter().map(|r| r.decode_secs).sum::<f64>()
            ));
        }
        md.push('\n');
    }
    md.push_str(&format!("Wall time of this invocation: {wall_secs:.0} s. Cells: {} (of which new in this invocation are included above).\n", results.len()));
    let j = json!({"spec": spec, "provenance": prov, "kv_modes": modes, "summary": summary, "cells": results});
    let p = dir.join("report.json");
    std::fs::write(
        &p,
        serde_json::to_string_pretty(&j).map_err(|e| Error::Report(e.to_string()))?,
    )
    .map_err(|e| Error::io(&p, e))?;
    let p = dir.join("report.md");
    std::fs::write(&p, &md).map_err(|e| Error::io(&p, e))?;
    Ok(md)
}
