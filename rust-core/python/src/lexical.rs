//! `clone_core.LexicalIndex`: BM25 over chunks, GIL released while analysing and searching.

use std::sync::RwLock;

use clone_core::LexicalIndex;
use pyo3::prelude::*;

use crate::errors::{guard, InternalError};
use crate::parallel;

#[pyclass(name = "LexicalIndex", module = "clone_core", frozen)]
pub struct PyLexicalIndex {
    inner: RwLock<LexicalIndex>,
}

fn poisoned<T>(_: T) -> PyErr {
    InternalError::new_err("the lexical index lock was poisoned by an earlier panic")
}

#[pymethods]
impl PyLexicalIndex {
    #[new]
    fn new() -> Self {
        Self {
            inner: RwLock::new(LexicalIndex::new()),
        }
    }

    fn add(
        &self,
        py: Python<'_>,
        doc_id: String,
        chunk_ids: Vec<String>,
        texts: Vec<String>,
    ) -> PyResult<()> {
        let par = parallel::allowed();
        py.detach(|| {
            let mut index = self.inner.write().map_err(poisoned)?;
            guard(|| index.add(&doc_id, &chunk_ids, &texts, par))
        })
    }

    fn remove(&self, py: Python<'_>, doc_id: &str) -> PyResult<usize> {
        py.detach(|| Ok(self.inner.write().map_err(poisoned)?.remove(doc_id)))
    }

    #[pyo3(signature = (query, k))]
    fn search(&self, py: Python<'_>, query: &str, k: usize) -> PyResult<Vec<(String, f64)>> {
        py.detach(|| {
            let index = self.inner.read().map_err(poisoned)?;
            guard(|| Ok(index.search(query, k)))
        })
    }

    fn analyze(&self, py: Python<'_>, text: &str) -> PyResult<Vec<String>> {
        py.detach(|| Ok(self.inner.read().map_err(poisoned)?.analyzer().terms(text)))
    }

    #[pyo3(signature = (doc_id=None))]
    fn count(&self, doc_id: Option<&str>) -> PyResult<usize> {
        let index = self.inner.read().map_err(poisoned)?;
        Ok(doc_id.map_or_else(|| index.len(), |d| index.count(d)))
    }

    fn document_ids(&self) -> PyResult<Vec<String>> {
        Ok(self.inner.read().map_err(poisoned)?.document_ids())
    }

    fn __len__(&self) -> PyResult<usize> {
        Ok(self.inner.read().map_err(poisoned)?.len())
    }
}
