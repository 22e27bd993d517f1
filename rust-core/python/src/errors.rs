//! Python exceptions and the boundary guard: core errors and Rust panics become `CoreError`s.

use std::panic::{catch_unwind, AssertUnwindSafe};

use clone_core::CoreError as Core;
use pyo3::create_exception;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

create_exception!(
    clone_core,
    CoreError,
    PyRuntimeError,
    "Base class of every clone_core error."
);
create_exception!(
    clone_core,
    InvalidInputError,
    CoreError,
    "An argument is out of range or malformed."
);
create_exception!(
    clone_core,
    ModelFormatError,
    CoreError,
    "A model or tokenizer file cannot be used."
);
create_exception!(
    clone_core,
    ContextOverflowError,
    CoreError,
    "The system prompt alone does not fit in the context window."
);
create_exception!(
    clone_core,
    QueueFullError,
    CoreError,
    "The scheduler's bounded queue is full; the caller answers 503 with Retry-After."
);
create_exception!(
    clone_core,
    InternalError,
    CoreError,
    "A bug in the Rust core (a caught panic); the process keeps running."
);

pub fn to_py(err: &Core) -> PyErr {
    let msg = err.to_string();
    match *err {
        Core::InvalidArgument(_) | Core::InvalidTokenId { .. } => InvalidInputError::new_err(msg),
        Core::Gguf { .. } | Core::Unsupported(_) | Core::Io { .. } => {
            ModelFormatError::new_err(msg)
        }
        Core::SystemPromptTooLong { .. } => ContextOverflowError::new_err(msg),
        Core::QueueFull { .. } => QueueFullError::new_err(msg),
        Core::Tokenizer(_) => CoreError::new_err(msg),
    }
}

/// Runs `f`, turning a core error into its exception and a panic into `InternalError`
/// (instead of `PyO3`'s `PanicException`, a `BaseException` that `except Exception` misses).
pub fn guard<T>(f: impl FnOnce() -> clone_core::Result<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(|e| to_py(&e)),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(InternalError::new_err(format!(
                "internal error in clone_core: {what}"
            )))
        }
    }
}

/// Validates a token-count argument coming from Python (which may be negative).
pub fn budget(name: &str, value: i64, allow_zero: bool) -> PyResult<usize> {
    if value < 0 || (value == 0 && !allow_zero) {
        let need = if allow_zero { ">= 0" } else { "> 0" };
        return Err(InvalidInputError::new_err(format!(
            "{name} must be {need}, got {value}"
        )));
    }
    usize::try_from(value).map_err(|_| InvalidInputError::new_err(format!("{name} is too large")))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("CoreError", py.get_type::<CoreError>())?;
    m.add("InvalidInputError", py.get_type::<InvalidInputError>())?;
    m.add("ModelFormatError", py.get_type::<ModelFormatError>())?;
    m.add(
        "ContextOverflowError",
        py.get_type::<ContextOverflowError>(),
    )?;
    m.add("QueueFullError", py.get_type::<QueueFullError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    Ok(())
}
