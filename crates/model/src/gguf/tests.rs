//! GGUF reader tests on files written by a tiny in-test writer: round trip, truncation, bad
//! magic, unknown types.

use std::io::Write;

use super::*;

/// Writes a GGUF v3 with the given metadata and tensors `(name, dims, type id, bytes)`.
pub(crate) fn write_gguf(
    path: &Path,
    kv: &[(&str, Value)],
    tensors: &[(&str, Vec<u64>, u32, Vec<u8>)],
) -> std::io::Result<()> {
    let ts: Vec<super::writer::TensorData> = tensors
        .iter()
        .map(|(n, d, t, b)| super::writer::TensorData {
            name: n.to_string(),
            dims: d.clone(),
            type_id: *t,
            data: b.clone(),
        })
        .collect();
    std::fs::File::create(path)?.write_all(&super::writer::to_bytes(kv, &ts))
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vkv-gguf-test-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&d);
    d.join(name)
}

#[test]
fn round_trip() -> Result<()> {
    let p = tmp("ok.gguf");
    let w: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
    write_gguf(
        &p,
        &[
            ("general.architecture", Value::Str("llama".into())),
            ("llama.block_count", Value::U64(2)),
            (
                "x.list",
                Value::Array(vec![Value::Str("a".into()), Value::Str("b".into())]),
            ),
        ],
        &[
            ("w", vec![4, 3], 0, f32_bytes(&w)),
            ("n", vec![4], 0, f32_bytes(&[1.0, 2.0, 3.0, 4.0])),
        ],
    )
    .map_err(|e| Error::io(&p, e))?;
    let g = GgufFile::open(&p)?;
    assert_eq!(g.get_str("general.architecture")?, "llama");
    assert_eq!(g.get_u64("llama.block_count")?, 2);
    assert_eq!(
        g.get("x.list").and_then(Value::as_array).map(|a| a.len()),
        Some(2)
    );
    let m = g.matrix("w")?;
    assert_eq!((m.rows(), m.cols()), (3, 4));
    assert_eq!(m.dequantize()?, w);
    assert_eq!(g.vector_f32("n")?, vec![1.0, 2.0, 3.0, 4.0]);
    assert!(g.matrix("missing").is_err());
    Ok(())
}

#[test]
fn corrupt_files_are_clear_errors() -> Result<()> {
    let p = tmp("full.gguf");
    write_gguf(
        &p,
        &[("a", Value::U64(1))],
        &[("w", vec![32, 8], 0, f32_bytes(&[0.5; 256]))],
    )
    .map_err(|e| Error::io(&p, e))?;
    let full = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
    // Truncated anywhere: in the header, in the tensor table, in the data.
    for cut in [3, 10, 30, 60, full.len() - 100, full.len() - 1] {
        let q = tmp(&format!("cut{cut}.gguf"));
        std::fs::write(&q, &full[..cut]).map_err(|e| Error::io(&q, e))?;
        let e = GgufFile::open(&q)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("truncated") || e.contains("too short") || e.contains("end of file"),
            "cut {cut}: {e}"
        );
    }
    let q = tmp("magic.gguf");
    let mut bad = full.clone();
    bad[0] = b'X';
    std::fs::write(&q, &bad).map_err(|e| Error::io(&q, e))?;
    assert!(GgufFile::open(&q)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
        .contains("not a GGUF"));
    // Unknown tensor type: opening works (metadata readers need it), loading the tensor fails clearly.
    let q = tmp("type.gguf");
    write_gguf(&q, &[], &[("w", vec![32], 16, vec![0; 64])]).map_err(|e| Error::io(&q, e))?;
    let g = GgufFile::open(&q)?;
    let e = g
        .matrix("w")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("unsupported tensor type IQ2_XXS"), "{e}");
    Ok(())
}
