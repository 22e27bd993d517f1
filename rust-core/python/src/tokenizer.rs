//! `clone_core.Tokenizer`: the model's tokenizer, GIL released around every heavy call.

use std::path::PathBuf;
use std::sync::Arc;

use clone_core::{CoreError, Tokenizer};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::chunk::{self, PyChunk};
use crate::errors::{guard, InvalidInputError};
use crate::fit::{self, PyChatTemplate, PyFitResult};
use crate::parallel;

#[pyclass(name = "Tokenizer", module = "clone_core", frozen)]
pub struct PyTokenizer {
    pub inner: Arc<Tokenizer>,
}

/// Converts Python token ids (any int) to vocabulary ids, with a clear error for bad ones.
pub fn token_ids(tok: &Tokenizer, ids: &[i64]) -> PyResult<Vec<u32>> {
    let size = tok.vocab_size();
    ids.iter()
        .map(|&id| {
            u32::try_from(id)
                .ok()
                .filter(|&v| (v as usize) < size)
                .ok_or_else(|| {
                    InvalidInputError::new_err(
                        CoreError::InvalidTokenId {
                            id,
                            vocab_size: size,
                        }
                        .to_string(),
                    )
                })
        })
        .collect()
}

#[pymethods]
impl PyTokenizer {
    #[staticmethod]
    fn from_gguf(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let tok = py.detach(|| guard(|| Tokenizer::from_gguf(&path)))?;
        Ok(Self {
            inner: Arc::new(tok),
        })
    }

    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let tok = py.detach(|| guard(|| Tokenizer::from_tokenizer_json(&path)))?;
        Ok(Self {
            inner: Arc::new(tok),
        })
    }

    #[pyo3(signature = (text, add_special = false, parse_special = false))]
    fn encode(
        &self,
        py: Python<'_>,
        text: &str,
        add_special: bool,
        parse_special: bool,
    ) -> PyResult<Vec<u32>> {
        let tok = &self.inner;
        py.detach(|| guard(|| tok.encode(text, add_special, parse_special)))
    }

    #[pyo3(signature = (texts, add_special = false, parse_special = false))]
    fn encode_batch(
        &self,
        py: Python<'_>,
        texts: Vec<String>,
        add_special: bool,
        parse_special: bool,
    ) -> PyResult<Vec<Vec<u32>>> {
        let tok = &self.inner;
        let par = parallel::allowed();
        py.detach(|| guard(|| tok.encode_batch(&texts, add_special, parse_special, par)))
    }

    #[pyo3(signature = (ids, skip_special = false))]
    fn decode(&self, py: Python<'_>, ids: Vec<i64>, skip_special: bool) -> PyResult<String> {
        let ids = token_ids(&self.inner, &ids)?;
        let tok = &self.inner;
        py.detach(|| guard(|| tok.decode(&ids, skip_special)))
    }

    #[pyo3(signature = (text, parse_special = false))]
    fn count(&self, py: Python<'_>, text: &str, parse_special: bool) -> PyResult<usize> {
        let tok = &self.inner;
        py.detach(|| guard(|| tok.count(text, parse_special)))
    }

    #[pyo3(signature = (texts, parse_special = false))]
    fn count_batch(
        &self,
        py: Python<'_>,
        texts: Vec<String>,
        parse_special: bool,
    ) -> PyResult<Vec<usize>> {
        let tok = &self.inner;
        let par = parallel::allowed();
        py.detach(|| guard(|| tok.count_batch(&texts, parse_special, par)))
    }

    fn token_to_bytes(&self, id: i64) -> PyResult<Vec<u8>> {
        let ids = token_ids(&self.inner, &[id])?;
        guard(|| self.inner.piece(ids[0]).map(<[u8]>::to_vec))
    }

    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (
        template, system, chunks, messages, n_ctx, reserve,
        context_header = fit::DEFAULT_CONTEXT_HEADER.to_owned(), chunk_separator = "\n\n".to_owned(),
        max_chunk_tokens = None,
    ))]
    fn fit(
        &self,
        py: Python<'_>,
        template: &PyChatTemplate,
        system: String,
        chunks: Vec<String>,
        messages: Vec<(String, String)>,
        n_ctx: i64,
        reserve: i64,
        context_header: String,
        chunk_separator: String,
        max_chunk_tokens: Option<i64>,
    ) -> PyResult<PyFitResult> {
        fit::fit(
            &self.inner,
            py,
            template,
            &system,
            &chunks,
            &messages,
            n_ctx,
            reserve,
            &context_header,
            &chunk_separator,
            max_chunk_tokens,
        )
    }

    #[pyo3(signature = (text, max_tokens, overlap_tokens = 0))]
    fn chunk(
        &self,
        py: Python<'_>,
        text: &str,
        max_tokens: i64,
        overlap_tokens: i64,
    ) -> PyResult<Vec<PyChunk>> {
        chunk::chunk(&self.inner, py, text, max_tokens, overlap_tokens)
    }

    fn clear_cache(&self) {
        self.inner.clear_cache();
    }

    #[getter]
    fn vocab_size(&self) -> usize {
        self.inner.vocab_size()
    }

    #[getter]
    fn bos_id(&self) -> Option<u32> {
        self.inner.bos()
    }

    #[getter]
    fn eos_id(&self) -> Option<u32> {
        self.inner.eos()
    }

    #[getter]
    fn add_bos(&self) -> bool {
        self.inner.add_bos()
    }

    #[getter]
    fn special_tokens<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for special in self.inner.specials() {
            dict.set_item(&special.text, special.id)?;
        }
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        format!(
            "<clone_core.Tokenizer vocab_size={}>",
            self.inner.vocab_size()
        )
    }
}
