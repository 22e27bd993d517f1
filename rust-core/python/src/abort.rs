//! `clone_core.AbortFlag`: what llama.cpp's abort callback reads on its compute thread, after
//! every graph node: whether to stop the step (abort), and whether to hold it where it is (pause).
//!
//! ggml's CPU backend calls the callback after every graph node (hundreds per step). A Python
//! callback would take the GIL each time and wait behind the event loop; this one is a plain C
//! function reading atomics, so a step is interrupted within one node of `set()`.
//!
//! The pause is how two llama.cpp contexts share one CPU: the prompt lane reads a long prompt in
//! whole batches on a thread of its own, and the decode loop, whenever it has a step to run,
//! calls `pause()`. The lane's compute thread then parks inside the callback (between two nodes:
//! nothing is lost, the step goes on from there after `resume()`), and `pause()` returns once it
//! has, so the decode loop's step gets the cores to itself. The lane marks its own calls with
//! `enter()` / `leave()`, so a pause asked for between two of its steps holds the next one back.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// The state behind the callback's `data` pointer.
#[derive(Default)]
struct Control {
    abort: AtomicBool,
    pause: AtomicBool,
    /// Whether the lane is computing (inside `enter` .. `leave`, and not parked).
    computing: Mutex<bool>,
    changed: Condvar,
    /// Nanoseconds spent parked in the callback, since creation.
    parked_ns: AtomicU64,
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, bool> {
        self.computing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Wait (not computing) while a pause is asked for and no abort is; then computing again.
    fn hold<'a>(&'a self, mut computing: MutexGuard<'a, bool>) -> MutexGuard<'a, bool> {
        *computing = false;
        self.changed.notify_all();
        while self.pause.load(Ordering::Acquire) && !self.abort.load(Ordering::Acquire) {
            computing = self
                .changed
                .wait(computing)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *computing = true;
        computing
    }

    /// Called by ggml on the step's first thread after every node.
    fn poll(&self) -> bool {
        if self.pause.load(Ordering::Acquire) && !self.abort.load(Ordering::Acquire) {
            let began = Instant::now();
            drop(self.hold(self.lock()));
            let parked = u64::try_from(began.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.parked_ns.fetch_add(parked, Ordering::Relaxed);
        }
        self.abort.load(Ordering::Acquire)
    }
}

/// A `ggml_abort_callback`: `data` is the address of an `AbortFlag`'s `Control`.
extern "C" fn flag_is_set(data: *mut c_void) -> bool {
    if data.is_null() {
        return false;
    }
    // SAFETY: `data` is `AbortFlag::data_address`, the boxed control of a flag that the Python
    // side keeps alive for as long as the llama.cpp context holds the callback.
    unsafe { (*data.cast::<Control>()).poll() }
}

#[pyclass(name = "AbortFlag", module = "clone_core", frozen)]
pub struct PyAbortFlag {
    control: Box<Control>,
}

#[pymethods]
impl PyAbortFlag {
    #[new]
    fn new() -> Self {
        Self {
            control: Box::default(),
        }
    }

    /// Stop the step in flight (a parked one too) at its next node.
    fn set(&self) {
        let control = &self.control;
        let _computing = control.lock();
        control.abort.store(true, Ordering::Release);
        control.changed.notify_all();
    }

    fn clear(&self) {
        self.control.abort.store(false, Ordering::Release);
    }

    #[getter]
    fn is_set(&self) -> bool {
        self.control.abort.load(Ordering::Acquire)
    }

    /// Hold the computing thread at its next node (or before its next step), and wait until it
    /// holds: True once nothing computes, False after `timeout_s` (the pause stays asked for).
    fn pause(&self, py: Python<'_>, timeout_s: f64) -> bool {
        let control = &self.control;
        control.pause.store(true, Ordering::Release);
        let timeout = Duration::from_secs_f64(timeout_s.max(0.0));
        py.detach(|| {
            let computing = control.lock();
            let (computing, _) = control
                .changed
                .wait_timeout_while(computing, timeout, |computing| *computing)
                .unwrap_or_else(PoisonError::into_inner);
            !*computing
        })
    }

    /// Let the held thread go on.
    fn resume(&self) {
        let control = &self.control;
        let _computing = control.lock();
        control.pause.store(false, Ordering::Release);
        control.changed.notify_all();
    }

    #[getter]
    fn pause_asked(&self) -> bool {
        self.control.pause.load(Ordering::Acquire)
    }

    /// (the computing thread) A step begins: waits while a pause is asked for.
    fn enter(&self, py: Python<'_>) {
        let control = &self.control;
        py.detach(|| drop(control.hold(control.lock())));
    }

    /// (the computing thread) The step ended.
    fn leave(&self) {
        let control = &self.control;
        let mut computing = control.lock();
        *computing = false;
        control.changed.notify_all();
    }

    /// Seconds the computing thread spent parked inside steps, since creation.
    #[getter]
    fn parked_s(&self) -> f64 {
        // Named exception: nanoseconds to seconds for a report; f64's 52 bits hold 52 days.
        #[allow(clippy::cast_precision_loss)]
        let ns = self.control.parked_ns.load(Ordering::Relaxed) as f64;
        ns / 1e9
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
        std::ptr::from_ref::<Control>(&self.control) as usize
    }

    /// Calls the C callback as llama.cpp would (for tests; parks while a pause is asked for).
    fn poll(&self, py: Python<'_>) -> bool {
        let address = self.data_address();
        py.detach(|| flag_is_set(address as *mut c_void))
    }
}
