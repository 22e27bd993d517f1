//! Incremental detokenizer: token ids in, complete UTF-8 text out, stop strings matched across
//! token boundaries. Text that could be the start of a stop string is held back until it
//! either completes the stop (then it is never emitted) or turns out not to be one.

use std::sync::Arc;

use crate::error::{CoreError, Result};
use crate::tokenizer::Tokenizer;

pub struct StreamDecoder {
    tokenizer: Arc<Tokenizer>,
    stops: Vec<String>,
    skip_special: bool,
    /// Bytes of an unfinished UTF-8 character.
    partial: Vec<u8>,
    /// Decoded text not yet emitted: a suffix that is a prefix of some stop string.
    held: String,
    matched: Option<usize>,
    finished: bool,
}

impl StreamDecoder {
    pub fn new(tokenizer: Arc<Tokenizer>, stops: Vec<String>, skip_special: bool) -> Result<Self> {
        if stops.iter().any(String::is_empty) {
            return Err(CoreError::invalid("stop strings must not be empty"));
        }
        Ok(Self {
            tokenizer,
            stops,
            skip_special,
            partial: Vec::new(),
            held: String::new(),
            matched: None,
            finished: false,
        })
    }

    pub fn stopped(&self) -> bool {
        self.matched.is_some()
    }

    /// The stop string that ended the stream, if any.
    pub fn matched_stop(&self) -> Option<&str> {
        self.matched.map(|i| self.stops[i].as_str())
    }

    /// Feeds generated ids; returns the text that is now safe to show.
    pub fn feed(&mut self, ids: &[u32]) -> Result<String> {
        // Validate all ids first so a bad id leaves the state untouched.
        for &id in ids {
            self.tokenizer.piece(id)?;
        }
        if self.stopped() || self.finished {
            return Ok(String::new());
        }
        for &id in ids {
            if self.skip_special && self.tokenizer.is_control(id) {
                continue;
            }
            self.partial.extend_from_slice(self.tokenizer.piece(id)?);
        }
        self.drain_utf8(false);
        Ok(self.release())
    }

    /// Ends the stream: flushes held-back text (an unfinished character becomes U+FFFD).
    pub fn finish(&mut self) -> String {
        if self.finished || self.stopped() {
            self.finished = true;
            return String::new();
        }
        self.drain_utf8(true);
        let mut out = self.release();
        if !self.stopped() {
            out.push_str(&std::mem::take(&mut self.held));
        }
        self.finished = true;
        out
    }

    /// Moves complete characters from `partial` into `held`.
    fn drain_utf8(&mut self, flush: bool) {
        let mut bytes = std::mem::take(&mut self.partial);
        let mut rest: &[u8] = &bytes;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    self.held.push_str(s);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    self.held
                        .push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        Some(bad) => {
                            self.held.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        None if flush => {
                            self.held.push(char::REPLACEMENT_CHARACTER);
                            rest = &[];
                            break;
                        }
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        let keep = rest.len();
        let from = bytes.len() - keep;
        bytes.drain(..from);
        self.partial = bytes;
    }

    /// Emits what cannot be part of a stop string; detects a completed stop string.
    fn release(&mut self) -> String {
        let earliest = self
            .stops
            .iter()
            .enumerate()
            .filter_map(|(i, stop)| self.held.find(stop.as_str()).map(|pos| (pos, i)))
            .min_by_key(|&(pos, i)| (pos, std::cmp::Reverse(self.stops[i].len())));
        if let Some((pos, i)) = earliest {
            self.matched = Some(i);
            let out = self.held[..pos].to_owned();
            self.held.clear();
            self.partial.clear();
            return out;
        }
        // Longest suffix of `held` that is a proper prefix of some stop string.
        let mut keep_from = self.held.len();
        for (pos, _) in self.held.char_indices() {
            let tail = &self.held[pos..];
            if self.stops.iter().any(|s| s.starts_with(tail)) {
                keep_from = pos;
                break;
            }
        }
        let out = self.held[..keep_from].to_owned();
        self.held.drain(..keep_from);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::tests::tiny;

    fn stream(
        tok: &Arc<Tokenizer>,
        text: &str,
        stops: &[&str],
    ) -> (Vec<String>, String, Option<String>) {
        let ids = tok.encode(text, false, false).unwrap();
        let mut dec = StreamDecoder::new(
            tok.clone(),
            stops.iter().map(|s| (*s).to_owned()).collect(),
            true,
        )
        .unwrap();
        let mut outs: Vec<String> = ids.iter().map(|&id| dec.feed(&[id]).unwrap()).collect();
        outs.push(dec.finish());
        let all = outs.concat();
        (outs, all, dec.matched_stop().map(str::to_owned))
    }

    #[test]
    fn emits_only_complete_characters() {
        let tok = Arc::new(tiny());
        let (outs, all, matched) = stream(&tok, "Ёжик 😀 ok", &[]);
        assert_eq!(all, "Ёжик 😀 ok");
        assert!(matched.is_none());
        assert!(outs
            .iter()
            .all(|o| !o.contains(char::REPLACEMENT_CHARACTER)));
    }

    #[test]
    fn stop_across_tokens_is_never_emitted() {
        let tok = Arc::new(tiny());
        let (_, all, matched) = stream(&tok, "hello world\nUser: more", &["\nUser:"]);
        assert_eq!(all, "hello world");
        assert_eq!(matched.as_deref(), Some("\nUser:"));
    }

    #[test]
    fn false_prefix_is_released() {
        let tok = Arc::new(tiny());
        let (_, all, matched) = stream(&tok, "a\nUse it", &["\nUser:"]);
        assert_eq!(all, "a\nUse it");
        assert!(matched.is_none());
    }

    #[test]
    fn control_tokens_are_skipped_and_bad_ids_rejected() {
        let tok = Arc::new(tiny());
        let mut dec = StreamDecoder::new(tok.clone(), vec![], true).unwrap();
        assert_eq!(dec.feed(&[2]).unwrap(), "");
        assert!(dec.feed(&[u32::MAX]).is_err());
        assert!(StreamDecoder::new(tok, vec![String::new()], true).is_err());
    }

    #[test]
    fn unfinished_character_is_replaced_at_finish() {
        let tok = Arc::new(tiny());
        let ids = tok.encode("😀", false, false).unwrap();
        let mut dec = StreamDecoder::new(tok.clone(), vec![], true).unwrap();
        assert_eq!(dec.feed(&ids[..ids.len() - 1]).unwrap(), "");
        assert_eq!(dec.finish(), "\u{fffd}");
    }
}
