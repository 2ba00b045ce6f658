//! Many activation rows (prefill): a register-tiled GEMM on AVX-512 VNNI.
//!
//! The activations are quantized once (the same Q8 formats as [`super::gemv`]); W is processed
//! in panels of 16 rows, each unpacked once per call into the microkernel layout
//! ([`super::pack`]) by the rayon task that owns it and then used against every activation row,
//! 8 rows per register tile ([`super::kernel512`]). Tasks own disjoint column ranges of `y`.

use rayon::prelude::*;

use super::kernel512::{run_panel, PanelOut};
use super::pack::{ActTerms, Panel, Spec, NR};
use super::{QMatrix, SharedY};
use crate::quant::dot::QActs;
use crate::{Error, Result};

/// Whether this CPU runs the GEMM.
pub(super) fn available() -> bool {
    crate::cpu::features().avx512_vnni
}

/// `y = x · Wᵀ` for quantized `W` and `m` rows of `x`.
pub(super) fn gemm(w: &QMatrix, x: &[f32], m: usize, y: &mut [f32]) -> Result<()> {
    let (n, k) = (w.rows(), w.cols());
    let spec = Spec::of(w.ty())
        .ok_or_else(|| Error::UnsupportedType(format!("GEMM for {}", w.ty().name())))?;
    if !available() {
        return Err(Error::Device("the GEMM needs AVX-512 VNNI".into()));
    }
    if y.len() != m * n || x.len() != m * k || !k.is_multiple_of(spec.g) {
        return Err(Error::Shape(format!(
            "gemm: x {} y {} for m={m} W {n}x{k}",
            x.len(),
            y.len()
        )));
    }
    let acts = QActs::quantize(w.ty(), x, m, k)?;
    let terms = ActTerms::new(&acts, spec, k);
    let out = SharedY::new(y);
    let xq = acts.all_qs();
    (0..n.div_ceil(NR))
        .into_par_iter()
        .for_each_init(Panel::default, |panel, p| {
            let r0 = p * NR;
            panel.fill(w, spec, r0);
            let o = PanelOut {
                y: out.ptr(),
                n,
                r0,
                lanes: NR.min(n - r0),
            };
            // SAFETY: avx512 vnni checked above; the panel and terms were built for this type and
            // k; xq holds m·k quants; this panel alone writes columns r0..r0+lanes of y's m rows.
            unsafe { run_panel(panel, &terms, spec, xq, k, m, o) };
        });
    Ok(())
}
