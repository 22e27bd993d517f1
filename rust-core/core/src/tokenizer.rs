//! Tokenizer with llama.cpp's semantics: special tokens are split out first (longest first),
//! the text between them is encoded by byte-level BPE, BOS/EOS follow the vocabulary's flags.

use std::path::Path;

use rayon::prelude::*;

use crate::count_cache::CountCache;
use crate::error::{CoreError, Result};
use crate::vocab::{Special, Vocab};

/// Text split at special tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fragment<'a> {
    Text(&'a str),
    Token(u32),
}

const CACHE_BYTES: usize = 32 << 20;

pub struct Tokenizer {
    vocab: Vocab,
    cache: CountCache,
}

impl Tokenizer {
    pub fn new(vocab: Vocab) -> Self {
        Self {
            vocab,
            cache: CountCache::new(CACHE_BYTES),
        }
    }

    pub fn from_gguf(path: &Path) -> Result<Self> {
        Vocab::from_gguf(path).map(Self::new)
    }

    pub fn from_tokenizer_json(path: &Path) -> Result<Self> {
        Vocab::from_tokenizer_json(path).map(Self::new)
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab.pieces.len()
    }

    pub fn bos(&self) -> Option<u32> {
        self.vocab.bos
    }

    pub fn eos(&self) -> Option<u32> {
        self.vocab.eos
    }

    pub fn add_bos(&self) -> bool {
        self.vocab.add_bos && self.vocab.bos.is_some()
    }

    pub fn add_eos(&self) -> bool {
        self.vocab.add_eos && self.vocab.eos.is_some()
    }

    pub fn specials(&self) -> &[Special] {
        &self.vocab.specials
    }

    /// Splits `text` at special tokens the way llama.cpp's `tokenizer_st_partition` does: each
    /// special token (longest first) cuts every remaining text fragment at all its occurrences.
    /// Control tokens are only recognised with `parse_special`; user-defined ones always.
    pub fn partition<'a>(&self, text: &'a str, parse_special: bool) -> Vec<Fragment<'a>> {
        let mut fragments = Vec::new();
        if !text.is_empty() {
            fragments.push(Fragment::Text(text));
        }
        for special in &self.vocab.specials {
            if special.control && !parse_special {
                continue;
            }
            let needle = special.text.as_str();
            let hit = fragments
                .iter()
                .any(|f| matches!(f, Fragment::Text(t) if t.contains(needle)));
            if !hit {
                continue;
            }
            let mut next = Vec::with_capacity(fragments.len() + 2);
            for fragment in fragments {
                let Fragment::Text(mut rest) = fragment else {
                    next.push(fragment);
                    continue;
                };
                while let Some(pos) = rest.find(needle) {
                    if pos > 0 {
                        next.push(Fragment::Text(&rest[..pos]));
                    }
                    next.push(Fragment::Token(special.id));
                    rest = &rest[pos + needle.len()..];
                }
                if !rest.is_empty() {
                    next.push(Fragment::Text(rest));
                }
            }
            fragments = next;
        }
        fragments
    }

    /// BPE-encodes text that holds no special tokens.
    fn encode_plain(&self, text: &str, out: &mut Vec<u32>) -> Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        if let Some(fast) = &self.vocab.fast {
            return fast.encode(self.vocab.plain.get_model(), text, |ids| {
                out.extend_from_slice(ids);
            });
        }
        self.encode_pipeline(text, out)
    }

    /// The `tokenizers` pipeline (pre-tokenizer + model), for vocabularies with no fast path.
    fn encode_pipeline(&self, text: &str, out: &mut Vec<u32>) -> Result<()> {
        let encoding = self.vocab.plain.encode_fast(text, false)?;
        out.extend_from_slice(encoding.get_ids());
        Ok(())
    }

    /// Token ids of `text`, equal to llama.cpp's `llama_tokenize(text, add_special, parse_special)`.
    pub fn encode(&self, text: &str, add_special: bool, parse_special: bool) -> Result<Vec<u32>> {
        let mut ids = Vec::with_capacity(text.len() / 3 + 2);
        if add_special && self.add_bos() {
            ids.extend(self.vocab.bos);
        }
        for fragment in self.partition(text, parse_special) {
            match fragment {
                Fragment::Text(t) => self.encode_plain(t, &mut ids)?,
                Fragment::Token(id) => ids.push(id),
            }
        }
        if add_special && self.add_eos() {
            ids.extend(self.vocab.eos);
        }
        Ok(ids)
    }

    /// Number of tokens of `text` (no BOS/EOS).
    pub fn count(&self, text: &str, parse_special: bool) -> Result<usize> {
        let mut total = 0;
        for fragment in self.partition(text, parse_special) {
            match fragment {
                Fragment::Text(t) => total += self.count_plain(t)?,
                Fragment::Token(_) => total += 1,
            }
        }
        Ok(total)
    }

    /// Number of tokens of text that holds no special tokens.
    pub fn count_plain(&self, text: &str) -> Result<usize> {
        if let Some(fast) = &self.vocab.fast {
            let mut n = 0;
            fast.encode(self.vocab.plain.get_model(), text, |ids| n += ids.len())?;
            return Ok(n);
        }
        let mut scratch = Vec::new();
        self.encode_pipeline(text, &mut scratch)?;
        Ok(scratch.len())
    }

    /// `count`, memoised: for segments that recur across calls (chat history).
    pub fn count_cached(&self, text: &str, parse_special: bool) -> Result<usize> {
        if let Some(n) = self.cache.get(text, parse_special) {
            return Ok(n);
        }
        let n = self.count(text, parse_special)?;
        self.cache.insert(text, parse_special, n);
        Ok(n)
    }

    pub fn clear_cache(&self) {
        self.cache.clear();
    }

    /// Counts many texts, in parallel with rayon when `parallel`.
    pub fn count_batch<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        parse_special: bool,
        parallel: bool,
    ) -> Result<Vec<usize>> {
        let one = |t: &S| self.count(t.as_ref(), parse_special);
        if parallel {
            texts.par_iter().map(one).collect()
        } else {
            texts.iter().map(one).collect()
        }
    }

    /// Encodes many texts, in parallel with rayon when `parallel`.
    pub fn encode_batch<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        add_special: bool,
        parse_special: bool,
        parallel: bool,
    ) -> Result<Vec<Vec<u32>>> {
        let one = |t: &S| self.encode(t.as_ref(), add_special, parse_special);
        if parallel {
            texts.par_iter().map(one).collect()
        } else {
            texts.iter().map(one).collect()
        }
    }

    /// Whether `id` is a control token (rendered as nothing when skipping specials).
    pub fn is_control(&self, id: u32) -> bool {
        self.vocab.specials.iter().any(|s| s.id == id && s.control)
    }

    /// The raw bytes of one token.
    pub fn piece(&self, id: u32) -> Result<&[u8]> {
        self.vocab
            .pieces
            .get(id as usize)
            .map(Vec::as_slice)
            .ok_or(CoreError::InvalidTokenId {
                id: i64::from(id),
                vocab_size: self.vocab_size(),
            })
    }

    /// Raw bytes of `ids`; control tokens are left out when `skip_special`.
    pub fn decode_bytes(&self, ids: &[u32], skip_special: bool) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            let piece = self.piece(id)?;
            if !(skip_special && self.is_control(id)) {
                out.extend_from_slice(piece);
            }
        }
        Ok(out)
    }

    /// Text of `ids`; byte sequences that are not valid UTF-8 become U+FFFD.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String> {
        let bytes = self.decode_bytes(ids, skip_special)?;
        Ok(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::gguf::tests::encode as encode_gguf;
    use crate::gguf::Value;

    /// A tiny byte-level BPE vocabulary written as a GGUF file: all 256 byte symbols, a few
    /// merges, and `ChatML` control tokens.
    pub(crate) fn tiny() -> Tokenizer {
        let mut tokens: Vec<String> = vec![
            "<|endoftext|>".into(),
            "<|im_start|>".into(),
            "<|im_end|>".into(),
        ];
        let mut types = vec![3i64, 3, 3];
        for b in 0u8..=255 {
            let piece = crate::byte_level::tests_encode(b);
            tokens.push(piece);
            types.push(1);
        }
        let merges = [
            "h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld",
        ];
        for m in merges {
            tokens.push(m.replace(' ', ""));
            types.push(1);
        }
        let kv = [
            ("tokenizer.ggml.model", Value::Str("gpt2".into())),
            ("tokenizer.ggml.pre", Value::Str("smollm".into())),
            (
                "tokenizer.ggml.tokens",
                Value::Array(tokens.into_iter().map(Value::Str).collect()),
            ),
            (
                "tokenizer.ggml.token_type",
                Value::Array(types.into_iter().map(Value::Int).collect()),
            ),
            (
                "tokenizer.ggml.merges",
                Value::Array(merges.iter().map(|m| Value::Str((*m).into())).collect()),
            ),
            ("tokenizer.ggml.bos_token_id", Value::UInt(1)),
            ("tokenizer.ggml.eos_token_id", Value::UInt(2)),
        ];
        let dir = std::env::temp_dir().join(format!("clone-core-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("tiny-{:?}.gguf", std::thread::current().id()));
        std::fs::write(&path, encode_gguf(&kv)).unwrap();
        let tok = Tokenizer::from_gguf(&path).unwrap();
        std::fs::remove_file(&path).ok();
        tok
    }

    #[test]
    fn merges_apply() {
        let tok = tiny();
        let ids = tok.encode("hello world", false, false).unwrap();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert_eq!(tok.decode(&ids, false).unwrap(), "hello world");
    }

    #[test]
    fn control_tokens_only_parsed_when_asked() {
        let tok = tiny();
        let text = "<|im_start|>hello<|im_end|>";
        let parsed = tok.encode(text, false, true).unwrap();
        assert_eq!(parsed.first(), Some(&1));
        assert_eq!(parsed.last(), Some(&2));
        assert_eq!(parsed.len(), 3);
        let plain = tok.encode(text, false, false).unwrap();
        assert!(plain.len() > 3 && !plain.contains(&1));
        assert_eq!(tok.count(text, true).unwrap(), 3);
        assert_eq!(tok.decode(&parsed, true).unwrap(), "hello");
    }

    #[test]
    fn utf8_round_trip_and_invalid_ids() {
        let tok = tiny();
        let text = "Привет, мир! 👋 12345\n\n  x";
        let ids = tok.encode(text, false, false).unwrap();
        assert_eq!(tok.decode(&ids, false).unwrap(), text);
        assert!(matches!(
            tok.decode(&[9_999_999], false),
            Err(CoreError::InvalidTokenId { .. })
        ));
        assert!(tok.encode("", true, true).unwrap().is_empty());
    }

    #[test]
    fn fast_path_equals_the_tokenizers_pipeline() {
        let tok = tiny();
        let samples = [
            "hello world",
            "it's  they'll 'RE",
            "x 123.45e-6",
            "Привет,  мир!\n\n\tОк",
            "😀 😀😀  ",
            "a\u{a0}b\u{2028}c  \u{3000}d",
            "٣٤ ⅷ ½",
            "def f(x):\n    return x**2  # ok\n",
            " ",
            "\n \n",
        ];
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let alphabet: Vec<char> = "aZ9 \n\t'.,!Ёж😀\u{a0}٣ⅷ_-\u{301}".chars().collect();
        let mut random = Vec::new();
        for _ in 0..300 {
            let len = (rng % 24) as usize;
            let mut s = String::new();
            for _ in 0..len {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                s.push(alphabet[(rng % alphabet.len() as u64) as usize]);
            }
            random.push(s);
        }
        for text in samples.iter().map(|s| (*s).to_owned()).chain(random) {
            let mut fast = Vec::new();
            tok.encode_plain(&text, &mut fast).unwrap();
            let mut slow = Vec::new();
            tok.encode_pipeline(&text, &mut slow).unwrap();
            assert_eq!(fast, slow, "{text:?}");
        }
    }

    #[test]
    fn batch_and_cache_agree_with_count() {
        let tok = tiny();
        let texts = ["hello", "", "world <|im_end|>", "Ёжик"];
        let batch = tok.count_batch(&texts, true, true).unwrap();
        for (t, n) in texts.iter().zip(batch) {
            assert_eq!(tok.count(t, true).unwrap(), n);
            assert_eq!(tok.count_cached(t, true).unwrap(), n);
            assert_eq!(tok.count_cached(t, true).unwrap(), n);
        }
    }
}
