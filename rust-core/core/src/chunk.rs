//! Token-bounded document chunking for retrieval, with citations back into the source.
//!
//! The text is cut into units that end at paragraph breaks (blank lines), sentence ends
//! (`. ! ? …`, then closing quotes/brackets, then whitespace; Russian and English alike) and
//! line breaks; a unit longer than the limit is cut at spaces, and a word longer than the limit
//! at characters. Units are packed greedily; a chunk ends at the last paragraph break, else the
//! last sentence end, that keeps it at least half full. Consecutive chunks share whole units
//! worth at most `overlap_tokens`. Offsets are in characters (Unicode code points, i.e.
//! Python `str` indices); `text[start..end]` in characters is exactly the chunk's text.

use rayon::prelude::*;

use crate::error::{CoreError, Result};
use crate::tokenizer::Tokenizer;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub text: String,
    /// Character offsets (code points) into the source text.
    pub start: usize,
    pub end: usize,
    /// Exact token count of `text` (special tokens not parsed).
    pub tokens: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Break {
    /// Cut inside a sentence (at a space or, for a huge word, a character).
    Forced,
    Sentence,
    Paragraph,
}

#[derive(Debug)]
struct Unit {
    start: usize,
    end: usize,
    /// How strong the break at `end` is.
    ends_with: Break,
}

fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…')
}

fn is_closer(c: char) -> bool {
    matches!(c, '"' | '\'' | '»' | '”' | '’' | ')' | ']')
}

/// Cuts `text` into units that tile it; whitespace after a break belongs to the unit before.
fn units(text: &str) -> Vec<Unit> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let kind = if c == '\n' {
            Some(Break::Sentence)
        } else if is_terminator(c) {
            while let Some(&(_, n)) = chars.peek() {
                if is_terminator(n) || is_closer(n) {
                    chars.next();
                } else {
                    break;
                }
            }
            match chars.peek() {
                Some(&(_, n)) if n.is_whitespace() => Some(Break::Sentence),
                _ => None,
            }
        } else {
            None
        };
        let Some(mut kind) = kind else { continue };
        // Swallow the whitespace run; two line breaks in it make a paragraph break.
        let mut newlines = usize::from(c == '\n');
        let mut end = i + c.len_utf8();
        while let Some(&(j, n)) = chars.peek() {
            if !n.is_whitespace() {
                break;
            }
            newlines += usize::from(n == '\n');
            end = j + n.len_utf8();
            chars.next();
        }
        if newlines >= 2 {
            kind = Break::Paragraph;
        }
        out.push(Unit {
            start,
            end,
            ends_with: kind,
        });
        start = end;
    }
    if start < text.len() {
        out.push(Unit {
            start,
            end: text.len(),
            ends_with: Break::Paragraph,
        });
    }
    out
}

/// Splits a unit over the limit into words (cut before each whitespace run), and words over
/// the limit into the longest character runs that fit.
fn split_long(
    tok: &Tokenizer,
    text: &str,
    unit: &Unit,
    max_tokens: usize,
    out: &mut Vec<(Unit, usize)>,
) -> Result<()> {
    let piece = &text[unit.start..unit.end];
    let mut cuts: Vec<usize> = Vec::new();
    let mut prev_space = true;
    for (i, c) in piece.char_indices() {
        let space = c.is_whitespace();
        if space && !prev_space {
            cuts.push(unit.start + i);
        }
        prev_space = space;
    }
    cuts.push(unit.end);
    let mut start = unit.start;
    for cut in cuts {
        while start < cut {
            let mut end = cut;
            let mut n = tok.count_plain(&text[start..end])?;
            if n > max_tokens {
                // The longest prefix in characters that fits (at least one character).
                let bounds: Vec<usize> = text[start..cut]
                    .char_indices()
                    .skip(1)
                    .map(|(i, _)| start + i)
                    .chain(std::iter::once(cut))
                    .collect();
                let (mut lo, mut hi) = (1, bounds.len());
                end = bounds[0];
                n = tok.count_plain(&text[start..end])?;
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    let m = tok.count_plain(&text[start..bounds[mid]])?;
                    if m <= max_tokens {
                        (end, n) = (bounds[mid], m);
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
            }
            let ends_with = if end == unit.end {
                unit.ends_with
            } else {
                Break::Forced
            };
            out.push((
                Unit {
                    start,
                    end,
                    ends_with,
                },
                n,
            ));
            start = end;
        }
    }
    Ok(())
}

/// One past the last unit of the chunk starting at unit `first`: greedy fill, then the
/// strongest break that keeps the chunk at least half full.
fn chunk_end(sized: &[(Unit, usize)], first: usize, max_tokens: usize) -> usize {
    let mut fill = first;
    let mut sum = 0;
    while fill < sized.len() && sum + sized[fill].1 <= max_tokens {
        sum += sized[fill].1;
        fill += 1;
    }
    let fill = fill.max(first + 1);
    if fill >= sized.len() {
        return fill;
    }
    let mut best: Option<(Break, usize)> = None;
    let mut acc = 0;
    for (offset, (unit, n)) in sized[first..fill].iter().enumerate() {
        acc += n;
        if acc * 2 >= sum && best.is_none_or(|(b, _)| unit.ends_with >= b) {
            best = Some((unit.ends_with, first + offset + 1));
        }
    }
    best.map_or(fill, |(_, end)| end)
}

/// Trims whitespace around `[start, end)`.
fn trimmed(text: &str, start: usize, end: usize) -> (usize, usize) {
    let slice = &text[start..end];
    let lead = slice.len() - slice.trim_start().len();
    let body = slice.trim();
    if body.is_empty() {
        (start, end)
    } else {
        (start + lead, start + lead + body.len())
    }
}

/// Converts ascending byte offsets to character offsets.
struct CharCursor<'a> {
    text: &'a str,
    byte: usize,
    chars: usize,
}

impl CharCursor<'_> {
    fn to(&mut self, byte: usize) -> usize {
        if byte < self.byte {
            self.byte = 0;
            self.chars = 0;
        }
        self.chars += self.text[self.byte..byte].chars().count();
        self.byte = byte;
        self.chars
    }
}

impl Tokenizer {
    /// Cuts `text` into chunks of at most `max_tokens` tokens; see the module documentation.
    pub fn chunk(
        &self,
        text: &str,
        max_tokens: usize,
        overlap_tokens: usize,
        parallel: bool,
    ) -> Result<Vec<Chunk>> {
        if max_tokens == 0 {
            return Err(CoreError::invalid("max_tokens must be > 0"));
        }
        if overlap_tokens >= max_tokens {
            return Err(CoreError::invalid(format!(
                "overlap_tokens ({overlap_tokens}) must be smaller than max_tokens ({max_tokens})"
            )));
        }
        let raw = units(text);
        let count = |u: &Unit| self.count_plain(&text[u.start..u.end]);
        let counts: Vec<usize> = if parallel {
            raw.par_iter().map(count).collect::<Result<_>>()?
        } else {
            raw.iter().map(count).collect::<Result<_>>()?
        };
        let mut sized: Vec<(Unit, usize)> = Vec::with_capacity(raw.len());
        for (unit, n) in raw.into_iter().zip(counts) {
            if n > max_tokens {
                split_long(self, text, &unit, max_tokens, &mut sized)?;
            } else {
                sized.push((unit, n));
            }
        }

        let mut chunks = Vec::new();
        let mut starts = CharCursor {
            text,
            byte: 0,
            chars: 0,
        };
        let mut ends = CharCursor {
            text,
            byte: 0,
            chars: 0,
        };
        let mut first = 0;
        while first < sized.len() {
            let mut last = chunk_end(&sized, first, max_tokens);
            // Exact count of the trimmed text; shrink if BPE across units made it larger.
            let span = |last: usize| trimmed(text, sized[first].0.start, sized[last - 1].0.end);
            let (mut lo, mut hi) = span(last);
            let mut tokens = self.count_plain(&text[lo..hi])?;
            while tokens > max_tokens && last > first + 1 {
                last -= 1;
                (lo, hi) = span(last);
                tokens = self.count_plain(&text[lo..hi])?;
            }
            if tokens > max_tokens {
                // A single unit whose trimmed form counts higher than the unit itself.
                (lo, hi) = (sized[first].0.start, sized[first].0.end);
                tokens = sized[first].1;
            }
            chunks.push(Chunk {
                text: text[lo..hi].to_owned(),
                start: starts.to(lo),
                end: ends.to(hi),
                tokens,
            });
            if last >= sized.len() {
                break;
            }
            // Overlap: whole units from the end of this chunk, within the overlap budget.
            let mut next = last;
            let mut overlap = 0;
            while next > first + 1 && overlap + sized[next - 1].1 <= overlap_tokens {
                overlap += sized[next - 1].1;
                next -= 1;
            }
            first = next;
        }
        Ok(chunks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::tests::tiny;

    fn check(tok: &Tokenizer, text: &str, max: usize, overlap: usize) -> Vec<Chunk> {
        let chunks = tok.chunk(text, max, overlap, true).unwrap();
        let chars: Vec<char> = text.chars().collect();
        for c in &chunks {
            assert_eq!(chars[c.start..c.end].iter().collect::<String>(), c.text);
            assert!(c.tokens <= max, "{c:?}");
            assert_eq!(c.tokens, tok.count(&c.text, false).unwrap());
        }
        chunks
    }

    #[test]
    fn cuts_at_paragraphs_and_sentences() {
        let tok = tiny();
        let text = "Первый абзац. Второе предложение!\n\nSecond paragraph here. And more text «цитата.» End. \
                    Third sentence of the second paragraph, long enough to overflow.";
        let chunks = check(&tok, text, 100, 0);
        assert!(chunks.len() >= 2, "{chunks:?}");
        assert_eq!(chunks[0].text, "Первый абзац. Второе предложение!");
    }

    #[test]
    fn long_words_and_overlap() {
        let tok = tiny();
        let text = format!("{} tail. {}", "x".repeat(500), "word ".repeat(200));
        let chunks = check(&tok, &text, 32, 8);
        assert!(chunks.len() > 10);
        // Every non-space character is in some chunk.
        let mut covered = vec![false; text.chars().count()];
        for c in &chunks {
            covered[c.start..c.end].iter_mut().for_each(|x| *x = true);
        }
        assert!(text
            .chars()
            .zip(covered)
            .all(|(ch, cov)| cov || ch.is_whitespace()));
        // Overlap: consecutive chunks share text.
        assert!(chunks.windows(2).any(|w| w[1].start < w[0].end));
    }

    #[test]
    fn bad_budgets_and_empty_text() {
        let tok = tiny();
        assert!(tok.chunk("a", 0, 0, false).is_err());
        assert!(tok.chunk("a", 4, 4, false).is_err());
        assert!(tok.chunk("", 4, 0, false).unwrap().is_empty());
        let ws = check(&tok, "  \n\n ", 16, 0);
        assert_eq!(ws.len(), 1);
    }
}
