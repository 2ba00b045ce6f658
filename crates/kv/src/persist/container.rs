//! The saved-context container: a small header of typed fields, page-aligned raw arrays, and a
//! checksummed trailer (layout in [`super`]).
//!
//! [`Writer`] collects fields and borrowed arrays, then streams the file through the checksum
//! into a temporary name and renames it into place (a reader never sees half a file, and a
//! context mapped from the old file stays valid). [`Reader`] maps the file, verifies magic,
//! version, kind and checksum before anything is parsed, and hands out fields and arrays with
//! bounds and alignment checks: a bad file is an error, never a panic.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use super::hash::{hash64, Hasher};
use crate::storage::pod::{as_bytes, from_bytes, Pod};
use crate::storage::Chunk;
use crate::{Error, Result};

/// File magic.
pub const MAGIC: &[u8; 8] = b"VKVCTX\0\0";
/// Trailer magic.
pub const END: &[u8; 8] = b"VKVCTEND";
/// Format version written and accepted.
pub const VERSION: u32 = 1;
/// Alignment of the data section (a page: arrays can be mapped in place).
pub const DATA_ALIGN: usize = 4096;
/// Alignment of each array in the data section.
pub const ARRAY_ALIGN: usize = 64;
const PRELUDE: usize = 32;
const TRAILER: usize = 16;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A [`crate::DenseKv`].
    Dense = 1,
    /// A [`crate::WaveKv`].
    Wave = 2,
}

/// Builds a saved context.
#[derive(Default)]
pub struct Writer<'a> {
    header: Vec<u8>,
    arrays: Vec<(usize, &'a [u8])>,
    data_len: usize,
}

impl<'a> Writer<'a> {
    /// An empty file.
    pub fn new() -> Self {
        Self::default()
    }

    /// A u64 field.
    pub fn u64(&mut self, x: u64) {
        self.header.extend_from_slice(&x.to_le_bytes());
    }

    /// A usize field (stored as u64).
    pub fn usize(&mut self, x: usize) {
        self.u64(x as u64);
    }

    /// An f64 field.
    pub fn f64(&mut self, x: f64) {
        self.u64(x.to_bits());
    }

    /// An array, written raw (little-endian hosts) in the data section.
    pub fn array<T: Pod>(&mut self, x: &'a [T]) {
        let off = self.data_len.div_ceil(ARRAY_ALIGN) * ARRAY_ALIGN;
        let b = as_bytes(x);
        self.u64(off as u64);
        self.u64(b.len() as u64);
        self.arrays.push((off, b));
        self.data_len = off + b.len();
    }

    /// Write the file at `path` (via a temporary name and a rename).
    pub fn write(self, path: &Path, kind: Kind, dtype: u32) -> Result<()> {
        let tmp = PathBuf::from(format!("{}.tmp{}", path.display(), std::process::id()));
        let io = |e| Error::io("write saved context", &tmp, e);
        let mut f = std::io::BufWriter::with_capacity(1 << 20, File::create(&tmp).map_err(io)?);
        let mut h = Hasher::default();
        let mut put = |f: &mut std::io::BufWriter<File>, b: &[u8]| -> Result<()> {
            h.update(b);
            f.write_all(b).map_err(io)
        };
        let mut prelude = Vec::with_capacity(PRELUDE);
        prelude.extend_from_slice(MAGIC);
        for x in [VERSION, kind as u32, dtype, 0] {
            prelude.extend_from_slice(&x.to_le_bytes());
        }
        prelude.extend_from_slice(&(self.header.len() as u64).to_le_bytes());
        put(&mut f, &prelude)?;
        put(&mut f, &self.header)?;
        let data_start = (PRELUDE + self.header.len()).div_ceil(DATA_ALIGN) * DATA_ALIGN;
        let zeros = vec![0u8; DATA_ALIGN];
        put(&mut f, &zeros[..data_start - PRELUDE - self.header.len()])?;
        let mut at = 0;
        for (off, b) in &self.arrays {
            put(&mut f, &zeros[..off - at])?;
            put(&mut f, b)?;
            at = off + b.len();
        }
        let sum = h.finish();
        f.write_all(&sum.to_le_bytes()).map_err(io)?;
        f.write_all(END).map_err(io)?;
        f.into_inner()
            .map_err(|e| io(e.into_error()))?
            .sync_all()
            .map_err(io)?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io("rename saved context", path, e))
    }
}

/// Reads a saved context.
pub struct Reader {
    map: Arc<Mmap>,
    path: PathBuf,
    pos: usize,
    header_end: usize,
    data_start: usize,
    /// Element type code written by the saver.
    pub dtype: u32,
}

impl Reader {
    /// Map and verify `path`, which must hold `want`.
    pub fn open(path: &Path, want: Kind) -> Result<Self> {
        if cfg!(target_endian = "big") {
            return Err(Error::Incompatible {
                path: path.into(),
                reason: "saved contexts are little-endian; this host is big-endian".into(),
            });
        }
        let file = File::open(path).map_err(|e| Error::io("open saved context", path, e))?;
        // SAFETY: the map is read-only. Saved contexts are written under a temporary name and
        // renamed, never modified in place by this crate; another process truncating the file
        // while it is mapped is outside what we can defend against (as for any mmap reader).
        let map =
            unsafe { Mmap::map(&file) }.map_err(|e| Error::io("map saved context", path, e))?;
        let bad = |r: &str| Error::Corrupt {
            path: path.into(),
            reason: r.into(),
        };
        let n = map.len();
        if n < 8 || &map[..8] != MAGIC {
            return Err(Error::Incompatible {
                path: path.into(),
                reason: "not a vectorkv saved context (bad magic)".into(),
            });
        }
        if n < PRELUDE + TRAILER {
            return Err(bad("truncated (shorter than its prelude and trailer)"));
        }
        let u32at = |o: usize| u32::from_le_bytes([map[o], map[o + 1], map[o + 2], map[o + 3]]);
        let version = u32at(8);
        if version != VERSION {
            return Err(Error::Incompatible {
                path: path.into(),
                reason: format!("format version {version}, this build reads version {VERSION}"),
            });
        }
        let kind = u32at(12);
        if kind != want as u32 {
            return Err(Error::Incompatible {
                path: path.into(),
                reason: format!("holds kind {kind}, expected {want:?} ({})", want as u32),
            });
        }
        if &map[n - 8..] != END {
            return Err(bad("truncated (no trailer)"));
        }
        let mut s = [0u8; 8];
        s.copy_from_slice(&map[n - TRAILER..n - 8]);
        if u64::from_le_bytes(s) != hash64(&map[..n - TRAILER]) {
            return Err(bad("checksum mismatch"));
        }
        let mut hl = [0u8; 8];
        hl.copy_from_slice(&map[24..32]);
        let header_end = usize::try_from(u64::from_le_bytes(hl))
            .ok()
            .and_then(|h| h.checked_add(PRELUDE))
            .filter(|&e| e <= n - TRAILER)
            .ok_or_else(|| bad("header length out of bounds"))?;
        let data_start = header_end.div_ceil(DATA_ALIGN) * DATA_ALIGN;
        let dtype = u32at(16);
        Ok(Self {
            map: Arc::new(map),
            path: path.into(),
            pos: PRELUDE,
            header_end,
            data_start,
            dtype,
        })
    }

    fn corrupt(&self, r: String) -> Error {
        Error::Corrupt {
            path: self.path.clone(),
            reason: r,
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next u64 field.
    pub fn u64(&mut self) -> Result<u64> {
        if self.pos + 8 > self.header_end {
            return Err(self.corrupt("header ends early".into()));
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.map[self.pos..self.pos + 8]);
        self.pos += 8;
        Ok(u64::from_le_bytes(b))
    }

    /// The next usize field, at most `max` (a sanity bound against corrupt sizes).
    pub fn usize(&mut self, max: usize) -> Result<usize> {
        let x = self.u64()?;
        usize::try_from(x)
            .ok()
            .filter(|&v| v <= max)
            .ok_or_else(|| self.corrupt(format!("field value {x} above its bound {max}")))
    }

    /// The next f64 field.
    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(self.u64()?))
    }

    fn range<T: Pod>(&mut self) -> Result<(usize, usize)> {
        let (off, len) = (self.u64()?, self.u64()?);
        let sz = std::mem::size_of::<T>();
        let start = usize::try_from(off)
            .ok()
            .and_then(|o| o.checked_add(self.data_start));
        let end = start
            .zip(usize::try_from(len).ok())
            .and_then(|(s, l)| s.checked_add(l));
        match (start, end) {
            (Some(s), Some(e))
                if e <= self.map.len() - TRAILER
                    && (e - s) % sz == 0
                    && s % std::mem::align_of::<T>() == 0 =>
            {
                Ok((s, (e - s) / sz))
            }
            _ => Err(self.corrupt(format!(
                "array at {off} (+{len} bytes) out of bounds or misaligned"
            ))),
        }
    }

    /// The next array, borrowed from the map.
    pub fn array<T: Pod>(&mut self) -> Result<&[T]> {
        let (s, n) = self.range::<T>()?;
        from_bytes(&self.map[s..s + n * std::mem::size_of::<T>()])
            .ok_or_else(|| self.corrupt("misaligned array".into()))
    }

    /// The next array as an owned vector.
    pub fn vec<T: Pod>(&mut self) -> Result<Vec<T>> {
        Ok(self.array::<T>()?.to_vec())
    }

    /// The next array as a slow-tier chunk mapped in place (no copy).
    pub fn chunk<T: Pod>(&mut self) -> Result<Chunk<T>> {
        let (s, n) = self.range::<T>()?;
        Chunk::mapped(self.map.clone(), s, n, &self.path)
    }

    /// Check that the whole header was read.
    pub fn done(&self) -> Result<()> {
        if self.pos != self.header_end {
            return Err(self.corrupt(format!(
                "{} unread header bytes",
                self.header_end - self.pos
            )));
        }
        Ok(())
    }
}
