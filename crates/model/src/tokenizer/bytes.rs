//! The GPT-2 byte ↔ unicode map of byte-level BPE.
//!
//! Byte-level BPE vocabularies store every token as a string of printable characters, one
//! per byte: the 188 printable Latin-1 bytes stand for themselves and the other 68 bytes
//! (controls, space, DEL, NBSP, soft hyphen) are shifted to U+0100…U+0143. Encoding maps
//! raw text bytes to those characters before BPE; decoding a token maps them back, which is
//! how a token can carry half of a UTF-8 sequence.

use std::sync::OnceLock;

/// Whether byte `b` stands for itself.
const fn is_direct(b: u8) -> bool {
    matches!(b, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// Both directions of the map, built once.
struct Maps {
    to_char: [char; 256],
    /// Indexed by codepoint for U+0000…U+0143; `u16::MAX` where no byte maps.
    to_byte: [u16; 0x144],
}

fn maps() -> &'static Maps {
    static MAPS: OnceLock<Maps> = OnceLock::new();
    MAPS.get_or_init(|| {
        let mut to_char = ['\0'; 256];
        let mut to_byte = [u16::MAX; 0x144];
        let mut shifted = 0u32;
        for b in 0..=255u8 {
            let cp = if is_direct(b) {
                u32::from(b)
            } else {
                shifted += 1;
                255 + shifted
            };
            // cp < 0x144, always a valid scalar value.
            to_char[usize::from(b)] = char::from_u32(cp).unwrap_or('\u{FFFD}');
            to_byte[cp as usize] = u16::from(b);
        }
        Maps { to_char, to_byte }
    })
}

/// The character byte `b` is written as in a byte-level vocabulary.
#[inline]
pub(crate) fn byte_to_char(b: u8) -> char {
    maps().to_char[usize::from(b)]
}

/// The byte a vocabulary character stands for, if any.
#[inline]
pub(crate) fn char_to_byte(c: char) -> Option<u8> {
    let m = maps();
    m.to_byte
        .get(c as usize)
        .and_then(|&b| u8::try_from(b).ok())
}

/// Writes raw bytes as their vocabulary characters.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    out.extend(bytes.iter().map(|&b| byte_to_char(b)));
}

/// The raw bytes a byte-level token text stands for.
///
/// A character outside the map cannot come from byte-level encoding (a malformed
/// vocabulary); it is rendered the way llama.cpp renders it (`[UNK_BYTE_0x…]`) rather than
/// failing, so decoding never panics.
pub(crate) fn decode_token_text(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match char_to_byte(c) {
            Some(b) => out.push(b),
            None => {
                out.extend_from_slice(b"[UNK_BYTE_0x");
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.extend_from_slice(format!("{b:02x}").as_bytes());
                }
                out.extend_from_slice(text.as_bytes());
                out.push(b']');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_map() {
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(b'\n'), 'Ċ');
        assert_eq!(byte_to_char(b'a'), 'a');
        assert_eq!(byte_to_char(0xAD), '\u{143}');
        for b in 0..=255u8 {
            assert_eq!(char_to_byte(byte_to_char(b)), Some(b));
        }
        assert_eq!(char_to_byte('中'), None);
        assert_eq!(decode_token_text("ĠhelloĊ"), b" hello\n");
        assert!(decode_token_text("x中").starts_with(b"x[UNK_BYTE_0xe4b8ad"));
    }
}
