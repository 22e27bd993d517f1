//! GPT-2 byte-level alphabet: every byte has a printable stand-in character in BPE vocabularies.

use std::sync::OnceLock;

/// Printable stand-in for each byte (GPT-2 `bytes_to_unicode`).
fn byte_to_char() -> &'static [char; 256] {
    static TABLE: OnceLock<[char; 256]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = ['\0'; 256];
        let mut next = 256u32;
        for (byte, slot) in table.iter_mut().enumerate() {
            let printable = matches!(byte, 33..=126 | 161..=172 | 174..=255);
            let code = if printable {
                byte as u32
            } else {
                next += 1;
                next - 1
            };
            *slot = char::from_u32(code).unwrap_or('\0');
        }
        table
    })
}

/// Maps a byte-level vocabulary entry back to raw bytes; `None` if a char is not in the alphabet.
pub fn decode_piece(piece: &str) -> Option<Vec<u8>> {
    let table = byte_to_char();
    piece
        .chars()
        .map(|c| {
            let code = c as u32;
            if code < 256 && table[code as usize] == c {
                Some(code as u8)
            } else {
                table.iter().position(|&t| t == c).map(|b| b as u8)
            }
        })
        .collect()
}

/// The stand-in character of `byte` (for building test vocabularies).
#[cfg(test)]
pub(crate) fn tests_encode(byte: u8) -> String {
    byte_to_char()[byte as usize].to_string()
}

/// Maps raw text bytes into the byte-level alphabet (what the BPE vocabulary is written in).
pub fn encode_str(text: &str) -> String {
    let table = byte_to_char();
    text.bytes().map(|b| table[b as usize]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_space_and_newline() {
        assert_eq!(decode_piece("Ġhello").unwrap(), b" hello");
        assert_eq!(decode_piece("ĊĊ").unwrap(), b"\n\n");
        assert_eq!(decode_piece("Ã©").unwrap(), "é".as_bytes());
        assert!(decode_piece("日").is_none());
    }

    #[test]
    fn alphabet_is_a_bijection() {
        let table = byte_to_char();
        let mut seen: Vec<char> = table.to_vec();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 256);
    }
}
