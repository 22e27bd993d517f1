//! The model's vocabulary: BPE encoder for plain text, special tokens, and raw bytes per token.

use std::path::Path;

use tokenizers::models::bpe::BPE;
use tokenizers::{DecoderWrapper, Tokenizer as HfTokenizer};

use crate::byte_level;
use crate::error::{CoreError, Result};
use crate::gguf::{Metadata, Value};
use crate::pretokenize;
use crate::word_bpe::WordBpe;

/// GGUF `tokenizer.ggml.token_type` values (llama.cpp `llama_token_type`).
const TYPE_CONTROL: i64 = 3;
const TYPE_USER_DEFINED: i64 = 4;

/// A token matched as a whole before BPE (llama.cpp's "special token cache").
#[derive(Debug, Clone)]
pub struct Special {
    pub text: String,
    pub id: u32,
    /// Control tokens are matched only when special parsing is on; user-defined ones always.
    pub control: bool,
}

/// Everything the tokenizer needs from a model's vocabulary.
pub struct Vocab {
    /// Encoder for text with no special tokens in it (no added tokens are registered).
    pub plain: HfTokenizer,
    /// Raw bytes of each token id, as llama.cpp's `token_to_piece(special=true)` renders them.
    pub pieces: Vec<Vec<u8>>,
    /// Sorted by text length, longest first (llama.cpp's matching order).
    pub specials: Vec<Special>,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub add_bos: bool,
    pub add_eos: bool,
    /// Fast equivalent of `plain` for byte-level BPE with a GPT-2 style pre-tokenizer.
    pub fast: Option<WordBpe>,
}

impl Vocab {
    /// Builds the vocabulary from a GGUF file's `tokenizer.ggml.*` metadata.
    pub fn from_gguf(path: &Path) -> Result<Self> {
        let meta = Metadata::read(path)?;
        let shown = path.display().to_string();
        let bad = |reason: String| CoreError::Gguf {
            path: shown.clone(),
            reason,
        };
        let model = meta
            .get("tokenizer.ggml.model")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no tokenizer metadata (tokenizer.ggml.model is missing)".into()))?;
        if model != "gpt2" {
            return Err(CoreError::Unsupported(format!(
                "tokenizer.ggml.model = {model:?}; only byte-level BPE (\"gpt2\") is supported"
            )));
        }
        let tokens = string_array(&meta, "tokenizer.ggml.tokens").map_err(bad)?;
        let merges = string_array(&meta, "tokenizer.ggml.merges").map_err(bad)?;
        let types: Vec<i64> = match meta
            .get("tokenizer.ggml.token_type")
            .and_then(Value::as_array)
        {
            Some(items) => items.iter().map(|v| v.as_i64().unwrap_or(1)).collect(),
            None => vec![1; tokens.len()],
        };
        if types.len() != tokens.len() {
            return Err(bad(format!(
                "{} token types for {} tokens",
                types.len(),
                tokens.len()
            )));
        }
        let pre = meta
            .get("tokenizer.ggml.pre")
            .and_then(Value::as_str)
            .unwrap_or("gpt2");

        let vocab: tokenizers::models::bpe::Vocab = tokens
            .iter()
            .enumerate()
            .map(|(id, tok)| (tok.clone(), id as u32))
            .collect();
        let merges = merges
            .iter()
            .map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
                    .ok_or_else(|| bad(format!("malformed merge {m:?}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| bad(format!("cannot build BPE: {e}")))?;
        let mut plain = HfTokenizer::new(bpe);
        plain.with_pre_tokenizer(Some(pretokenize::for_gguf_pre(pre)?));

        let mut specials = Vec::new();
        let mut pieces = Vec::with_capacity(tokens.len());
        for (id, (text, &kind)) in tokens.iter().zip(&types).enumerate() {
            let is_special = kind == TYPE_CONTROL || kind == TYPE_USER_DEFINED;
            if is_special && !text.is_empty() {
                specials.push(Special {
                    text: text.clone(),
                    id: id as u32,
                    control: kind == TYPE_CONTROL,
                });
            }
            let piece = if is_special {
                None
            } else {
                byte_level::decode_piece(text)
            };
            pieces.push(piece.unwrap_or_else(|| text.as_bytes().to_vec()));
        }
        sort_specials(&mut specials);

        let id = |key: &str| {
            meta.get(key)
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .filter(|&v| (v as usize) < tokens.len())
        };
        let flag = |key: &str, default| meta.get(key).and_then(Value::as_bool).unwrap_or(default);
        Ok(Self {
            plain,
            pieces,
            specials,
            bos: id("tokenizer.ggml.bos_token_id"),
            eos: id("tokenizer.ggml.eos_token_id"),
            add_bos: flag("tokenizer.ggml.add_bos_token", false),
            add_eos: flag("tokenizer.ggml.add_eos_token", false),
            fast: pretokenize::fast_flavor(pre).map(WordBpe::new),
        })
    }

    /// Builds the vocabulary from a Hugging Face `tokenizer.json` (with `tokenizer_config.json`
    /// beside it, when present, for BOS/EOS).
    pub fn from_tokenizer_json(path: &Path) -> Result<Self> {
        let plain = HfTokenizer::from_file(path)
            .map_err(|e| CoreError::Tokenizer(format!("{}: {e}", path.display())))?;
        let added = plain.get_added_tokens_decoder();
        let mut specials: Vec<Special> = added
            .iter()
            .filter(|(_, tok)| !tok.content.is_empty())
            .map(|(&id, tok)| Special {
                text: tok.content.clone(),
                id,
                control: tok.special,
            })
            .collect();
        sort_specials(&mut specials);
        let mut plain = plain;
        plain.set_encode_special_tokens(true);

        let size = plain.get_vocab_size(true);
        let byte_level = matches!(plain.get_decoder(), Some(DecoderWrapper::ByteLevel(_)));
        let mut pieces = Vec::with_capacity(size);
        for id in 0..size as u32 {
            let text = plain.id_to_token(id).unwrap_or_default();
            let piece = if added.contains_key(&id) {
                text.into_bytes()
            } else if let Some(byte) = byte_fallback(&text) {
                vec![byte]
            } else if byte_level {
                byte_level::decode_piece(&text).unwrap_or_else(|| text.into_bytes())
            } else {
                plain.decode(&[id], false)?.into_bytes()
            };
            pieces.push(piece);
        }

        let config = read_config(&path.with_file_name("tokenizer_config.json"));
        let named = |key: &str| {
            config
                .as_ref()
                .and_then(|c| c.get(key))
                .and_then(|v| v.as_str().or_else(|| v.get("content")?.as_str()))
                .and_then(|name| plain.token_to_id(name))
        };
        let flag = |key: &str| {
            config
                .as_ref()
                .and_then(|c| c.get(key))
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false)
        };
        Ok(Self {
            bos: named("bos_token"),
            eos: named("eos_token"),
            add_bos: flag("add_bos_token"),
            add_eos: flag("add_eos_token"),
            fast: None,
            plain,
            pieces,
            specials,
        })
    }
}

fn string_array(meta: &Metadata, key: &str) -> std::result::Result<Vec<String>, String> {
    let items = meta
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{key} is missing or not an array"))?;
    items
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("{key} holds a non-string"))
        })
        .collect()
}

fn sort_specials(specials: &mut [Special]) {
    specials.sort_by(|a, b| b.text.len().cmp(&a.text.len()).then(a.id.cmp(&b.id)));
}

/// `<0xAB>` byte-fallback pieces (SentencePiece-style BPE).
fn byte_fallback(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() == 2 {
        u8::from_str_radix(hex, 16).ok()
    } else {
        None
    }
}

fn read_config(path: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_byte_fallback_pieces() {
        assert_eq!(byte_fallback("<0x0A>"), Some(b'\n'));
        assert_eq!(byte_fallback("<0x0>"), None);
        assert_eq!(byte_fallback("hello"), None);
    }

    #[test]
    fn specials_sort_longest_first() {
        let mut s = vec![
            Special {
                text: "<a>".into(),
                id: 1,
                control: true,
            },
            Special {
                text: "<long>".into(),
                id: 2,
                control: true,
            },
        ];
        sort_specials(&mut s);
        assert_eq!(s[0].id, 2);
    }
}
