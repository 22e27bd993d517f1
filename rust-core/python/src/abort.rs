//! `clone_core.AbortFlag`: a flag that llama.cpp's abort callback reads on its compute thread.
//!
//! ggml's CPU backend calls the callback after every graph node (hundreds per step). A Python
//! callback would take the GIL each time and wait behind the event loop; this one is a plain C
//! function reading an atomic, so a step is interrupted within one node of `set()`.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;

/// A `ggml_abort_callback`: `data` is the address of an `AbortFlag`'s atomic.
extern "C" fn flag_is_set(data: *mut c_void) -> bool {
    if data.is_null() {
        return false;
    }
    // SAFETY: `data` is `AbortFlag::data_address`, the boxed atomic of a flag that the Python
    // side keeps alive for as long as the llama.cpp context holds the callback.
    unsafe { (*data.cast::<AtomicBool>()).load(Ordering::Acquire) }
}

#[pyclass(name = "AbortFlag", module = "clone_core", frozen)]
pub struct PyAbortFlag {
    flag: Box<AtomicBool>,
}

#[pymethods]
impl PyAbortFlag {
    #[new]
    fn new() -> Self {
        Self {
            flag: Box::new(AtomicBool::new(false)),
        }
    }

    fn set(&self) {
        self.flag.store(true, Ordering::Release);
    }

    fn clear(&self) {
        self.flag.store(false, Ordering::Release);
    }

    #[getter]
    fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// The address of the C callback `bool (*)(void *data)`.
    // Named exception: the same for every flag, read beside `data_address` from an instance.
    #[allow(clippy::unused_self)]
    #[getter]
    fn callback_address(&self) -> usize {
        flag_is_set as *const () as usize
    }

    /// The address to pass as the callback's `data` (stable for the flag's lifetime).
    #[getter]
    fn data_address(&self) -> usize {
        std::ptr::from_ref::<AtomicBool>(&self.flag) as usize
    }

    /// Calls the C callback as llama.cpp would (for tests).
    fn poll(&self) -> bool {
        flag_is_set(self.data_address() as *mut c_void)
    }
}
