//! Synthetic attention captures with the structure real post-RoPE activations have:
//!
//! - keys: a per-head bias with two "massive" channels (why the index mean-centres), a topic
//!   vector that changes in runs of 32–512 tokens (position-correlated clusters), a slow random
//!   walk (drift), noise — the last three scaled up with the RoPE wavelength of their
//!   dimension, as real keys keep their energy in slowly rotating pairs; then RoPE at the
//!   token's position (NEOX halves, base 10⁶ as in Qwen2.5);
//! - values: a per-topic mean plus noise;
//! - queries: out of the keys' distribution — a random mixing of a target topic plus a fixed
//!   bias direction, then RoPE; each query head of a group has its own mixing;
//! - an attention sink at position 0 (along the queries' bias);
//! - needles: a few keys in the middle of the context set (post-RoPE) along the group's decode
//!   queries, with distinctive values, so that missing them shows in the output.

use super::Capture;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct SynthSpec {
    /// Layers.
    pub n_layers: usize,
    /// Query heads.
    pub hq: usize,
    /// KV heads.
    pub hk: usize,
    /// Head dim (even).
    pub d: usize,
    /// Tokens.
    pub n: usize,
    /// First decode position (needles align with the queries from here on).
    pub decode_from: usize,
    /// Needle keys per kv head.
    pub needles: usize,
    /// Seed.
    pub seed: u64,
    /// Apply RoPE (off: a friendlier, position-free geometry).
    pub rope: bool,
}

struct Rng(u64);

impl Rng {
    fn u(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f32 {
        let (a, b) = (self.u().max(1e-12), self.u());
        ((-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()) as f32
    }
    fn vec(&mut self, n: usize, s: f32) -> Vec<f32> {
        (0..n).map(|_| self.gauss() * s).collect()
    }
}

fn rope(x: &mut [f32], pos: usize) {
    let d = x.len();
    let h = d / 2;
    for i in 0..h {
        let th = pos as f64 * 1_000_000f64.powf(-2.0 * i as f64 / d as f64);
        let (s, c) = th.sin_cos();
        let (a, b) = (x[i] as f64, x[i + h] as f64);
        x[i] = (a * c - b * s) as f32;
        x[i + h] = (a * s + b * c) as f32;
    }
}

/// Generate a capture (module docs).
pub fn synthetic(sp: &SynthSpec) -> Capture {
    let (n, d, hq, hk) = (sp.n, sp.d, sp.hq, sp.hk);
    let g = hq / hk;
    let mut r = Rng(sp.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (mut qs, mut ks, mut vs) = (Vec::new(), Vec::new(), Vec::new());
    for _layer in 0..sp.n_layers {
        let mut q = vec![0.0f32; n * hq * d];
        let mut k = vec![0.0f32; n * hk * d];
        let mut v = vec![0.0f32; n * hk * d];
        for h in 0..hk {
            let n_topics = 256;
            let topics = r.vec(n_topics * d, 1.0);
            let vmeans = r.vec(n_topics * d, 0.7);
            let mut bias = r.vec(d, 0.5);
            // Massive channels sit in slowly rotating (low-frequency) pairs, as in real models.
            bias[d / 2 - 2] += 8.0;
            bias[d - 3] -= 6.0;
            let qbias = r.vec(d, 0.6);
            // Heads of a group share most of their query projection (shared mixing + a small
            // per-head part).
            let shared = r.vec(d * d, 0.5 / (d as f32).sqrt());
            let mix: Vec<Vec<f32>> = (0..g)
                .map(|_| {
                    r.vec(d * d, 0.15 / (d as f32).sqrt())
                        .iter()
                        .zip(&shared)
                        .map(|(a, b)| a + b)
                        .collect()
                })
                .collect();
            // Real post-RoPE keys keep most of their energy in the slowly rotating (low-frequency)
            // pairs; the fast ones are small. Amplitude per dimension by rotation frequency:
            let amp: Vec<f32> = (0..d)
                .map(|i| 0.15 + 0.85 * (i % (d / 2)) as f32 / (d / 2 - 1) as f32)
                .collect();
            let mut drift = vec![0.0f32; d];
            let (mut run_left, mut topic) = (0usize, 0usize);
            let mut topic_at = vec![0usize; n];
            for t in 0..n {
                if run_left == 0 {
                    run_left = 16 + (r.u() * 112.0) as usize;
                    topic = (r.u() * n_topics as f64) as usize % n_topics;
                }
                run_left -= 1;
                topic_at[t] = topic;
                for x in drift.iter_mut() {
                    *x = 0.99 * *x + 0.15 * r.gauss();
                }
                let mut key: Vec<f32> = (0..d)
                    .map(|i| {
                        bias[i] + amp[i] * (topics[topic * d + i] + drift[i] + 0.6 * r.gauss())
                    })
                    .collect();
                if sp.rope {
                    rope(&mut key, t);
                }
                k[(t * hk + h) * d..(t * hk + h + 1) * d].copy_from_slice(&key);
                for i in 0..d {
                    v[(t * hk + h) * d + i] = vmeans[topic * d + i] + 0.8 * r.gauss();
                }
                // Queries look for a topic seen earlier (or a random one), mixed out of the key
                // distribution.
                let target = topic_at[(r.u() * (t + 1) as f64) as usize % (t + 1)];
                for j in 0..g {
                    let mut qv: Vec<f32> = (0..d)
                        .map(|i| {
                            let mixed: f32 = (0..d)
                                .map(|l| mix[j][i * d + l] * topics[target * d + l])
                                .sum();
                            2.5 * amp[i] * (1.2 * topics[target * d + i] + mixed + 0.4 * r.gauss())
                                + qbias[i]
                        })
                        .collect();
                    if sp.rope {
                        rope(&mut qv, t);
                    }
                    q[t * hq * d + (h * g + j) * d..t * hq * d + (h * g + j + 1) * d]
                        .copy_from_slice(&qv);
                }
            }
            // An attention sink at position 0 (RoPE is the identity there): along the queries'
            // common bias, so every query gives it a high score, as in real models.
            let qn = qbias.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
            for i in 0..d {
                k[h * d + i] = qbias[i] / qn * 1.5 * (d as f32).sqrt();
            }
            // Needles: post-RoPE keys along the group's first decode query, distinctive values.
            let t0 = sp.decode_from.min(n - 1);
            let mut dir = vec![0.0f32; d];
            for j in 0..g {
                for i in 0..d {
                    dir[i] += q[t0 * hq * d + (h * g + j) * d + i];
                }
            }
            let norm = dir.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
            for _ in 0..sp.needles {
                let p = 200 + (r.u() * (t0.saturating_sub(600)) as f64) as usize;
                for i in 0..d {
                    k[(p * hk + h) * d + i] = dir[i] / norm * 2.2 * (d as f32).sqrt();
                    v[(p * hk + h) * d + i] = 3.0 * r.gauss();
                }
            }
        }
        qs.push(q);
        ks.push(k);
        vs.push(v);
    }
    Capture {
        n_layers: sp.n_layers,
        hq,
        hk,
        d,
        n,
        q: qs,
        k: ks,
        v: vs,
    }
}
