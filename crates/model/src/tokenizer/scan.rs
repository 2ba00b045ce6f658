//! Scanners for the split regexes of byte-level BPE pre-tokenizers.
//!
//! llama.cpp runs the GPT-2 and LLaMA-3/Qwen2 regexes through hand-written scanners, and
//! their exact behaviour (alternation order, how `\s+(?!\S)` gives back one whitespace, a
//! contraction only if the piece is long enough) is what our ids must match. Each function
//! here mirrors one of them over a piece of codepoints; [`split`] chains several regexes,
//! each subdividing the pieces of the previous one, matches and gaps alike.
//!
//! Character classes come from [`super::unicode`], i.e. llama.cpp's Unicode 15.1 tables.

use std::ops::Range;

use super::unicode::{is_whitespace, Flags};

/// Scanner class bits of one codepoint; 0 means "past the end of the piece".
pub(crate) const LET: u8 = 1;
const NUM: u8 = 2;
const WS: u8 = 4;
const PUNCT: u8 = 8;
pub(crate) const MARK: u8 = 16;
const ANY: u8 = 0x80;

/// The text as codepoints with their classes and byte offsets.
struct Cps {
    chars: Vec<char>,
    class: Vec<u8>,
    /// Byte offset of each codepoint, plus the text length at the end.
    offs: Vec<usize>,
}

impl Cps {
    fn new(text: &str) -> Self {
        let n = text.len();
        let mut chars = Vec::with_capacity(n);
        let mut class = Vec::with_capacity(n);
        let mut offs = Vec::with_capacity(n + 1);
        for (i, c) in text.char_indices() {
            let f = Flags::of(c);
            let mut k = ANY;
            if f.is_letter() {
                k |= LET;
            }
            if f.is_number() {
                k |= NUM;
            }
            if f.is_punctuation() {
                k |= PUNCT;
            }
            if f.is_mark() {
                k |= MARK;
            }
            if is_whitespace(c) {
                k |= WS;
            }
            chars.push(c);
            class.push(k);
            offs.push(i);
        }
        offs.push(n);
        Self { chars, class, offs }
    }
}

/// One piece being scanned: codepoints `[ini, end)`; emits the lengths of its sub-pieces.
struct Piece<'a> {
    cps: &'a Cps,
    end: usize,
    prev_end: usize,
    out: &'a mut Vec<usize>,
}

impl Piece<'_> {
    #[inline]
    fn class(&self, pos: usize) -> u8 {
        if pos < self.end {
            self.cps.class[pos]
        } else {
            0
        }
    }

    #[inline]
    fn char(&self, pos: usize) -> Option<char> {
        if pos < self.end {
            Some(self.cps.chars[pos])
        } else {
            None
        }
    }

    /// Closes the current sub-piece at `end` (no-op if empty).
    #[inline]
    fn emit(&mut self, end: usize) {
        if end > self.prev_end {
            self.out.push(end - self.prev_end);
        }
        self.prev_end = end;
    }
}

/// One split regex.
#[derive(Clone, Copy)]
pub(crate) enum Stage {
    Gpt2,
    /// The LLaMA-3 / Qwen2 regex with `\p{N}{1,n}` and the given "letter" classes.
    Llama(usize, u8),
    /// `\p{N}`.
    EachNumber,
    /// `\p{N}+`.
    NumberRun,
    /// `[0-9][0-9][0-9]`.
    AsciiTriple,
    /// `[\p{P}\$\+<=>\^~\|]+`, with `` ` `` in the class when true.
    PunctRun(bool),
}

impl Stage {
    fn run(self, p: &mut Piece<'_>, ini: usize) {
        match self {
            Self::Gpt2 => gpt2(p, ini),
            Self::Llama(max_digits, word) => llama(p, ini, max_digits, word),
            Self::EachNumber => isolate(p, ini, |p, pos| {
                (p.class(pos) & NUM != 0).then_some(pos + 1)
            }),
            Self::NumberRun => isolate(p, ini, |p, pos| run_of(p, pos, |k, _| k & NUM != 0)),
            Self::AsciiTriple => isolate(p, ini, |p, pos| {
                let d = |i| p.char(pos + i).is_some_and(|c: char| c.is_ascii_digit());
                (d(0) && d(1) && d(2)).then_some(pos + 3)
            }),
            Self::PunctRun(backtick) => isolate(p, ini, move |p, pos| {
                run_of(p, pos, |k, c| {
                    k & PUNCT != 0
                        || matches!(c, '$' | '+' | '<' | '=' | '>' | '^' | '~' | '|')
                        || (backtick && c == '`')
                })
            }),
        }
    }
}

/// The end of the run of codepoints from `pos` satisfying `pred` (`None` if empty).
fn run_of(p: &Piece<'_>, pos: usize, pred: impl Fn(u8, char) -> bool) -> Option<usize> {
    let mut e = pos;
    while let Some(c) = p.char(e) {
        if !pred(p.class(e), c) {
            break;
        }
        e += 1;
    }
    (e > pos).then_some(e)
}

/// A regex split: leftmost non-overlapping matches become pieces, so do the gaps.
fn isolate(p: &mut Piece<'_>, ini: usize, m: impl Fn(&Piece<'_>, usize) -> Option<usize>) {
    let mut pos = ini;
    while pos < p.end {
        match m(p, pos) {
            Some(e) => {
                p.emit(pos);
                p.emit(e);
                pos = e;
            }
            None => pos += 1,
        }
    }
    p.emit(p.end);
}

/// Case-sensitive (`gpt2`) or ASCII-case-insensitive contraction at `pos`: its end.
fn contraction(p: &Piece<'_>, pos: usize, fold: bool) -> Option<usize> {
    if p.char(pos) != Some('\'') {
        return None;
    }
    let at = |i| {
        p.char(pos + i)
            .map(|c: char| if fold { c.to_ascii_lowercase() } else { c })
    };
    match at(1)? {
        's' | 't' | 'm' | 'd' => Some(pos + 2),
        c1 => match (c1, at(2)?) {
            ('r', 'e') | ('v', 'e') | ('l', 'l') => Some(pos + 3),
            _ => None,
        },
    }
}

/// The number of whitespace codepoints from `pos`.
fn whitespace_run(p: &Piece<'_>, pos: usize) -> usize {
    let mut n = 0;
    while p.class(pos + n) & WS != 0 {
        n += 1;
    }
    n
}

/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
fn gpt2(p: &mut Piece<'_>, ini: usize) {
    let mut pos = ini;
    while pos < p.end {
        if let Some(e) = contraction(p, pos, false) {
            pos = e;
            p.emit(pos);
            continue;
        }
        let space = p.char(pos) == Some(' ');
        let k2 = if space {
            p.class(pos + 1)
        } else {
            p.class(pos)
        };
        let class_run = if k2 & LET != 0 {
            Some(LET)
        } else if k2 & NUM != 0 {
            Some(NUM)
        } else if k2 & (WS | LET | NUM) == 0 && k2 != 0 {
            None
        } else {
            // whitespace
            let n = whitespace_run(p, pos);
            pos += if n > 1 && pos + n < p.end {
                n - 1
            } else {
                n.max(1)
            };
            p.emit(pos);
            continue;
        };
        pos += usize::from(space);
        match class_run {
            Some(bit) => {
                while p.class(pos) & bit != 0 {
                    pos += 1;
                }
            }
            None => loop {
                let k = p.class(pos);
                if k & (WS | LET | NUM) != 0 || k == 0 {
                    break;
                }
                pos += 1;
            },
        }
        p.emit(pos);
    }
}

/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max}|
///  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`, where `word` is the class
/// standing for `\p{L}` (Qwen3.5 adds `\p{M}`).
fn llama(p: &mut Piece<'_>, ini: usize, max_digits: usize, word: u8) {
    let mut pos = ini;
    while pos < p.end {
        if let Some(e) = contraction(p, pos, true) {
            pos = e;
            p.emit(pos);
            continue;
        }
        let c = p.cps.chars[pos];
        let k = p.class(pos);
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if !(c == '\r' || c == '\n' || k & NUM != 0)
            && (k & word != 0 || p.class(pos + 1) & word != 0)
        {
            pos += 1;
            while p.class(pos) & word != 0 {
                pos += 1;
            }
            p.emit(pos);
            continue;
        }
        // \p{N}{1,max}
        if k & NUM != 0 {
            let mut group = pos;
            while p.class(pos) & NUM != 0 {
                pos += 1;
                if pos - group >= max_digits {
                    p.emit(pos);
                    group = pos;
                }
            }
            p.emit(pos);
            continue;
        }
        // <space>?[^\s\p{L}\p{N}]+[\r\n]*
        let k2 = if c == ' ' { p.class(pos + 1) } else { k };
        if k2 & (WS | word | NUM) == 0 && k != 0 {
            pos += usize::from(c == ' ');
            loop {
                let kk = p.class(pos);
                if kk & (WS | word | NUM) != 0 || kk == 0 {
                    break;
                }
                pos += 1;
            }
            while matches!(p.char(pos), Some('\r' | '\n')) {
                pos += 1;
            }
            p.emit(pos);
            continue;
        }
        // \s*[\r\n]+ | \s+(?!\S) | \s+
        let n = whitespace_run(p, pos);
        let last_newline = (0..n)
            .rev()
            .find(|&i| matches!(p.cps.chars[pos + i], '\r' | '\n'));
        pos += match last_newline {
            Some(i) => i + 1,
            None if n > 1 && pos + n < p.end => n - 1,
            None => n.max(1),
        };
        p.emit(pos);
    }
    p.emit(p.end);
}

/// Applies `stages` in order to `text`, appending the final pieces' byte ranges to `out`.
pub(crate) fn split(stages: &[Stage], text: &str, out: &mut Vec<Range<usize>>) {
    if text.is_empty() {
        return;
    }
    let cps = Cps::new(text);
    let mut pieces = vec![cps.chars.len()];
    let mut next = Vec::new();
    for stage in stages {
        next.clear();
        let mut start = 0;
        for &len in &pieces {
            let mut p = Piece {
                cps: &cps,
                end: start + len,
                prev_end: start,
                out: &mut next,
            };
            stage.run(&mut p, start);
            start += len;
        }
        std::mem::swap(&mut pieces, &mut next);
    }
    let mut start = 0;
    for len in pieces {
        out.push(cps.offs[start]..cps.offs[start + len]);
        start += len;
    }
}
