//! Log-sum-exp merge of partial attention results over disjoint token sets (spec §1.2).

/// A partial attention result for one query head: normalized output and its log-sum-exp.
/// An empty token set has `lse = −∞` and contributes nothing.
#[derive(Debug, Clone, Copy)]
pub struct Partial<'a> {
    /// Normalized output, `d` elements.
    pub out: &'a [f32],
    /// log Σ exp(score) over the set.
    pub lse: f32,
}

/// Merge `b` into the accumulated `(acc, acc_lse)`: afterwards `acc` is the attention over the
/// union of both sets and `acc_lse` its log-sum-exp.
pub fn merge_into(acc: &mut [f32], acc_lse: &mut f32, b: Partial<'_>) {
    if b.lse == f32::NEG_INFINITY {
        return;
    }
    if *acc_lse == f32::NEG_INFINITY {
        acc.copy_from_slice(b.out);
        *acc_lse = b.lse;
        return;
    }
    let m = acc_lse.max(b.lse);
    let wa = (*acc_lse - m).exp();
    let wb = (b.lse - m).exp();
    let inv = 1.0 / (wa + wb);
    for (a, v) in acc.iter_mut().zip(b.out) {
        *a = (wa * *a + wb * v) * inv;
    }
    *acc_lse = m + (wa + wb).ln();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_with_empty_is_identity() {
        let mut acc = vec![1.0, 2.0];
        let mut lse = 0.5;
        merge_into(
            &mut acc,
            &mut lse,
            Partial {
                out: &[9.0, 9.0],
                lse: f32::NEG_INFINITY,
            },
        );
        assert_eq!((acc.clone(), lse), (vec![1.0, 2.0], 0.5));
        let mut e = vec![0.0, 0.0];
        let mut el = f32::NEG_INFINITY;
        merge_into(&mut e, &mut el, Partial { out: &acc, lse });
        assert_eq!((e, el), (acc, lse));
    }
}
