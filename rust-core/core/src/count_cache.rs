//! Bounded memo of token counts for text segments that recur across calls (chat history).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Maps text to its token count, one table per special-token mode. Cleared wholesale when it
/// holds more than `max_bytes` of text: history is re-fitted every turn, so a cold restart
/// costs one uncached fit.
pub struct CountCache {
    max_bytes: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    bytes: usize,
    /// Index 0: specials as text; index 1: specials parsed.
    maps: [HashMap<Box<str>, usize>; 2],
}

impl CountCache {
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn get(&self, text: &str, parse_special: bool) -> Option<usize> {
        self.lock().maps[usize::from(parse_special)]
            .get(text)
            .copied()
    }

    pub fn insert(&self, text: &str, parse_special: bool, count: usize) {
        if text.len() > self.max_bytes / 4 {
            return;
        }
        let mut inner = self.lock();
        if inner.bytes + text.len() > self.max_bytes {
            inner.maps.iter_mut().for_each(HashMap::clear);
            inner.bytes = 0;
        }
        if inner.maps[usize::from(parse_special)]
            .insert(text.into(), count)
            .is_none()
        {
            inner.bytes += text.len();
        }
    }

    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.maps.iter_mut().for_each(HashMap::clear);
        inner.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_per_mode_and_evicts_when_full() {
        let cache = CountCache::new(100);
        cache.insert("hello", false, 1);
        assert_eq!(cache.get("hello", false), Some(1));
        assert_eq!(cache.get("hello", true), None);
        for text in ["a".repeat(24), "b".repeat(24), "c".repeat(24)] {
            cache.insert(&text, true, 3);
        }
        assert_eq!(cache.get("hello", false), Some(1));
        cache.insert(&"d".repeat(24), true, 3);
        assert_eq!(cache.get("hello", false), None, "cleared once over budget");
        assert_eq!(cache.get(&"d".repeat(24), true), Some(3));
        cache.clear();
        assert_eq!(cache.get(&"d".repeat(24), true), None);
    }
}
