//! `clone_core.StreamDecoder`.

use std::sync::Mutex;

use clone_core::StreamDecoder;
use pyo3::prelude::*;

use crate::errors::{guard, CoreError};
use crate::tokenizer::{token_ids, PyTokenizer};

#[pyclass(name = "StreamDecoder", module = "clone_core", frozen)]
pub struct PyStreamDecoder {
    inner: Mutex<StreamDecoder>,
    tokenizer: Py<PyTokenizer>,
}

impl PyStreamDecoder {
    fn with<T>(&self, f: impl FnOnce(&mut StreamDecoder) -> T) -> PyResult<T> {
        let mut guard = self.inner.lock().map_err(|_| {
            CoreError::new_err("StreamDecoder is unusable after an earlier internal error")
        })?;
        Ok(f(&mut guard))
    }
}

#[pymethods]
impl PyStreamDecoder {
    #[new]
    #[pyo3(signature = (tokenizer, stop = Vec::new(), skip_special = true))]
    fn new(
        tokenizer: Bound<'_, PyTokenizer>,
        stop: Vec<String>,
        skip_special: bool,
    ) -> PyResult<Self> {
        let tok = tokenizer.get().inner.clone();
        let inner = guard(|| StreamDecoder::new(tok, stop, skip_special))?;
        Ok(Self {
            inner: Mutex::new(inner),
            tokenizer: tokenizer.unbind(),
        })
    }

    fn feed(&self, ids: Vec<i64>) -> PyResult<String> {
        let ids = token_ids(&self.tokenizer.get().inner, &ids)?;
        self.with(|dec| guard(|| dec.feed(&ids)))?
    }

    fn finish(&self) -> PyResult<String> {
        self.with(|dec| guard(|| Ok(dec.finish())))?
    }

    #[getter]
    fn stopped(&self) -> PyResult<bool> {
        self.with(|dec| dec.stopped())
    }

    #[getter]
    fn matched_stop(&self) -> PyResult<Option<String>> {
        self.with(|dec| dec.matched_stop().map(str::to_owned))
    }

    #[getter]
    fn stop_reason(&self) -> PyResult<Option<&'static str>> {
        self.with(|dec| dec.stopped().then_some("stop"))
    }
}
