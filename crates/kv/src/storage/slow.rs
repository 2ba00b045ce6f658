//! The slow tier: cluster records of one (layer, kv head), in RAM or in a memory-mapped file.
//!
//! A [`SlowStore`] is a list of [`Chunk`]s in append order (the prompt's index, then one per
//! index update); its element space is their concatenation, and a record never straddles two
//! chunks. A chunk is a `Vec` in RAM, or a read-only mapping of a file region: a [`SlowFile`]
//! scratch file (created in a directory and unlinked at once, so nothing is left behind) or a
//! saved context mapped in place. Mapped records are read without a copy; the OS pages them in
//! on demand and may drop them again, which is what lets a context larger than RAM run.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use memmap2::{Advice, Mmap, MmapOptions};

use super::pod::{as_bytes, from_bytes, Pod};
use crate::{Error, Result};

/// Alignment of appended regions (a page: maps start page-aligned).
const ALIGN: u64 = 4096;

/// An append-only scratch file for slow-tier chunks.
#[derive(Debug)]
pub struct SlowFile {
    file: Mutex<(File, u64)>,
    path: PathBuf,
}

impl SlowFile {
    /// Create a scratch file in `dir` and unlink it (it lives as long as its handle and maps).
    pub fn create(dir: &Path) -> Result<Arc<Self>> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let path = dir.join(format!(
            "vkv-wave-{}-{}.slow",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io("create slow tier", &path, e))?;
        // Unlinking an open file keeps its data reachable through the handle (POSIX). Where it
        // fails (Windows), the file stays until removed by hand.
        let _ = std::fs::remove_file(&path);
        Ok(Arc::new(Self {
            file: Mutex::new((file, 0)),
            path,
        }))
    }

    /// Write `data` at the next page-aligned offset and map it read-only.
    pub fn append<E: Pod>(&self, data: &[E]) -> Result<Chunk<E>> {
        if data.is_empty() {
            return Ok(Chunk::Ram(Vec::new()));
        }
        let bytes = as_bytes(data);
        let mut g = self
            .file
            .lock()
            .map_err(|_| Error::Config("slow tier lock poisoned".into()))?;
        let off = g.1.div_ceil(ALIGN) * ALIGN;
        let io = |e| Error::io("write slow tier", &self.path, e);
        g.0.seek(SeekFrom::Start(off)).map_err(io)?;
        g.0.write_all(bytes).map_err(io)?;
        g.1 = off + bytes.len() as u64;
        // SAFETY: the region was just written and is never written again (appends go past it);
        // the file is unlinked, so no other process can modify it behind the map.
        let map = unsafe { MmapOptions::new().offset(off).len(bytes.len()).map(&g.0) }
            .map_err(|e| Error::io("map slow tier", &self.path, e))?;
        Chunk::mapped(Arc::new(map), 0, data.len(), &self.path)
    }
}

/// One run of records.
#[derive(Debug)]
pub enum Chunk<E> {
    /// In RAM.
    Ram(Vec<E>),
    /// A region of a memory map: `len` elements at byte `offset`.
    Map {
        /// The mapping.
        map: Arc<Mmap>,
        /// Byte offset in the mapping (aligned for E).
        offset: usize,
        /// Elements.
        len: usize,
    },
}

impl<E: Pod> Chunk<E> {
    /// A mapped chunk, checked for bounds and alignment (`path` names the file in errors).
    pub fn mapped(map: Arc<Mmap>, offset: usize, len: usize, path: &Path) -> Result<Self> {
        let nbytes = len * std::mem::size_of::<E>();
        let ok = offset
            .checked_add(nbytes)
            .is_some_and(|end| end <= map.len())
            && from_bytes::<E>(&map[offset..offset + nbytes]).is_some();
        if !ok {
            return Err(Error::Corrupt {
                path: path.to_path_buf(),
                reason: format!(
                    "slow-tier region at {offset} (+{nbytes} bytes) is out of bounds or misaligned"
                ),
            });
        }
        Ok(Self::Map { map, offset, len })
    }

    /// The elements.
    pub fn as_slice(&self) -> &[E] {
        match self {
            Self::Ram(v) => v,
            // Bounds and alignment were checked in `mapped`.
            Self::Map { map, offset, len } => {
                from_bytes(&map[*offset..*offset + len * std::mem::size_of::<E>()]).unwrap_or(&[])
            }
        }
    }

    /// Elements held.
    pub fn len(&self) -> usize {
        match self {
            Self::Ram(v) => v.len(),
            Self::Map { len, .. } => *len,
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the chunk is a file mapping.
    pub fn is_mapped(&self) -> bool {
        matches!(self, Self::Map { .. })
    }
}

/// One (layer, kv head)'s records: chunks in append order.
#[derive(Debug)]
pub struct SlowStore<E> {
    chunks: Vec<Chunk<E>>,
    bases: Vec<usize>,
    len: usize,
    /// Bumped by every push and truncate: what a cluster id's record range means changes.
    generation: u64,
}

impl<E> Default for SlowStore<E> {
    fn default() -> Self {
        Self {
            chunks: Vec::new(),
            bases: Vec::new(),
            len: 0,
            generation: 0,
        }
    }
}

impl<E: Pod> SlowStore<E> {
    /// Append a chunk.
    pub fn push(&mut self, c: Chunk<E>) {
        self.bases.push(self.len);
        self.len += c.len();
        self.chunks.push(c);
        self.generation += 1;
    }

    /// Changes whenever chunks are added or removed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// True when some chunk is a mapped file range.
    pub fn has_mapped(&self) -> bool {
        self.chunks.iter().any(Chunk::is_mapped)
    }

    /// Elements held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The chunks, in order.
    pub fn chunks(&self) -> &[Chunk<E>] {
        &self.chunks
    }

    fn locate(&self, start: usize, len: usize) -> Result<(usize, usize)> {
        let k = self
            .bases
            .partition_point(|&b| b <= start)
            .saturating_sub(1);
        let off = start.checked_sub(*self.bases.get(k).unwrap_or(&0));
        match (off, self.chunks.get(k)) {
            (Some(o), Some(c)) if o + len <= c.len() => Ok((k, o)),
            _ => Err(Error::Shape(format!(
                "slow tier: range {start}+{len} outside its {} elements or across chunks",
                self.len
            ))),
        }
    }

    /// Elements `start .. start + len` (one record).
    pub fn get(&self, start: usize, len: usize) -> Result<&[E]> {
        if len == 0 {
            return Ok(&[]);
        }
        let (k, o) = self.locate(start, len)?;
        Ok(&self.chunks[k].as_slice()[o..o + len])
    }

    /// Ask the OS to start reading a mapped range (no effect in RAM). Lets page-ins of missed
    /// clusters overlap the estimation and steady zones' compute.
    pub fn prefetch(&self, start: usize, len: usize) {
        if let Ok((k, o)) = self.locate(start, len) {
            if let Chunk::Map { map, offset, .. } = &self.chunks[k] {
                let sz = std::mem::size_of::<E>();
                let _ = map.advise_range(Advice::WillNeed, offset + o * sz, len * sz);
            }
        }
    }

    /// Keep the first `n` elements; `n` must be a chunk boundary.
    pub fn truncate(&mut self, n: usize) -> Result<()> {
        if n >= self.len {
            return Ok(());
        }
        let k = self.bases.partition_point(|&b| b < n);
        if self.bases.get(k).is_some_and(|&b| b != n) || (k == self.bases.len()) {
            return Err(Error::Shape(format!(
                "slow tier: {n} is not a chunk boundary"
            )));
        }
        self.chunks.truncate(k);
        self.bases.truncate(k);
        self.len = n;
        self.generation += 1;
        Ok(())
    }

    /// Bytes held in RAM chunks and in mapped chunks: `(ram, mapped)`.
    pub fn bytes(&self) -> (usize, usize) {
        let sz = std::mem::size_of::<E>();
        let ram = self
            .chunks
            .iter()
            .filter(|c| !c.is_mapped())
            .map(|c| c.len() * sz)
            .sum();
        (ram, self.len * sz - ram)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_and_file_chunks() -> Result<()> {
        let f = SlowFile::create(&std::env::temp_dir())?;
        let mut s = SlowStore::<f32>::default();
        s.push(Chunk::Ram(vec![1.0, 2.0, 3.0]));
        s.push(f.append(&[4.0f32, 5.0])?);
        s.push(f.append(&[6.0f32; 1500])?); // crosses a page
        assert_eq!(s.len(), 1505);
        assert_eq!(s.get(1, 2)?, &[2.0, 3.0]);
        assert_eq!(s.get(3, 2)?, &[4.0, 5.0]);
        assert!(s.get(2, 2).is_err(), "a range across chunks is refused");
        assert_eq!(s.get(1504, 1)?, &[6.0]);
        assert_eq!(s.bytes(), (12, 1502 * 4));
        assert!(s.has_mapped());
        s.prefetch(5, 100);
        let g = s.generation();
        assert!(s.truncate(4).is_err());
        assert_eq!(s.generation(), g, "a refused truncate changes nothing");
        s.truncate(3)?;
        assert_eq!((s.len(), s.chunks().len()), (3, 1));
        assert!(!s.has_mapped() && s.generation() > g);
        assert!(s.get(3, 1).is_err());
        Ok(())
    }
}
