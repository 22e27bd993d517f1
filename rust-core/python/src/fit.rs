//! `clone_core.ChatTemplate`, `FitResult` and `Tokenizer.fit`.
//!
//! Takes the core `Tokenizer`, not the Python class: `tokenizer.rs` calls in here, never the reverse.

use std::collections::HashMap;

use clone_core::{ChatTemplate, Fit, FitRequest, Tokenizer};
use pyo3::prelude::*;

use crate::errors::{budget, guard};

#[pyclass(name = "ChatTemplate", module = "clone_core", frozen)]
pub struct PyChatTemplate {
    pub inner: ChatTemplate,
}

#[pymethods]
impl PyChatTemplate {
    #[new]
    #[pyo3(signature = (prefixes, suffixes, generation_prompt, bos = String::new()))]
    fn new(
        prefixes: HashMap<String, String>,
        suffixes: HashMap<String, String>,
        generation_prompt: String,
        bos: String,
    ) -> PyResult<Self> {
        let inner = guard(|| ChatTemplate::new(prefixes, suffixes, generation_prompt, bos))?;
        Ok(Self { inner })
    }

    #[pyo3(signature = (messages, add_generation_prompt = true))]
    fn render(
        &self,
        messages: Vec<(String, String)>,
        add_generation_prompt: bool,
    ) -> PyResult<String> {
        guard(|| self.inner.render(&messages, add_generation_prompt))
    }

    #[getter]
    fn prefixes(&self) -> HashMap<String, String> {
        self.inner.prefixes.clone()
    }

    #[getter]
    fn suffixes(&self) -> HashMap<String, String> {
        self.inner.suffixes.clone()
    }

    #[getter]
    fn generation_prompt(&self) -> &str {
        &self.inner.generation_prompt
    }

    #[getter]
    fn bos(&self) -> &str {
        &self.inner.bos
    }
}

#[pyclass(name = "FitResult", module = "clone_core", frozen, get_all)]
pub struct PyFitResult {
    messages: Vec<usize>,
    chunks: Vec<usize>,
    prompt_tokens: usize,
    prompt: String,
}

#[pymethods]
impl PyFitResult {
    fn __repr__(&self) -> String {
        format!(
            "FitResult(messages={:?}, chunks={:?}, prompt_tokens={})",
            self.messages, self.chunks, self.prompt_tokens
        )
    }
}

impl From<Fit> for PyFitResult {
    fn from(fit: Fit) -> Self {
        Self {
            messages: fit.messages,
            chunks: fit.chunks,
            prompt_tokens: fit.prompt_tokens,
            prompt: fit.prompt,
        }
    }
}

pub const DEFAULT_CONTEXT_HEADER: &str = "\n\nRelevant context:\n";

/// `Tokenizer.fit` (the `#[pymethods]` entry lives in tokenizer.rs).
#[allow(clippy::too_many_arguments)]
pub fn fit(
    tok: &Tokenizer,
    py: Python<'_>,
    template: &PyChatTemplate,
    system: &str,
    chunks: &[String],
    messages: &[(String, String)],
    n_ctx: i64,
    reserve: i64,
    context_header: &str,
    chunk_separator: &str,
    max_chunk_tokens: Option<i64>,
) -> PyResult<PyFitResult> {
    let req = FitRequest {
        system,
        chunks,
        messages,
        n_ctx: budget("n_ctx", n_ctx, false)?,
        reserve: budget("reserve", reserve, true)?,
        context_header,
        chunk_separator,
        max_chunk_tokens: max_chunk_tokens
            .map(|v| budget("max_chunk_tokens", v, true))
            .transpose()?,
    };
    let template = &template.inner;
    py.detach(|| guard(|| tok.fit(template, &req)))
        .map(Into::into)
}
