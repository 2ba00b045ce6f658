//! Exact attention of one decode query (a GQA group of `g` heads) over several disjoint runs of
//! tokens ("segments"), each read in place: a steady zone, and cluster records straight from
//! the fast-tier cache or the slow tier. One softmax spans all segments, so the result is the
//! exact attention over their union, with its LSE.
//!
//! A segment's keys are in the blocked layout of [`vkv_kernels::attention::layout`] for its
//! first `n_blocked` tokens and a ragged block (dimension-major, < 16 tokens) for the rest
//! (cluster records, see [`crate::index::cluster::record`]); values are token-major. Blocks go
//! through the kernels' SIMD score micro-kernel, the ragged block through its masked-load
//! variant (read in place: no conversion or padding copy), and P·V through the SIMD P·V
//! micro-kernel, segment by segment.

use vkv_kernels::attention::micro::{self, SimdElem};
use vkv_kernels::cpu::prefetch;

use crate::{Error, Result};

/// One run of tokens.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a, E> {
    /// Keys of the first `n_blocked` tokens, blocked layout (`⌈n_blocked/16⌉` whole blocks).
    pub keys_blocked: &'a [E],
    /// Tokens whose keys are blocked.
    pub n_blocked: usize,
    /// Keys of the remaining `m = n − n_blocked` (< 16) tokens as a ragged block,
    /// dimension-major `[d, m]`.
    pub keys_tail: &'a [E],
    /// Values of all `n` tokens, token-major `[n, d]`.
    pub values: &'a [E],
    /// Tokens.
    pub n: usize,
}

/// How many segments ahead of use their records are prefetched (one record is a few KiB at a
/// random address; computing on one takes less time than fetching the next from DRAM).
const PREFETCH_AHEAD: usize = 3;

/// Reusable buffers of [`attend_segments`] (scores grow to the largest call).
#[derive(Debug, Default)]
pub struct SegmentScratch {
    qs: Vec<f32>,
    s: Vec<f32>,
    o: Vec<f32>,
    /// Per query head: the running max and the softmax sum.
    ml: Vec<(f32, f32)>,
}

impl SegmentScratch {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        (self.qs.capacity() + self.s.capacity() + self.o.capacity() + 2 * self.ml.capacity()) * 4
    }
}

/// Exact attention of `q: [g, d]` over the union of `segs`. Writes `out: [g, d]` and
/// `lse: [g]` (natural log; `−∞` and zeros when the segments hold no token).
#[allow(clippy::too_many_arguments)]
pub fn attend_segments<E: SimdElem>(
    q: &[f32],
    g: usize,
    d: usize,
    scale: f32,
    segs: &[Segment<'_, E>],
    sc: &mut SegmentScratch,
    out: &mut [f32],
    lse: &mut [f32],
) -> Result<()> {
    if d == 0 || q.len() < g * d || out.len() < g * d || lse.len() < g {
        return Err(Error::Shape(format!(
            "segment attention: q {} out {} lse {} for g {g} d {d}",
            q.len(),
            out.len(),
            lse.len()
        )));
    }
    for s in segs {
        let nt = s.n.saturating_sub(s.n_blocked);
        if s.n_blocked > s.n
            || s.keys_blocked.len() < s.n_blocked.div_ceil(16) * 16 * d
            || s.keys_tail.len() < nt * d
            || s.values.len() < s.n * d
        {
            return Err(Error::Shape(format!(
                "segment of {} tokens ({} blocked): keys {}+{} values {}",
                s.n,
                s.n_blocked,
                s.keys_blocked.len(),
                s.keys_tail.len(),
                s.values.len()
            )));
        }
    }
    let total: usize = segs.iter().map(|s| s.n).sum();
    out[..g * d].fill(0.0);
    if total == 0 {
        lse[..g].fill(f32::NEG_INFINITY);
        return Ok(());
    }
    // Scores in base 2: q pre-multiplied by scale·log₂e. 16 slack columns absorb the partial
    // last block of a segment (overwritten by the next segment, never read).
    let ld = total + 16;
    sc.qs.clear();
    sc.qs.extend(
        q[..g * d]
            .iter()
            .map(|x| x * scale * std::f32::consts::LOG2_E),
    );
    // Every score read below is written first: grow without clearing.
    if sc.s.len() < g * ld {
        sc.s.resize(g * ld, 0.0);
    }
    for seg in segs.iter().take(PREFETCH_AHEAD) {
        prefetch(seg.keys_blocked);
        prefetch(seg.keys_tail);
    }
    let mut pos = 0;
    for (i, seg) in segs.iter().enumerate() {
        // Records sit at random addresses: start the keys of one a few ahead on their way.
        if let Some(next) = segs.get(i + PREFETCH_AHEAD) {
            prefetch(next.keys_blocked);
            prefetch(next.keys_tail);
        }
        if seg.n_blocked > 0 {
            let nb = seg.n_blocked.div_ceil(16);
            micro::scores::<E>(&sc.qs, g, d, seg.keys_blocked, nb, &mut sc.s[pos..], ld);
        }
        let nt = seg.n - seg.n_blocked;
        if nt > 0 {
            // The ragged block (< 16 keys, dimension-major) in place, by masked loads. Its
            // 16 − nt zero scores land in the slack or under the next segment's scores.
            micro::scores_ragged::<E>(
                &sc.qs,
                g,
                d,
                &seg.keys_tail[..nt * d],
                nt,
                &mut sc.s[pos + seg.n_blocked..],
                ld,
            );
        }
        pos += seg.n;
    }
    sc.ml.clear();
    for h in 0..g {
        let row = &mut sc.s[h * ld..h * ld + total];
        let m = super::reduce::max(row);
        sc.ml.push((m, micro::exp2_inplace(row, m)));
    }
    sc.o.clear();
    sc.o.resize(g * d, 0.0);
    for seg in segs.iter().take(PREFETCH_AHEAD) {
        prefetch(&seg.values[..seg.n * d]);
    }
    let mut pos = 0;
    for (i, seg) in segs.iter().enumerate() {
        if let Some(next) = segs.get(i + PREFETCH_AHEAD) {
            prefetch(&next.values[..next.n * d]);
        }
        if seg.n > 0 {
            micro::pv::<E>(
                &sc.s[pos..],
                ld,
                g,
                seg.n,
                &seg.values[..seg.n * d],
                d,
                &mut sc.o,
            );
        }
        pos += seg.n;
    }
    for (h, &(m, l)) in sc.ml.iter().enumerate() {
        let inv = 1.0 / l;
        for (y, x) in out[h * d..(h + 1) * d]
            .iter_mut()
            .zip(&sc.o[h * d..(h + 1) * d])
        {
            *y = x * inv;
        }
        lse[h] = (m + l.log2()) * std::f32::consts::LN_2;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use half::f16;
    use vkv_kernels::attention::{attend_head_group, layout, GroupQuery};

    use super::*;
    use crate::testutil::rnd;

    /// Segments of awkward sizes (0, 1, 15, 16, 17, 40 tokens; blocked, ragged and mixed) vs the
    /// kernels' reference attention over the concatenated tokens, f32 and f16 storage, d = 64
    /// and 128. Floor: 2e-5 absolute (outputs and LSE).
    #[test]
    fn equals_attention_over_the_union() -> Result<()> {
        for &d in &[64usize, 128] {
            let g = 7;
            let sizes = [
                (17usize, 16usize),
                (0, 0),
                (1, 0),
                (15, 0),
                (16, 16),
                (40, 40),
                (37, 32),
            ];
            let n: usize = sizes.iter().map(|s| s.0).sum();
            let k: Vec<f32> = rnd(n * d, 5).iter().map(|x| x * 3.0).collect();
            let v = rnd(n * d, 6);
            let q = rnd(g * d, 7);
            let (mut ro, mut rl) = (vec![0.0; g * d], vec![0.0; g]);
            let gq = GroupQuery {
                q: &q,
                n_new: 1,
                g,
                d,
                stride_t: g * d,
                first_pos: n,
                scale: 0.125,
            };
            attend_head_group(gq, &k, &v, &mut ro, g * d, &mut rl)?;
            fn run<E: SimdElem>(
                sizes: &[(usize, usize)],
                k: &[f32],
                v: &[f32],
                q: &[f32],
                g: usize,
                d: usize,
            ) -> Result<(Vec<f32>, Vec<f32>)> {
                let mut store = Vec::new();
                let mut t0 = 0;
                for &(n, nb) in sizes {
                    let kb: Vec<E> = layout::to_blocked(&k[t0 * d..(t0 + nb) * d], d);
                    let m = n - nb;
                    let tail: Vec<E> = (0..d * m)
                        .map(|x| E::from_f32(k[(t0 + nb + x % m) * d + x / m]))
                        .collect();
                    let vals: Vec<E> = v[t0 * d..(t0 + n) * d]
                        .iter()
                        .map(|x| E::from_f32(*x))
                        .collect();
                    store.push((kb, nb, tail, vals, n));
                    t0 += n;
                }
                let segs: Vec<Segment<'_, E>> = store
                    .iter()
                    .map(|(kb, nb, tail, vals, n)| Segment {
                        keys_blocked: kb,
                        n_blocked: *nb,
                        keys_tail: tail,
                        values: vals,
                        n: *n,
                    })
                    .collect();
                let (mut o, mut l) = (vec![0.0; g * d], vec![0.0; g]);
                attend_segments(
                    q,
                    g,
                    d,
                    0.125,
                    &segs,
                    &mut SegmentScratch::default(),
                    &mut o,
                    &mut l,
                )?;
                Ok((o, l))
            }
            let (o, l) = run::<f32>(&sizes, &k, &v, &q, g, d)?;
            for (a, b) in o.iter().zip(&ro).chain(l.iter().zip(&rl)) {
                assert!((a - b).abs() < 2e-5, "f32 d={d}: {a} vs {b}");
            }
            let kr: Vec<f32> = k.iter().map(|x| f16::from_f32(*x).to_f32()).collect();
            let vr: Vec<f32> = v.iter().map(|x| f16::from_f32(*x).to_f32()).collect();
            attend_head_group(gq, &kr, &vr, &mut ro, g * d, &mut rl)?;
            let (o, l) = run::<f16>(&sizes, &k, &v, &q, g, d)?;
            for (a, b) in o.iter().zip(&ro).chain(l.iter().zip(&rl)) {
                assert!((a - b).abs() < 2e-5, "f16 d={d}: {a} vs {b}");
            }
        }
        let (mut o, mut l) = (vec![1.0; 4], vec![0.0]);
        attend_segments::<f32>(
            &[1.0; 4],
            1,
            4,
            1.0,
            &[],
            &mut SegmentScratch::default(),
            &mut o,
            &mut l,
        )?;
        assert_eq!((o, l[0]), (vec![0.0; 4], f32::NEG_INFINITY));
        Ok(())
    }
}
