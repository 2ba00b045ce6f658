//! Splitting raw text on special-token texts before BPE.
//!
//! `<|im_start|>` in a prompt must become one control id, not the BPE of its characters,
//! but only when the caller asks (`parse_special`): user text that happens to contain it
//! must stay text. llama.cpp's rule, reproduced here: take the special tokens longest text
//! first; for each, cut every remaining text fragment at each (non-overlapping, leftmost)
//! occurrence. Control and unknown tokens take part only with `parse_special`;
//! user-defined tokens (Qwen's `<tool_call>`) are always cut out, as in HF `tokenizers`.

use std::ops::Range;

/// A piece of the input after special-token splitting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fragment {
    /// Byte range of raw text still to be BPE-encoded.
    Text(Range<usize>),
    /// A special token found in the text.
    Token(u32),
}

/// Splits `text` on the given special tokens (already in priority order).
pub(crate) fn partition<'v>(
    text: &str,
    specials: impl Iterator<Item = (u32, &'v str)>,
) -> Vec<Fragment> {
    let mut frags = Vec::new();
    if text.is_empty() {
        return frags;
    }
    frags.push(Fragment::Text(0..text.len()));
    let mut next = Vec::new();
    for (id, tok) in specials {
        if tok.is_empty() {
            continue;
        }
        let mut changed = false;
        next.clear();
        for f in &frags {
            let Fragment::Text(r) = f else {
                next.push(f.clone());
                continue;
            };
            let hay = &text[r.clone()];
            let mut last = 0;
            for (at, _) in hay.match_indices(tok) {
                changed = true;
                if at > last {
                    next.push(Fragment::Text(r.start + last..r.start + at));
                }
                next.push(Fragment::Token(id));
                last = at + tok.len();
            }
            if last < hay.len() {
                next.push(Fragment::Text(r.start + last..r.end));
            }
        }
        if changed {
            std::mem::swap(&mut frags, &mut next);
        }
    }
    frags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_first_and_all_occurrences() {
        let specials = [(1, "<|im_start|>"), (2, "<|im"), (3, "x")];
        let t = "a<|im_start|>b<|imx";
        let f = partition(t, specials.iter().copied());
        use Fragment::*;
        assert_eq!(f, [Text(0..1), Token(1), Text(13..14), Token(2), Token(3)]);
        assert!(partition("", specials.iter().copied()).is_empty());
    }
}
