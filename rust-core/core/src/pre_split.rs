//! Hand-written equivalent of the GPT-2 pre-tokenizer expression
//! `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
//! optionally after isolating every `\p{N}` character (llama.cpp's "smollm"/"starcoder"
//! families). No regex engine: this is the hot loop of counting and chunking.

use std::sync::OnceLock;

use unicode_general_category::{get_general_category, GeneralCategory as G};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    Letter,
    Number,
    Space,
    Other,
}

fn classify_slow(c: char) -> Class {
    if c.is_whitespace() {
        return Class::Space;
    }
    match get_general_category(c) {
        G::UppercaseLetter
        | G::LowercaseLetter
        | G::TitlecaseLetter
        | G::ModifierLetter
        | G::OtherLetter => Class::Letter,
        G::DecimalNumber | G::LetterNumber | G::OtherNumber => Class::Number,
        _ => Class::Other,
    }
}

/// Class of every Basic Multilingual Plane character, computed once.
fn bmp_table() -> &'static [Class] {
    static TABLE: OnceLock<Vec<Class>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0u32..0x1_0000)
            .map(|u| char::from_u32(u).map_or(Class::Other, classify_slow))
            .collect()
    })
}

#[inline]
fn classify(c: char) -> Class {
    let u = c as usize;
    if u < 0x1_0000 {
        bmp_table()[u]
    } else {
        classify_slow(c)
    }
}

/// Which expression family a vocabulary's `tokenizer.ggml.pre` uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// The GPT-2 expression only.
    Gpt2,
    /// Every `\p{N}` character on its own, then the GPT-2 expression.
    Gpt2Digits,
}

/// Calls `emit` with each pre-token of `text`, in order; the pre-tokens tile `text`.
pub fn split<'a>(text: &'a str, flavor: Flavor, mut emit: impl FnMut(&'a str)) {
    let bytes = text.as_bytes();
    let mut pos = 0;
    while pos < bytes.len() {
        let end = match_at(text, pos, flavor);
        emit(&text[pos..end]);
        pos = end;
    }
}

#[inline]
fn char_at(text: &str, pos: usize) -> Option<(char, Class)> {
    let b = *text.as_bytes().get(pos)?;
    if b < 0x80 {
        let c = char::from(b);
        let class = match b {
            b'a'..=b'z' | b'A'..=b'Z' => Class::Letter,
            b'0'..=b'9' => Class::Number,
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => Class::Space,
            _ => Class::Other,
        };
        return Some((c, class));
    }
    let c = text[pos..].chars().next()?;
    Some((c, classify(c)))
}

/// End (byte offset) of the pre-token that starts at `pos`.
fn match_at(text: &str, pos: usize, flavor: Flavor) -> usize {
    let digits_alone = flavor == Flavor::Gpt2Digits;
    let (c0, k0) = char_at(text, pos).expect("pos is inside text");
    let after0 = pos + c0.len_utf8();
    if digits_alone && k0 == Class::Number {
        return after0;
    }
    // In the digit-isolating flavor a number character ends the piece the expression sees.
    let stop = |k: Class| digits_alone && k == Class::Number;
    let run = |mut p: usize, want: &dyn Fn(Class) -> bool| {
        while let Some((c, k)) = char_at(text, p) {
            if !want(k) || stop(k) {
                break;
            }
            p += c.len_utf8();
        }
        p
    };

    // 's 't 're 've 'm 'll 'd
    if c0 == '\'' {
        let rest = &text.as_bytes()[after0..];
        for suffix in [&b"s"[..], b"t", b"re", b"ve", b"m", b"ll", b"d"] {
            if rest.starts_with(suffix) {
                return after0 + suffix.len();
            }
        }
    }
    // Optional leading space, then a run of one class.
    let (start, k) = if c0 == ' ' {
        match char_at(text, after0) {
            Some((_, k1)) if k1 != Class::Space && !stop(k1) => (after0, k1),
            _ => (pos, k0),
        }
    } else {
        (pos, k0)
    };
    match k {
        Class::Letter => return run(start, &|k| k == Class::Letter),
        Class::Number => return run(start, &|k| k == Class::Number),
        Class::Other => return run(start, &|k| k == Class::Other),
        Class::Space => {}
    }
    // \s+(?!\S) | \s+ : a whitespace run; before a non-space, leave its last char behind.
    let mut end = pos;
    let mut last = pos;
    while let Some((c, Class::Space)) = char_at(text, end) {
        last = end;
        end += c.len_utf8();
    }
    let at_piece_end = match char_at(text, end) {
        None => true,
        Some((_, k)) => stop(k),
    };
    if at_piece_end || last == pos {
        end
    } else {
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str, flavor: Flavor) -> Vec<&str> {
        let mut out = Vec::new();
        split(text, flavor, |p| out.push(p));
        out
    }

    #[test]
    fn gpt2_expression_cases() {
        let f = Flavor::Gpt2;
        assert_eq!(pieces("Hello world", f), ["Hello", " world"]);
        assert_eq!(pieces("it's 'Re", f), ["it", "'s", " '", "Re"]);
        assert_eq!(pieces("a  b", f), ["a", " ", " b"]);
        assert_eq!(pieces("a\n\nb  ", f), ["a", "\n", "\n", "b", "  "]);
        assert_eq!(pieces("x 123!!", f), ["x", " 123", "!!"]);
        assert_eq!(pieces("Привет, мир", f), ["Привет", ",", " мир"]);
    }

    #[test]
    fn digits_are_isolated() {
        let f = Flavor::Gpt2Digits;
        assert_eq!(pieces("x 123", f), ["x", " ", "1", "2", "3"]);
        assert_eq!(pieces("a  9b", f), ["a", "  ", "9", "b"]);
        assert_eq!(pieces("v2.0", f), ["v", "2", ".", "0"]);
    }

    #[test]
    fn pieces_tile_the_text() {
        let text = "Ёж 😀😀 \t\u{a0}x\u{2028}y ٣ 'll";
        for f in [Flavor::Gpt2, Flavor::Gpt2Digits] {
            assert_eq!(pieces(text, f).concat(), text);
        }
    }
}
