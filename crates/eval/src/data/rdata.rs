//! R's lazy-load database (`Rdata.rdx` + `Rdata.rdb`), as the Debian package `r-cran-janeaustenr`
//! ships Jane Austen's novels: read without R.
//!
//! `Rdata.rdx` is a gzip-compressed R serialization of `list(variables = list(name = c(offset,
//! length), ...), ...)`; each `Rdata.rdb` entry at `offset` is `[u32 BE uncompressed length]
//! [zlib stream]` whose payload is the XDR serialization of a character vector (one element per
//! line of the book). Only the handful of SEXP types these files use are understood; anything
//! else is a clear error naming the offset.

use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// The R values the index and the books use.
#[derive(Debug, Clone, PartialEq)]
pub enum RValue {
    /// `NULL` and the special environments.
    Null,
    /// A symbol.
    Sym(String),
    /// One string (CHARSXP); `None` = `NA`.
    Char(Option<String>),
    /// A character vector.
    Str(Vec<Option<String>>),
    /// A numeric vector.
    Real(Vec<f64>),
    /// An integer or logical vector.
    Int(Vec<i32>),
    /// A list, with its `names` attribute when present.
    List(Vec<RValue>, Option<Vec<String>>),
    /// A pairlist of (tag, value).
    Pairs(Vec<(Option<String>, RValue)>),
    /// Raw bytes.
    Raw(Vec<u8>),
}

struct Reader<'a> {
    b: &'a [u8],
    p: usize,
    refs: Vec<RValue>,
}

impl Reader<'_> {
    fn err(&self, msg: &str) -> String {
        format!("R serialization: {msg} at byte {}", self.p)
    }
    fn bytes(&mut self, n: usize) -> std::result::Result<&[u8], String> {
        let end = self
            .p
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| self.err("truncated"))?;
        let s = &self.b[self.p..end];
        self.p = end;
        Ok(s)
    }
    fn int(&mut self) -> std::result::Result<i32, String> {
        let s = self.bytes(4)?;
        Ok(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn len(&mut self) -> std::result::Result<usize, String> {
        let n = self.int()?;
        // Long vectors (-1 then two ints) do not occur in these files.
        usize::try_from(n).map_err(|_| self.err("negative length"))
    }
    fn header(&mut self) -> std::result::Result<(), String> {
        if self.bytes(2)? != b"X\n" {
            return Err("not an R XDR serialization".into());
        }
        let version = self.int()?;
        self.int()?;
        self.int()?;
        match version {
            2 => Ok(()),
            3 => {
                let n = self.len()?;
                self.bytes(n).map(|_| ())
            }
            v => Err(format!("unsupported R serialization version {v}")),
        }
    }

    fn item(&mut self) -> std::result::Result<RValue, String> {
        let flags = self.int()?;
        let t = flags & 0xFF;
        let has_attr = flags & (1 << 9) != 0;
        let has_tag = flags & (1 << 10) != 0;
        let v = match t {
            254 | 242 | 253 | 251 | 252 => return Ok(RValue::Null),
            255 => {
                let mut idx = (flags >> 8) as usize;
                if idx == 0 {
                    idx = self.len()?;
                }
                return self
                    .refs
                    .get(idx.wrapping_sub(1))
                    .cloned()
                    .ok_or_else(|| self.err("bad reference"));
            }
            1 => {
                let RValue::Char(Some(name)) = self.item()? else {
                    return Err(self.err("symbol without a name"));
                };
                let s = RValue::Sym(name);
                self.refs.push(s.clone());
                return Ok(s);
            }
            9 => {
                let n = self.int()?;
                if n == -1 {
                    return Ok(RValue::Char(None));
                }
                let n = usize::try_from(n).map_err(|_| self.err("bad string length"))?;
                let raw = self.bytes(n)?;
                let latin1 = (flags >> 12) & 4 != 0 && (flags >> 12) & 8 == 0;
                let s = if latin1 {
                    raw.iter().map(|&c| c as char).collect()
                } else {
                    String::from_utf8(raw.to_vec()).map_err(|_| self.err("invalid UTF-8"))?
                };
                return Ok(RValue::Char(Some(s)));
            }
            2 | 6 => {
                let mut out = Vec::new();
                let (mut a, mut tg) = (has_attr, has_tag);
                loop {
                    if a {
                        self.item()?;
                    }
                    let tag = if tg { sym_name(self.item()?) } else { None };
                    out.push((tag, self.item()?));
                    let nf = self.int()?;
                    match nf & 0xFF {
                        254 => break,
                        2 | 6 => {
                            a = nf & (1 << 9) != 0;
                            tg = nf & (1 << 10) != 0;
                        }
                        _ => {
                            self.p -= 4;
                            out.push((None, self.item()?));
                            break;
                        }
                    }
                }
                return Ok(RValue::Pairs(out));
            }
            16 => {
                let n = self.len()?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    match self.item()? {
                        RValue::Char(s) => v.push(s),
                        _ => return Err(self.err("character vector element is not a string")),
                    }
                }
                RValue::Str(v)
            }
            19 | 20 => {
                let n = self.len()?;
                let v = (0..n)
                    .map(|_| self.item())
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                RValue::List(v, None)
            }
            10 | 13 => {
                let n = self.len()?;
                let s = self.bytes(4 * n)?;
                RValue::Int(
                    s.chunks_exact(4)
                        .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                )
            }
            14 => {
                let n = self.len()?;
                let s = self.bytes(8 * n)?;
                RValue::Real(
                    s.chunks_exact(8)
                        .map(|c| {
                            f64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
                        })
                        .collect(),
                )
            }
            24 => {
                let n = self.len()?;
                RValue::Raw(self.bytes(n)?.to_vec())
            }
            other => return Err(self.err(&format!("unsupported SEXP type {other}"))),
        };
        if !has_attr {
            return Ok(v);
        }
        let attrs = self.item()?;
        Ok(match (v, attrs) {
            (RValue::List(items, _), RValue::Pairs(a)) => {
                let names = a
                    .into_iter()
                    .find(|(k, _)| k.as_deref() == Some("names"))
                    .and_then(|(_, v)| match v {
                        RValue::Str(s) => {
                            Some(s.into_iter().map(Option::unwrap_or_default).collect())
                        }
                        _ => None,
                    });
                RValue::List(items, names)
            }
            (v, _) => v,
        })
    }
}

fn sym_name(v: RValue) -> Option<String> {
    match v {
        RValue::Sym(s) => Some(s),
        _ => None,
    }
}

/// Unserialize one R XDR stream.
pub fn unserialize(buf: &[u8]) -> std::result::Result<RValue, String> {
    let mut r = Reader {
        b: buf,
        p: 0,
        refs: Vec::new(),
    };
    r.header()?;
    r.item()
}

/// One `Rdata.rdb` entry: `[u32 BE length][zlib stream]`, checked against the length.
pub fn rdb_entry(rdb: &[u8], offset: usize, length: usize) -> std::result::Result<Vec<u8>, String> {
    let blob = offset
        .checked_add(length)
        .and_then(|end| rdb.get(offset..end))
        .ok_or("entry outside the file")?;
    if blob.len() < 5 {
        return Err("entry too short".into());
    }
    let n = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    let mut out = Vec::with_capacity(n);
    flate2::read::ZlibDecoder::new(&blob[4..])
        .read_to_end(&mut out)
        .map_err(|e| format!("zlib: {e}"))?;
    if out.len() != n {
        return Err(format!(
            "entry inflates to {} bytes, header says {n}",
            out.len()
        ));
    }
    Ok(out)
}

/// Every variable of a lazy-load database that is a character vector, as text: its elements
/// joined with `\n` plus a final `\n`, in the index's order.
pub fn character_vectors(
    rdx_path: &Path,
    rdx: &[u8],
    rdb_path: &Path,
    rdb: &[u8],
) -> Result<Vec<(String, String)>> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(rdx)
        .read_to_end(&mut raw)
        .map_err(|e| Error::corrupt(rdx_path, format!("gzip: {e}")))?;
    let index = unserialize(&raw).map_err(|e| Error::corrupt(rdx_path, e))?;
    let vars = match index {
        RValue::List(items, Some(names)) => names
            .into_iter()
            .zip(items)
            .find(|(n, _)| n == "variables")
            .map(|(_, v)| v),
        _ => None,
    };
    let Some(RValue::List(items, Some(names))) = vars else {
        return Err(Error::corrupt(rdx_path, "no `variables` list in the index"));
    };
    let mut out = Vec::new();
    for (name, loc) in names.into_iter().zip(items) {
        let (off, len) = match loc {
            RValue::Int(v) if v.len() == 2 => (v[0] as i64, v[1] as i64),
            RValue::Real(v) if v.len() == 2 => (v[0] as i64, v[1] as i64),
            _ => return Err(Error::corrupt(rdx_path, format!("{name}: bad location"))),
        };
        let (off, len) = (usize::try_from(off), usize::try_from(len));
        let (Ok(off), Ok(len)) = (off, len) else {
            return Err(Error::corrupt(
                rdx_path,
                format!("{name}: negative location"),
            ));
        };
        let payload = rdb_entry(rdb, off, len)
            .map_err(|e| Error::corrupt(rdb_path, format!("{name}: {e}")))?;
        match unserialize(&payload).map_err(|e| Error::corrupt(rdb_path, format!("{name}: {e}")))? {
            RValue::Str(lines) => {
                if lines.iter().any(Option::is_none) {
                    return Err(Error::corrupt(rdb_path, format!("{name}: NA in the text")));
                }
                let mut text = lines.into_iter().flatten().collect::<Vec<_>>().join("\n");
                text.push('\n');
                out.push((name, text));
            }
            _ => continue,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn xdr_strvec(lines: &[&str]) -> Vec<u8> {
        let mut b = b"X\n".to_vec();
        for x in [2i32, 0x040000, 0x020300, 16] {
            b.extend_from_slice(&x.to_be_bytes());
        }
        b.extend_from_slice(&(lines.len() as i32).to_be_bytes());
        for l in lines {
            b.extend_from_slice(&(0x8009i32).to_be_bytes());
            b.extend_from_slice(&(l.len() as i32).to_be_bytes());
            b.extend_from_slice(l.as_bytes());
        }
        b
    }

    /// A hand-made entry round-trips; truncated, lying-length and garbage inputs are errors.
    #[test]
    fn entries_and_corruption() -> std::result::Result<(), String> {
        let payload = xdr_strvec(&["It was", "a truth"]);
        assert_eq!(
            unserialize(&payload)?,
            RValue::Str(vec![Some("It was".into()), Some("a truth".into())])
        );
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&payload).map_err(|e| e.to_string())?;
        let zs = z.finish().map_err(|e| e.to_string())?;
        let mut entry = (payload.len() as u32).to_be_bytes().to_vec();
        entry.extend_from_slice(&zs);
        assert_eq!(rdb_entry(&entry, 0, entry.len())?, payload);
        assert!(
            rdb_entry(&entry, 0, entry.len() + 1).is_err(),
            "past the end"
        );
        let mut lie = entry.clone();
        lie[3] ^= 1;
        assert!(rdb_entry(&lie, 0, lie.len()).is_err(), "wrong length");
        let mut garbage = entry.clone();
        garbage[10] ^= 0xFF;
        assert!(
            rdb_entry(&garbage, 0, garbage.len()).is_err(),
            "corrupt zlib"
        );
        assert!(
            unserialize(&payload[..payload.len() - 3]).is_err(),
            "truncated"
        );
        assert!(unserialize(b"RDX2").is_err());
        Ok(())
    }
}
