//! Rotary position embedding.
//!
//! Two conventions exist and both are needed:
//! - [`RopeStyle::Interleaved`] rotates adjacent pairs `(x[2i], x[2i+1])`. GGUF llama models use
//!   it, because llama.cpp's converter permutes the Q/K rows of HF checkpoints.
//! - [`RopeStyle::Neox`] rotates `(x[i], x[i + d/2])`: Qwen2 in GGUF, and every HF safetensors
//!   checkpoint (unpermuted).
//!
//! Frequencies: θ_i = pos · base^(−2i/d), computed as ggml computes them (f32, θ multiplied by
//! `base^(−2/d)` once per pair), so that angles match llama.cpp's to the last bit.

use crate::{Error, Result};

/// Which elements a rotation pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    /// Adjacent pairs (llama.cpp mode 0).
    Interleaved,
    /// Half-split pairs (llama.cpp mode 2, NEOX).
    Neox,
}

/// cos/sin of the rotation angles for a list of positions: computed once per forward pass,
/// applied to Q and K of every layer.
#[derive(Debug, Clone)]
pub struct RopeCache {
    style: RopeStyle,
    half: usize,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl RopeCache {
    /// Angles for `positions`, head dim `d` (even), base `theta`.
    pub fn new(style: RopeStyle, d: usize, theta: f32, positions: &[usize]) -> Result<Self> {
        if d == 0 || !d.is_multiple_of(2) {
            return Err(Error::Shape(format!("rope head dim {d} must be even")));
        }
        let half = d / 2;
        let mut cos = Vec::with_capacity(positions.len() * half);
        let mut sin = Vec::with_capacity(positions.len() * half);
        let theta_scale = theta.powf(-2.0 / d as f32);
        for &p in positions {
            let mut a = p as f32;
            for _ in 0..half {
                cos.push(a.cos());
                sin.push(a.sin());
                a *= theta_scale;
            }
        }
        Ok(Self {
            style,
            half,
            cos,
            sin,
        })
    }

    /// Rotate `x: [n_tok, n_heads, d]` in place; token t uses the t-th position given to `new`.
    pub fn apply(&self, x: &mut [f32], n_heads: usize) -> Result<()> {
        let d = 2 * self.half;
        let n_tok = self.cos.len() / self.half.max(1);
        if x.len() != n_tok * n_heads * d {
            return Err(Error::Shape(format!(
                "rope: x {} for {n_tok} tokens x {n_heads} heads x {d}",
                x.len()
            )));
        }
        for (t, tok) in x.chunks_exact_mut(n_heads * d).enumerate() {
            let c = &self.cos[t * self.half..(t + 1) * self.half];
            let s = &self.sin[t * self.half..(t + 1) * self.half];
            for head in tok.chunks_exact_mut(d) {
                match self.style {
                    RopeStyle::Interleaved => {
                        for i in 0..self.half {
                            let (a, b) = (head[2 * i], head[2 * i + 1]);
                            head[2 * i] = a * c[i] - b * s[i];
                            head[2 * i + 1] = a * s[i] + b * c[i];
                        }
                    }
                    RopeStyle::Neox => {
                        let (lo, hi) = head.split_at_mut(self.half);
                        for i in 0..self.half {
                            let (a, b) = (lo[i], hi[i]);
                            lo[i] = a * c[i] - b * s[i];
                            hi[i] = a * s[i] + b * c[i];
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rotations preserve norms, position 0 is the identity, and the two styles agree after
    /// the permutation that llama.cpp's converter applies.
    #[test]
    fn rope_properties() -> Result<()> {
        let d = 8;
        let x: Vec<f32> = (0..d).map(|i| (i as f32 * 0.37).sin()).collect();
        let r0 = RopeCache::new(RopeStyle::Neox, d, 10000.0, &[0])?;
        let mut y = x.clone();
        r0.apply(&mut y, 1)?;
        assert_eq!(x, y);
        let r = RopeCache::new(RopeStyle::Neox, d, 10000.0, &[17])?;
        let mut y = x.clone();
        r.apply(&mut y, 1)?;
        let n = |v: &[f32]| v.iter().map(|a| a * a).sum::<f32>();
        assert!((n(&x) - n(&y)).abs() < 1e-5);
        // Interleave x: neox pair (i, i+h) becomes interleaved pair (2i, 2i+1).
        let h = d / 2;
        let xi: Vec<f32> = (0..d)
            .map(|j| if j % 2 == 0 { x[j / 2] } else { x[h + j / 2] })
            .collect();
        let ri = RopeCache::new(RopeStyle::Interleaved, d, 10000.0, &[17])?;
        let mut yi = xi.clone();
        ri.apply(&mut yi, 1)?;
        for i in 0..h {
            assert!((yi[2 * i] - y[i]).abs() < 1e-6 && (yi[2 * i + 1] - y[h + i]).abs() < 1e-6);
        }
        Ok(())
    }
}
