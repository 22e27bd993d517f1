//! Fast path of BPE encoding: hand-written pre-tokenizer, then a memo of pre-token -> ids,
//! with the `tokenizers` BPE model applied on a miss. Same ids as the full pipeline.

use std::sync::{PoisonError, RwLock};

use ahash::AHashMap;
use tokenizers::{Model, ModelWrapper};

use crate::byte_level;
use crate::error::Result;
use crate::pre_split::{self, Flavor};

/// Pre-tokens held before the memo is cleared.
const MAX_ENTRIES: usize = 1 << 18;
/// Longer pre-tokens are encoded without being memoised.
const MAX_KEY_BYTES: usize = 64;

pub struct WordBpe {
    flavor: Flavor,
    memo: RwLock<AHashMap<Box<str>, Box<[u32]>>>,
}

impl WordBpe {
    pub fn new(flavor: Flavor) -> Self {
        Self {
            flavor,
            memo: RwLock::new(AHashMap::new()),
        }
    }

    fn bpe(model: &ModelWrapper, word: &str) -> Result<Box<[u32]>> {
        let mapped = byte_level::encode_str(word);
        Ok(model.tokenize(&mapped)?.into_iter().map(|t| t.id).collect())
    }

    /// Calls `sink` with the ids of each pre-token of `text`.
    pub fn encode(
        &self,
        model: &ModelWrapper,
        text: &str,
        mut sink: impl FnMut(&[u32]),
    ) -> Result<()> {
        let mut failure = None;
        let mut misses: Vec<(&str, Box<[u32]>)> = Vec::new();
        {
            let memo = self.memo.read().unwrap_or_else(PoisonError::into_inner);
            pre_split::split(text, self.flavor, |word| {
                if failure.is_some() {
                    return;
                }
                if let Some(ids) = memo.get(word) {
                    sink(ids);
                    return;
                }
                match Self::bpe(model, word) {
                    Ok(ids) => {
                        sink(&ids);
                        if word.len() <= MAX_KEY_BYTES {
                            misses.push((word, ids));
                        }
                    }
                    Err(e) => failure = Some(e),
                }
            });
        }
        if !misses.is_empty() {
            let mut memo = self.memo.write().unwrap_or_else(PoisonError::into_inner);
            if memo.len() + misses.len() > MAX_ENTRIES {
                memo.clear();
            }
            for (word, ids) in misses {
                memo.insert(word.into(), ids);
            }
        }
        failure.map_or(Ok(()), Err)
    }
}
