//! `clone_core.read_gguf_header`: the core's bounded GGUF header scan, the agent's one GGUF reader.

use std::path::PathBuf;

use clone_core::gguf::{Arrays, Header, Value};
use clone_core::CoreError;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::errors::{guard, to_py, ModelFormatError};

type Tensors<'py> = Bound<'py, PyList>;

/// The metadata (string arrays, nested arrays and long arrays as their length) and the tensors
/// `(name, n_bytes, shape)` of the GGUF file at `path`. A refused header is a `ModelFormatError`
/// whose message is the bare reason; a file that cannot be opened is an `OSError`.
#[pyfunction]
pub fn read_gguf_header(
    py: Python<'_>,
    path: PathBuf,
) -> PyResult<(Bound<'_, PyDict>, Tensors<'_>)> {
    let read = py.detach(|| guard(|| Ok(Header::read(&path, Arrays::Summarized))))?;
    let header = read.map_err(|err| match err {
        CoreError::Gguf { reason, .. } => ModelFormatError::new_err(reason),
        CoreError::Io { path, source } => match source.raw_os_error() {
            // OSError(errno, strerror, filename) is FileNotFoundError, PermissionError, ... as open() raises
            Some(errno) => PyOSError::new_err((errno, source.to_string(), path)),
            None => PyOSError::new_err(format!("{path}: {source}")),
        },
        other => to_py(&other),
    })?;
    let fields = PyDict::new(py);
    for (key, value) in &header.fields {
        fields.set_item(key, value_to_py(py, value)?)?;
    }
    let tensors = PyList::empty(py);
    for tensor in &header.tensors {
        let shape = PyTuple::new(py, &tensor.shape)?;
        tensors.append((tensor.name.as_str(), tensor.n_bytes, shape))?;
    }
    Ok((fields, tensors))
}

fn value_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::UInt(v) | Value::Len(v) => v.into_pyobject(py)?.into_any(),
        Value::Int(v) => v.into_pyobject(py)?.into_any(),
        Value::Float(v) => v.into_pyobject(py)?.into_any(),
        Value::Bool(v) => v.into_pyobject(py)?.to_owned().into_any(),
        Value::Str(v) => v.into_pyobject(py)?.into_any(),
        Value::Array(items) => {
            let items = items
                .iter()
                .map(|item| value_to_py(py, item))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
    })
}
