//! `PyO3` bindings of `clone-core`, compiled as the private module `clone_core._core`.

// Named exception: PyO3 extracts Python arguments into owned values (`Vec`, `String`, `PathBuf`).
#![allow(clippy::needless_pass_by_value)]

mod abort;
mod chunk;
mod errors;
mod fit;
mod gguf;
mod lexical;
mod parallel;
mod scheduler;
mod stream;
mod tokenizer;

use pyo3::prelude::*;

/// Panics on purpose, to test that a Rust panic surfaces as `clone_core.InternalError`.
#[pyfunction]
fn _debug_panic() -> PyResult<()> {
    errors::guard(|| -> clone_core::Result<()> { panic!("deliberate panic from _debug_panic()") })
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    parallel::record_import_pid();
    errors::register(m)?;
    m.add_class::<abort::PyAbortFlag>()?;
    m.add_class::<tokenizer::PyTokenizer>()?;
    m.add_class::<fit::PyChatTemplate>()?;
    m.add_class::<fit::PyFitResult>()?;
    m.add_class::<chunk::PyChunk>()?;
    m.add_class::<stream::PyStreamDecoder>()?;
    m.add_class::<lexical::PyLexicalIndex>()?;
    m.add_class::<scheduler::PyScheduler>()?;
    m.add_class::<scheduler::PyStepPlan>()?;
    m.add_class::<scheduler::PySchedulerStats>()?;
    m.add("DEFAULT_CONTEXT_HEADER", fit::DEFAULT_CONTEXT_HEADER)?;
    m.add_function(wrap_pyfunction!(gguf::read_gguf_header, m)?)?;
    m.add_function(wrap_pyfunction!(_debug_panic, m)?)?;
    Ok(())
}
