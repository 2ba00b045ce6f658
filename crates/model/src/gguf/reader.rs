//! The bounds-checked GGUF header parser. Errors are plain messages; the caller adds the path.

use std::collections::BTreeMap;

use super::{TensorInfo, Value};

pub(super) struct Parsed {
    pub version: u32,
    pub metadata: BTreeMap<String, Value>,
    pub tensors: Vec<TensorInfo>,
    pub data_start: usize,
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

type R<T> = std::result::Result<T, String>;

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.b.len()).ok_or_else(|| {
            format!("unexpected end of file at byte {} (needed {n} more bytes): the file is truncated or corrupt", self.pos)
        })?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self) -> R<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn u32(&mut self) -> R<u32> {
        Ok(u32::from_le_bytes(self.arr()?))
    }
    fn u64(&mut self) -> R<u64> {
        Ok(u64::from_le_bytes(self.arr()?))
    }
    fn len(&mut self, what: &str) -> R<usize> {
        let n = self.u64()?;
        let left = (self.b.len() - self.pos) as u64;
        if n > left {
            return Err(format!("{what} length {n} exceeds the {left} bytes left in the file: the file is truncated or corrupt"));
        }
        Ok(n as usize)
    }
    fn string(&mut self) -> R<String> {
        let n = self.len("string")?;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }

    fn value(&mut self, ty: u32, depth: usize) -> R<Value> {
        Ok(match ty {
            0 => Value::U64(self.arr::<1>()?[0] as u64),
            1 => Value::I64(self.arr::<1>()?[0] as i8 as i64),
            2 => Value::U64(u16::from_le_bytes(self.arr()?) as u64),
            3 => Value::I64(i16::from_le_bytes(self.arr()?) as i64),
            4 => Value::U64(self.u32()? as u64),
            5 => Value::I64(i32::from_le_bytes(self.arr()?) as i64),
            6 => Value::F64(f32::from_le_bytes(self.arr()?) as f64),
            7 => Value::Bool(self.arr::<1>()?[0] != 0),
            8 => Value::Str(self.string()?),
            9 => {
                if depth > 2 {
                    return Err("metadata arrays nested too deeply".into());
                }
                let ety = self.u32()?;
                let n = self.len("array")?;
                let mut v = Vec::with_capacity(n.min(1 << 20));
                for _ in 0..n {
                    v.push(self.value(ety, depth + 1)?);
                }
                Value::Array(v)
            }
            10 => Value::U64(self.u64()?),
            11 => Value::I64(i64::from_le_bytes(self.arr()?)),
            12 => Value::F64(f64::from_le_bytes(self.arr()?)),
            other => return Err(format!("unknown metadata value type {other}")),
        })
    }
}

pub(super) fn parse(b: &[u8]) -> R<Parsed> {
    let mut c = Cursor { b, pos: 0 };
    let magic = c
        .take(4)
        .map_err(|_| "file is too short to be GGUF".to_string())?;
    if magic != b"GGUF" {
        return Err(format!(
            "not a GGUF file (magic {magic:02x?}, expected \"GGUF\")"
        ));
    }
    let version = c.u32()?;
    if !(2..=3).contains(&version) {
        return Err(format!(
            "unsupported GGUF version {version} (supported: 2, 3)"
        ));
    }
    let n_tensors = c.u64()?;
    let n_kv = c.u64()?;
    if n_tensors > 1 << 24 || n_kv > 1 << 24 {
        return Err(format!(
            "implausible header: {n_tensors} tensors, {n_kv} metadata entries"
        ));
    }
    let mut metadata = BTreeMap::new();
    for _ in 0..n_kv {
        let key = c.string()?;
        let ty = c.u32()?;
        let v = c.value(ty, 0).map_err(|e| format!("metadata {key}: {e}"))?;
        metadata.insert(key, v);
    }
    let mut tensors = Vec::with_capacity(n_tensors as usize);
    for _ in 0..n_tensors {
        let name = c.string()?;
        let n_dims = c.u32()?;
        if n_dims == 0 || n_dims > 4 {
            return Err(format!("tensor {name}: {n_dims} dimensions"));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(c.u64()?);
        }
        if dims
            .iter()
            .try_fold(1u64, |a, d| a.checked_mul(*d))
            .is_none()
        {
            return Err(format!("tensor {name}: dimensions {dims:?} overflow"));
        }
        let type_id = c.u32()?;
        let offset = c.u64()?;
        tensors.push(TensorInfo {
            name,
            dims,
            type_id,
            offset,
        });
    }
    let align = metadata
        .get("general.alignment")
        .and_then(Value::as_u64)
        .unwrap_or(32);
    if align == 0 || !align.is_power_of_two() {
        return Err(format!("general.alignment {align} is not a power of two"));
    }
    let data_start = c.pos.div_ceil(align as usize) * align as usize;
    for t in &tensors {
        if t.offset % align != 0 {
            return Err(format!(
                "tensor {} offset {} is not aligned to {align}",
                t.name, t.offset
            ));
        }
    }
    Ok(Parsed {
        version,
        metadata,
        tensors,
        data_start,
    })
}
