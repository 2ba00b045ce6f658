use vkv_model::gguf::GgufFile;
use vkv_model::*;
fn main() -> Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| Error::Config("usage: smoke MODEL.gguf".into()))?;
    let g = GgufFile::open(std::path::Path::new(&path))?;
    for (k, v) in g.metadata() {
        let s = format!("{v:?}");
        println!("{k} = {}", &s[..s.len().min(150)]);
    }
    let mut types = std::collections::BTreeMap::new();
    for t in g.tensors() {
        *types.entry(t.type_id).or_insert(0) += 1;
    }
    println!("types {types:?}");
    let c = ModelConfig::from_gguf(&g)?;
    println!("{c:?}");
    let t0 = std::time::Instant::now();
    let w = weights::Weights::load(&g, &c)?;
    let m = Transformer {
        config: c.clone(),
        weights: w,
    };
    println!("load {:?}", t0.elapsed());
    let names = g
        .get("tokenizer.ggml.tokens")
        .and_then(|v| v.as_array())
        .ok_or_else(|| Error::Config("no tokenizer.ggml.tokens".into()))?;
    let vocab: Vec<String> = names
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    let toks: Vec<u32> = ["The", "Ġcapital", "Ġof", "ĠFrance", "Ġis"]
        .iter()
        .filter_map(|w| vocab.iter().position(|s| s == w).map(|i| i as u32))
        .collect();
    println!("toks {toks:?}");
    let mut kv = vkv_kv::DenseKv::new(c.attn(4096), vkv_kv::KvDtype::F16)?;
    let t0 = std::time::Instant::now();
    let lg = m.forward(&toks, &mut kv, vkv_kv::Phase::Prefill, Logits::All)?;
    println!("fwd {:?}", t0.elapsed());
    for i in 0..toks.len() {
        let r = lg.row(i)?;
        let a = vkv_kernels::ops::argmax(r);
        println!("{i}: {:?} {}", names[a], r[a]);
    }
    Ok(())
}
