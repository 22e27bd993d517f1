//! BM25 lexical index with Russian and English Snowball stemming, for hybrid retrieval.
//!
//! The analyzer mirrors the pure-Python reference (`clone_core.reference.ReferenceLexicalIndex`):
//! words are runs of letters, digits and `_` (Python's `\w`), lower-cased with `ё` folded to `е`,
//! stop words dropped, then stemmed with the Russian stemmer when the word has a Cyrillic
//! letter, with the English one when it is all letters, and kept as is otherwise.

use ahash::{AHashMap, AHashSet};
use rayon::prelude::*;
use rust_stemmers::{Algorithm, Stemmer};
use unicode_general_category::{get_general_category, GeneralCategory as G};

use crate::error::{CoreError, Result};

/// BM25 term-frequency saturation.
pub const K1: f64 = 1.2;
/// BM25 length normalisation.
pub const B: f64 = 0.75;

const STOPWORDS: &str = "a an and are as at be by for from how in is it of on or that the this to was what when \
where which who why with do does i you we my our your can \
и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было вот от \
меня еще нет о из ему теперь когда даже ну ли если уже или ни быть был него до вас нибудь опять уж вам ведь \
там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтобы без будто чего раз \
тоже себе под будет ж кто этот того потому этого какой ли мой сколько какая какие какое";

fn is_letter(c: char) -> bool {
    matches!(
        get_general_category(c),
        G::UppercaseLetter
            | G::LowercaseLetter
            | G::TitlecaseLetter
            | G::ModifierLetter
            | G::OtherLetter
    )
}

fn is_word_char(c: char) -> bool {
    c == '_'
        || is_letter(c)
        || matches!(
            get_general_category(c),
            G::DecimalNumber | G::LetterNumber | G::OtherNumber
        )
}

/// Splits text into index terms.
pub struct Analyzer {
    russian: Stemmer,
    english: Stemmer,
    stopwords: AHashSet<&'static str>,
}

impl Default for Analyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl Analyzer {
    pub fn new() -> Self {
        Self {
            russian: Stemmer::create(Algorithm::Russian),
            english: Stemmer::create(Algorithm::English),
            stopwords: STOPWORDS.split_whitespace().collect(),
        }
    }

    pub fn terms(&self, text: &str) -> Vec<String> {
        let lowered = text.to_lowercase().replace('ё', "е");
        let mut terms = Vec::new();
        for word in lowered
            .split(|c: char| !is_word_char(c))
            .filter(|w| !w.is_empty())
        {
            if self.stopwords.contains(word) {
                continue;
            }
            let term = if word.chars().any(|c| ('а'..='я').contains(&c)) {
                self.russian.stem(word).into_owned()
            } else if word.chars().all(is_letter) {
                self.english.stem(word).into_owned()
            } else {
                word.to_owned()
            };
            terms.push(term);
        }
        terms
    }
}

struct Entry {
    chunk_id: String,
    doc_id: String,
    length: u32,
    terms: Vec<String>,
}

/// An in-memory BM25 index of chunks grouped by document.
#[derive(Default)]
pub struct LexicalIndex {
    analyzer: Analyzer,
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    by_chunk: AHashMap<String, u32>,
    by_doc: AHashMap<String, Vec<u32>>,
    postings: AHashMap<String, Vec<(u32, u32)>>,
    total_length: u64,
    live: usize,
}

impl LexicalIndex {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// Adds (or replaces) a document's chunks. Analysis runs in parallel when `parallel`.
    pub fn add(
        &mut self,
        doc_id: &str,
        chunk_ids: &[String],
        texts: &[String],
        parallel: bool,
    ) -> Result<()> {
        if chunk_ids.len() != texts.len() {
            return Err(CoreError::invalid(format!(
                "chunk_ids ({}) and texts ({}) differ in length",
                chunk_ids.len(),
                texts.len()
            )));
        }
        let unique: AHashSet<&String> = chunk_ids.iter().collect();
        if unique.len() != chunk_ids.len() {
            return Err(CoreError::invalid("chunk_ids must be unique"));
        }
        let analyze = |text: &String| self.analyzer.terms(text);
        let analyzed: Vec<Vec<String>> = if parallel {
            texts.par_iter().map(analyze).collect()
        } else {
            texts.iter().map(analyze).collect()
        };
        self.remove(doc_id);
        for chunk_id in chunk_ids {
            if let Some(&slot) = self.by_chunk.get(chunk_id) {
                self.remove_slot(slot);
            }
        }
        for (chunk_id, terms) in chunk_ids.iter().zip(analyzed) {
            self.insert(doc_id, chunk_id, &terms);
        }
        Ok(())
    }

    fn insert(&mut self, doc_id: &str, chunk_id: &str, terms: &[String]) {
        let mut tf: AHashMap<&str, u32> = AHashMap::new();
        for term in terms {
            *tf.entry(term.as_str()).or_default() += 1;
        }
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            (self.slots.len() - 1) as u32
        });
        for (term, count) in &tf {
            self.postings
                .entry((*term).to_owned())
                .or_default()
                .push((slot, *count));
        }
        let length = terms.len() as u32;
        self.slots[slot as usize] = Some(Entry {
            chunk_id: chunk_id.to_owned(),
            doc_id: doc_id.to_owned(),
            length,
            terms: tf.keys().map(|t| (*t).to_owned()).collect(),
        });
        self.by_chunk.insert(chunk_id.to_owned(), slot);
        self.by_doc.entry(doc_id.to_owned()).or_default().push(slot);
        self.total_length += u64::from(length);
        self.live += 1;
    }

    fn remove_slot(&mut self, slot: u32) {
        let Some(entry) = self.slots[slot as usize].take() else {
            return;
        };
        for term in &entry.terms {
            if let Some(list) = self.postings.get_mut(term) {
                list.retain(|&(s, _)| s != slot);
                if list.is_empty() {
                    self.postings.remove(term);
                }
            }
        }
        self.by_chunk.remove(&entry.chunk_id);
        if let Some(slots) = self.by_doc.get_mut(&entry.doc_id) {
            slots.retain(|&s| s != slot);
            if slots.is_empty() {
                self.by_doc.remove(&entry.doc_id);
            }
        }
        self.total_length -= u64::from(entry.length);
        self.live -= 1;
        self.free.push(slot);
    }

    /// Removes every chunk of a document; returns how many were removed.
    pub fn remove(&mut self, doc_id: &str) -> usize {
        let slots = self.by_doc.get(doc_id).cloned().unwrap_or_default();
        for &slot in &slots {
            self.remove_slot(slot);
        }
        slots.len()
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub fn count(&self, doc_id: &str) -> usize {
        self.by_doc.get(doc_id).map_or(0, Vec::len)
    }

    pub fn document_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.by_doc.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// The `k` best chunks for `query`: `(chunk_id, score)`, best first, ties by chunk id.
    pub fn search(&self, query: &str, k: usize) -> Vec<(String, f64)> {
        if k == 0 || self.live == 0 {
            return Vec::new();
        }
        let terms: AHashSet<String> = self.analyzer.terms(query).into_iter().collect();
        let n = self.live as f64;
        let avg_length = self.total_length as f64 / n;
        let mut scores: AHashMap<u32, f64> = AHashMap::new();
        for term in &terms {
            let Some(list) = self.postings.get(term) else {
                continue;
            };
            let df = list.len() as f64;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for &(slot, tf) in list {
                let Some(entry) = &self.slots[slot as usize] else {
                    continue;
                };
                let norm = if avg_length > 0.0 {
                    K1 * (1.0 - B + B * f64::from(entry.length) / avg_length)
                } else {
                    K1
                };
                let tf = f64::from(tf);
                *scores.entry(slot).or_default() += idf * tf * (K1 + 1.0) / (tf + norm);
            }
        }
        let mut ranked: Vec<(String, f64)> = scores
            .into_iter()
            .filter_map(|(slot, score)| {
                self.slots[slot as usize]
                    .as_ref()
                    .map(|e| (e.chunk_id.clone(), score))
            })
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ranked.truncate(k);
        ranked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn stems_russian_and_english_and_drops_stop_words() {
        let a = Analyzer::new();
        assert_eq!(a.terms("Машинами и машины"), vec!["машин", "машин"]);
        assert_eq!(a.terms("The runners are running"), vec!["runner", "run"]);
        assert_eq!(
            a.terms("Ёлка, ёж; price_list 42 x2"),
            vec!["елк", "еж", "price_list", "42", "x2"]
        );
    }

    #[test]
    fn finds_inflected_forms_and_ranks_by_bm25() {
        let mut index = LexicalIndex::new();
        index
            .add(
                "d1",
                &ids(&["c1", "c2"]),
                &ids(&["Доставка курьером по Москве", "Оплата картой"]),
                false,
            )
            .unwrap();
        index
            .add(
                "d2",
                &ids(&["c3"]),
                &ids(&["Delivery takes two days"]),
                false,
            )
            .unwrap();
        let hits = index.search("доставкой курьерской", 5);
        assert_eq!(hits[0].0, "c1");
        assert_eq!(index.search("deliveries", 5)[0].0, "c3");
        assert!(index.search("nothing matches", 5).is_empty());
    }

    #[test]
    fn remove_leaves_nothing_behind() {
        let mut index = LexicalIndex::new();
        index
            .add("d1", &ids(&["c1"]), &ids(&["alpha beta"]), false)
            .unwrap();
        index
            .add("d2", &ids(&["c2"]), &ids(&["alpha gamma"]), false)
            .unwrap();
        assert_eq!(index.remove("d1"), 1);
        assert_eq!(index.len(), 1);
        assert_eq!(index.document_ids(), vec!["d2".to_owned()]);
        assert!(index.search("beta", 3).is_empty());
        assert_eq!(index.search("alpha", 3).len(), 1);
        assert!(!index.postings.contains_key("beta"));
    }

    #[test]
    fn re_adding_a_document_replaces_it() {
        let mut index = LexicalIndex::new();
        index
            .add("d1", &ids(&["c1", "c2"]), &ids(&["one", "two"]), false)
            .unwrap();
        index
            .add("d1", &ids(&["c3"]), &ids(&["three"]), true)
            .unwrap();
        assert_eq!(index.count("d1"), 1);
        assert!(index.search("two", 3).is_empty());
    }

    #[test]
    fn mismatched_or_duplicate_ids_are_errors() {
        let mut index = LexicalIndex::new();
        assert!(index.add("d", &ids(&["a"]), &ids(&[]), false).is_err());
        assert!(index
            .add("d", &ids(&["a", "a"]), &ids(&["x", "y"]), false)
            .is_err());
        assert!(index.is_empty());
    }
}
