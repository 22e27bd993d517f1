//! `clone_core.Scheduler`, `StepPlan` and `SchedulerStats`.
//!
//! The GIL is kept: every call is bookkeeping over a few dozen requests (well under a
//! microsecond of work), less than the cost of releasing and re-taking it. The lock is only ever
//! taken with the GIL held, so it cannot deadlock against it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use clone_core::scheduler::MAX_WEIGHT;
use clone_core::{Scheduler, SchedulerStats, StepPlan};
use pyo3::prelude::*;

use crate::errors::{budget, guard, InternalError, InvalidInputError};

#[pyclass(name = "StepPlan", module = "clone_core", frozen, eq, get_all)]
#[derive(PartialEq, Eq)]
pub struct PyStepPlan {
    decode: Vec<i64>,
    prefill: Vec<(i64, usize)>,
    group: u32,
}

impl From<StepPlan> for PyStepPlan {
    fn from(plan: StepPlan) -> Self {
        Self {
            decode: plan.decode,
            prefill: plan.prefill,
            group: plan.group,
        }
    }
}

#[pymethods]
impl PyStepPlan {
    fn __repr__(&self) -> String {
        format!(
            "StepPlan(decode={:?}, prefill={:?}, group={})",
            self.decode, self.prefill, self.group
        )
    }
}

#[pyclass(name = "SchedulerStats", module = "clone_core", frozen, eq, get_all)]
#[derive(PartialEq, Eq)]
pub struct PySchedulerStats {
    waiting: usize,
    waiting_by_channel: BTreeMap<String, usize>,
    running: usize,
    prefilling: usize,
    admitted_by_channel: BTreeMap<String, u64>,
    rejected: u64,
    group_switches: u64,
    preempted: u64,
}

impl From<SchedulerStats> for PySchedulerStats {
    fn from(s: SchedulerStats) -> Self {
        Self {
            waiting: s.waiting,
            waiting_by_channel: s.waiting_by_channel.into_iter().collect(),
            running: s.running,
            prefilling: s.prefilling,
            admitted_by_channel: s.admitted_by_channel.into_iter().collect(),
            rejected: s.rejected,
            group_switches: s.group_switches,
            preempted: s.preempted,
        }
    }
}

#[pymethods]
impl PySchedulerStats {
    fn __repr__(&self) -> String {
        format!(
            "SchedulerStats(waiting={}, waiting_by_channel={:?}, running={}, prefilling={}, \
             admitted_by_channel={:?}, rejected={}, group_switches={}, preempted={})",
            self.waiting,
            self.waiting_by_channel,
            self.running,
            self.prefilling,
            self.admitted_by_channel,
            self.rejected,
            self.group_switches,
            self.preempted
        )
    }
}

#[pyclass(name = "Scheduler", module = "clone_core", frozen)]
pub struct PyScheduler {
    inner: Mutex<Scheduler>,
}

impl PyScheduler {
    fn with<T>(&self, f: impl FnOnce(&mut Scheduler) -> PyResult<T>) -> PyResult<T> {
        let mut guard = self.inner.lock().map_err(|_| {
            InternalError::new_err("Scheduler is unusable after an earlier internal error")
        })?;
        f(&mut guard)
    }
}

#[pymethods]
impl PyScheduler {
    #[new]
    #[pyo3(signature = (*, max_running, max_waiting, step_tokens, channel_weights))]
    fn new(
        max_running: i64,
        max_waiting: i64,
        step_tokens: i64,
        channel_weights: HashMap<String, i64>,
    ) -> PyResult<Self> {
        let max_running = budget("max_running", max_running, false)?;
        let max_waiting = budget("max_waiting", max_waiting, false)?;
        let step_tokens = budget("step_tokens", step_tokens, false)?;
        let mut weights = Vec::with_capacity(channel_weights.len());
        for (name, weight) in channel_weights {
            let Ok(w) = u32::try_from(weight) else {
                return Err(InvalidInputError::new_err(format!(
                    "weight of channel {name:?} must be in 1..={MAX_WEIGHT}, got {weight}"
                )));
            };
            weights.push((name, w));
        }
        let inner = guard(|| Scheduler::new(max_running, max_waiting, step_tokens, weights))?;
        Ok(Self {
            inner: Mutex::new(inner),
        })
    }

    #[pyo3(signature = (request_id, channel, prompt_tokens, group = 0))]
    fn submit(
        &self,
        request_id: i64,
        channel: &str,
        prompt_tokens: i64,
        group: i64,
    ) -> PyResult<()> {
        let prompt_tokens = budget("prompt_tokens", prompt_tokens, false)?;
        let Ok(group) = u32::try_from(group) else {
            return Err(InvalidInputError::new_err(format!(
                "group must be in 0..={}, got {group}",
                u32::MAX
            )));
        };
        self.with(|s| guard(|| s.submit(request_id, channel, prompt_tokens, group)))
    }

    fn admit(&self) -> PyResult<Vec<i64>> {
        self.with(|s| guard(|| Ok(s.admit())))
    }

    fn set_remaining(&self, request_id: i64, n_tokens: i64) -> PyResult<()> {
        let n_tokens = budget("n_tokens", n_tokens, false)?;
        self.with(|s| guard(|| s.set_remaining(request_id, n_tokens)))
    }

    fn set_held(&self, request_id: i64, held: bool) -> PyResult<()> {
        self.with(|s| guard(|| s.set_held(request_id, held)))
    }

    #[pyo3(signature = (prompt_budget = None))]
    fn plan(&self, prompt_budget: Option<i64>) -> PyResult<PyStepPlan> {
        let prompt_budget = prompt_budget
            .map(|n| budget("prompt_budget", n, true))
            .transpose()?;
        self.with(|s| guard(|| Ok(s.plan(prompt_budget).into())))
    }

    fn preempt(&self, request_id: i64, prompt_tokens: i64) -> PyResult<()> {
        let prompt_tokens = budget("prompt_tokens", prompt_tokens, false)?;
        self.with(|s| guard(|| s.preempt(request_id, prompt_tokens)))
    }

    fn finish(&self, request_id: i64) -> PyResult<()> {
        self.with(|s| guard(|| s.finish(request_id)))
    }

    fn cancel(&self, request_id: i64) -> PyResult<bool> {
        self.with(|s| guard(|| Ok(s.cancel(request_id))))
    }

    fn stats(&self) -> PyResult<PySchedulerStats> {
        self.with(|s| Ok(s.stats().into()))
    }

    #[getter]
    fn max_running(&self) -> PyResult<usize> {
        self.with(|s| Ok(s.max_running()))
    }

    #[getter]
    fn max_waiting(&self) -> PyResult<usize> {
        self.with(|s| Ok(s.max_waiting()))
    }

    #[getter]
    fn step_tokens(&self) -> PyResult<usize> {
        self.with(|s| Ok(s.step_tokens()))
    }

    #[getter]
    fn channel_weights(&self) -> PyResult<BTreeMap<String, u32>> {
        self.with(|s| Ok(s.channel_weights().into_iter().collect()))
    }
}
