//! Pre-tokenizers matching llama.cpp's `tokenizer.ggml.pre` families for byte-level BPE.

use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{PreTokenizerWrapper, SplitDelimiterBehavior};

use crate::error::{CoreError, Result};
use crate::pre_split::Flavor;

/// llama.cpp's llama-3 split expression (`LLAMA_VOCAB_PRE_TYPE_LLAMA3`).
const LLAMA3_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Families of `tokenizer.ggml.pre` values we reproduce exactly.
const GPT2_DIGITS: &[&str] = &[
    "smollm",
    "starcoder",
    "refact",
    "command-r",
    "codeshell",
    "exaone",
    "minerva",
];
const GPT2: &[&str] = &["gpt2", "mpt", "olmo", "jais", "gpt-2"];
const LLAMA3: &[&str] = &[
    "llama3",
    "llama-v3",
    "llama-bpe",
    "falcon3",
    "dbrx",
    "smaug-bpe",
];

/// The hand-written splitter equivalent to a GGUF pre-tokenizer, when there is one.
pub fn fast_flavor(pre: &str) -> Option<Flavor> {
    if GPT2_DIGITS.contains(&pre) {
        Some(Flavor::Gpt2Digits)
    } else if GPT2.contains(&pre) {
        Some(Flavor::Gpt2)
    } else {
        None
    }
}

/// Builds the pre-tokenizer for a GGUF `tokenizer.ggml.pre` name.
pub fn for_gguf_pre(pre: &str) -> Result<PreTokenizerWrapper> {
    let byte_level =
        |use_regex| PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, false, use_regex));
    if GPT2_DIGITS.contains(&pre) {
        // "\p{N}" isolated, then the GPT-2 expression.
        return Ok(PreTokenizerWrapper::Sequence(Sequence::new(vec![
            PreTokenizerWrapper::Digits(Digits::new(true)),
            byte_level(true),
        ])));
    }
    if GPT2.contains(&pre) {
        return Ok(byte_level(true));
    }
    if LLAMA3.contains(&pre) {
        let split = Split::new(
            SplitPattern::Regex(LLAMA3_REGEX.into()),
            SplitDelimiterBehavior::Isolated,
            false,
        )?;
        return Ok(PreTokenizerWrapper::Sequence(Sequence::new(vec![
            PreTokenizerWrapper::Split(split),
            byte_level(false),
        ])));
    }
    let mut known: Vec<&str> = [GPT2_DIGITS, GPT2, LLAMA3].concat();
    known.sort_unstable();
    Err(CoreError::Unsupported(format!(
        "tokenizer.ggml.pre = {pre:?} is not supported (supported: {})",
        known.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_families_build() {
        for pre in ["smollm", "gpt2", "llama-bpe"] {
            for_gguf_pre(pre).unwrap();
        }
    }

    #[test]
    fn unknown_family_is_a_clear_error() {
        let err = for_gguf_pre("mystery").unwrap_err().to_string();
        assert!(err.contains("mystery") && err.contains("smollm"), "{err}");
    }
}
