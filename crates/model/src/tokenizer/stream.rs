//! Incremental detokenization for streaming output.
//!
//! A byte-level token may end in the middle of a UTF-8 sequence (an emoji is often two or
//! three tokens), so text cannot be emitted token by token. [`StreamDecoder`] buffers the
//! bytes of pushed tokens and releases only complete characters, holding back a trailing
//! incomplete sequence until the next token completes it. Bytes that can never become valid
//! UTF-8 are released as U+FFFD with the same granularity as [`String::from_utf8_lossy`],
//! so the concatenated stream always equals [`Tokenizer::decode`] of all ids.

use super::Tokenizer;

/// Turns a stream of token ids into a stream of complete UTF-8 text chunks.
#[derive(Debug)]
pub struct StreamDecoder<'a> {
    tok: &'a Tokenizer,
    pending: Vec<u8>,
}

impl<'a> StreamDecoder<'a> {
    /// A decoder with nothing buffered.
    pub fn new(tok: &'a Tokenizer) -> Self {
        Self {
            tok,
            pending: Vec::new(),
        }
    }

    /// Adds one token; returns the text that became complete, if any. An id outside the
    /// vocabulary yields U+FFFD (decoding a stream must not fail half-way; use
    /// [`Tokenizer::decode`] to get an error instead).
    pub fn push(&mut self, id: u32) -> Option<String> {
        match self.tok.token_bytes(id) {
            Some(b) => self.pending.extend_from_slice(b),
            None => self.pending.extend_from_slice("\u{FFFD}".as_bytes()),
        }
        self.drain(false)
    }

    /// Releases whatever is still buffered (an incomplete sequence becomes U+FFFD).
    pub fn finish(&mut self) -> Option<String> {
        self.drain(true)
    }

    /// Bytes held back waiting for the rest of a character.
    pub fn pending(&self) -> &[u8] {
        &self.pending
    }

    fn drain(&mut self, all: bool) -> Option<String> {
        let mut out = String::new();
        let mut start = 0;
        loop {
            match std::str::from_utf8(&self.pending[start..]) {
                Ok(s) => {
                    out.push_str(s);
                    start = self.pending.len();
                    break;
                }
                Err(e) => {
                    let valid = start + e.valid_up_to();
                    // valid_up_to() bytes are UTF-8 by the error's contract
                    out.push_str(&String::from_utf8_lossy(&self.pending[start..valid]));
                    match e.error_len() {
                        Some(n) => {
                            out.push('\u{FFFD}');
                            start = valid + n;
                        }
                        None if all => {
                            out.push('\u{FFFD}');
                            start = self.pending.len();
                            break;
                        }
                        None => {
                            start = valid;
                            break;
                        }
                    }
                }
            }
        }
        self.pending.drain(..start);
        (!out.is_empty()).then_some(out)
    }
}
