//! `clone_core.Chunk` and `Tokenizer.chunk`.
//!
//! Takes the core `Tokenizer`, not the Python class: `tokenizer.rs` calls in here, never the reverse.

use clone_core::Tokenizer;
use pyo3::prelude::*;

use crate::errors::{budget, guard};
use crate::parallel;

#[pyclass(name = "Chunk", module = "clone_core", frozen, get_all)]
pub struct PyChunk {
    text: String,
    start: usize,
    end: usize,
    tokens: usize,
}

#[pymethods]
impl PyChunk {
    fn __repr__(&self) -> String {
        format!(
            "Chunk(start={}, end={}, tokens={}, text={:?})",
            self.start,
            self.end,
            self.tokens,
            self.text.chars().take(40).collect::<String>()
        )
    }
}

/// `Tokenizer.chunk` (the `#[pymethods]` entry lives in tokenizer.rs).
pub fn chunk(
    tok: &Tokenizer,
    py: Python<'_>,
    text: &str,
    max_tokens: i64,
    overlap_tokens: i64,
) -> PyResult<Vec<PyChunk>> {
    let max_tokens = budget("max_tokens", max_tokens, false)?;
    let overlap_tokens = budget("overlap_tokens", overlap_tokens, true)?;
    let par = parallel::allowed();
    let chunks = py.detach(|| guard(|| tok.chunk(text, max_tokens, overlap_tokens, par)))?;
    Ok(chunks
        .into_iter()
        .map(|c| PyChunk {
            text: c.text,
            start: c.start,
            end: c.end,
            tokens: c.tokens,
        })
        .collect())
}
