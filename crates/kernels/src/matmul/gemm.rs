//! Many activation rows (prefill): a register-tiled GEMM on AVX-512 (VNNI where the CPU has it).
//!
//! The activations are quantized once (the same Q8 formats as [`super::gemv`]); W is processed
//! in panels of 16 rows, each unpacked once per call into the microkernel layout
//! ([`super::pack`]) by the rayon task that owns it and then used against every activation row,
//! 8 rows per register tile ([`super::kernel512`]). Tasks own disjoint column ranges of `y`.

use rayon::prelude::*;

use super::kernel512::{run_panel_bw, run_panel_vnni, PanelOut};
use super::pack::{ActTerms, Panel, Spec, NR};
use super::{QMatrix, SharedY};
use crate::quant::dot::QActs;
use crate::{Error, Result};

/// The byte dot product the microkernel is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Isa {
    /// `vpdpbusd` (AVX-512 VNNI).
    Vnni,
    /// `vpmaddubsw` + `vpmaddwd` (AVX-512 BW).
    Bw,
}

impl Isa {
    /// The best this CPU runs, if any.
    pub(super) fn best() -> Option<Self> {
        let f = crate::cpu::features();
        if f.avx512_vnni {
            Some(Self::Vnni)
        } else if f.avx512 {
            Some(Self::Bw)
        } else {
            None
        }
    }

    /// Whether this CPU runs it.
    pub(super) fn available(self) -> bool {
        let f = crate::cpu::features();
        match self {
            Self::Vnni => f.avx512_vnni,
            Self::Bw => f.avx512,
        }
    }
}

/// Whether this CPU runs the GEMM.
pub(super) fn available() -> bool {
    Isa::best().is_some()
}

/// `y = x · Wᵀ` for quantized `W` and `m` rows of `x`.
pub(super) fn gemm(w: &QMatrix, x: &[f32], m: usize, y: &mut [f32]) -> Result<()> {
    let isa = Isa::best().ok_or_else(|| Error::Device("the GEMM needs AVX-512".into()))?;
    gemm_with(isa, w, x, m, y)
}

/// [`gemm`] with a named instruction set (tests: both where the CPU has VNNI).
pub(super) fn gemm_with(isa: Isa, w: &QMatrix, x: &[f32], m: usize, y: &mut [f32]) -> Result<()> {
    let (n, k) = (w.rows(), w.cols());
    let spec = Spec::of(w.ty())
        .ok_or_else(|| Error::UnsupportedType(format!("GEMM for {}", w.ty().name())))?;
    if !isa.available() {
        return Err(Error::Device(format!(
            "this CPU cannot run the {isa:?} GEMM"
        )));
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
            // SAFETY: the ISA's features checked above; the panel and terms were built for this
            // type and k; xq holds m·k quants; this panel alone writes columns r0..r0+lanes of
            // y's m rows.
            unsafe {
                match isa {
                    Isa::Vnni => run_panel_vnni(panel, &terms, spec, xq, k, m, o),
                    Isa::Bw => run_panel_bw(panel, &terms, spec, xq, k, m, o),
                }
            };
        });
    Ok(())
}
