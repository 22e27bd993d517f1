//! The request scheduler behind continuous batching: a bounded queue, weighted fair admission per
//! channel into the engine's sequence slots, and a per-step token plan (decode first, then prompt
//! chunks). It only does bookkeeping; the engine's decode loop asks it what to do each step.
//!
//! Fairness is stride scheduling. Each channel has a weight and a pass (the virtual time it has
//! used). A free slot goes to the channel with waiting requests whose pass would be smallest after
//! the admission (`pass + STRIDE / weight`; ties: bigger weight, then channel name), FIFO within a
//! channel, and that channel's pass advances by `STRIDE / weight`. With weights owner 8 and api 1
//! both busy, api gets exactly one admission in nine. A channel whose queue was empty restarts at
//! no less than the smallest pass of the channels with waiting requests (the last admitted
//! channel's pass when none wait): idling banks no credit and sheds no debt.
//!
//! Requests carry a group: the engine's adapter setting (a `LoRA` scale). llama.cpp applies one adapter
//! setting to a whole `llama_decode`, so one step only plans requests of one group, and the groups
//! of running requests take steps in turn (round robin by group key), as llama-server only batches
//! slots whose `LoRA` settings are equal. With a single group every step plans every request.
//!
//! Preemption: the engine may send a running request back to the front of its channel's queue
//! (`preempt`) so that a waiting request of a heavier channel takes its slot; its re-admission is
//! not charged again (its admission was paid), and it prefills what its kept KV cells lack.
//! A step that decodes may carry fewer prompt tokens than `step_tokens` (`plan`'s `prompt_budget`),
//! so running answers keep flowing while a long prompt is read.
//!
//! Same policy as the pure-Python reference `clone_core.reference.Scheduler`.

use std::collections::{HashMap, VecDeque};

use crate::error::{CoreError, Result};

/// A channel's pass advances by `STRIDE / weight` per admission; lcm(1..=16), so the division is
/// exact for weights 1..=16.
pub const STRIDE: u64 = 720_720;
/// The largest channel weight accepted.
pub const MAX_WEIGHT: u32 = 1000;

/// What the engine does in one `llama_decode` step.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StepPlan {
    /// Sequences whose prompt is fully prefilled: one token each, in admission order.
    pub decode: Vec<i64>,
    /// `(id, n_tokens)` prompt chunks, in admission order.
    pub prefill: Vec<(i64, usize)>,
    /// The group every planned request belongs to (the adapter setting to apply for the step).
    pub group: u32,
}

/// A snapshot of the scheduler's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerStats {
    /// Requests queued, not yet admitted.
    pub waiting: usize,
    /// Queued requests per channel (every configured channel, sorted by name).
    pub waiting_by_channel: Vec<(String, usize)>,
    /// Admitted requests (prefilling and decoding).
    pub running: usize,
    /// Admitted requests with prompt tokens left to prefill.
    pub prefilling: usize,
    /// Admissions since start per channel (every configured channel, sorted by name).
    pub admitted_by_channel: Vec<(String, u64)>,
    /// Submissions refused because the queue was full, since start.
    pub rejected: u64,
    /// Steps whose group (adapter setting) differed from the step before, since start.
    pub group_switches: u64,
    /// Running requests sent back to the queue by `preempt`, since start.
    pub preempted: u64,
}

#[derive(Debug)]
struct Channel {
    name: String,
    weight: u32,
    stride: u64,
    pass: u64,
    /// `(id, prompt_tokens, group, resumed)`, FIFO; a preempted request goes back to the front.
    queue: VecDeque<(i64, usize, u32, bool)>,
    admitted: u64,
}

#[derive(Debug)]
struct Running {
    id: i64,
    /// Prompt tokens still to prefill; 0 once the sequence decodes.
    left: usize,
    group: u32,
    /// Index into `channels`.
    channel: usize,
    /// Computed elsewhere for now (`set_held`): in no plan.
    held: bool,
}

#[derive(Debug)]
pub struct Scheduler {
    max_running: usize,
    max_waiting: usize,
    step_tokens: usize,
    /// Sorted by name.
    channels: Vec<Channel>,
    /// Queued request id -> index into `channels`.
    waiting: HashMap<i64, usize>,
    /// Admitted requests in admission order.
    running: Vec<Running>,
    /// The pass of the channel admitted last.
    last_pass: u64,
    /// The group of the last non-empty plan (none before the first).
    last_group: Option<u32>,
    /// Plans whose group differed from the previous non-empty plan's.
    group_switches: u64,
    rejected: u64,
    preempted: u64,
}

impl Scheduler {
    /// `max_running`: sequence slots; `max_waiting`: queue bound; `step_tokens`: tokens per
    /// decode step (`>= max_running`); `channel_weights`: channel name to weight in 1..=1000.
    pub fn new(
        max_running: usize,
        max_waiting: usize,
        step_tokens: usize,
        channel_weights: impl IntoIterator<Item = (String, u32)>,
    ) -> Result<Self> {
        for (name, value) in [
            ("max_running", max_running),
            ("max_waiting", max_waiting),
            ("step_tokens", step_tokens),
        ] {
            if value == 0 {
                return Err(CoreError::invalid(format!("{name} must be > 0, got 0")));
            }
        }
        if step_tokens < max_running {
            return Err(CoreError::invalid(format!(
                "step_tokens ({step_tokens}) must be >= max_running ({max_running})"
            )));
        }
        let mut channels = Vec::new();
        for (name, weight) in channel_weights {
            if !(1..=MAX_WEIGHT).contains(&weight) {
                return Err(CoreError::invalid(format!(
                    "weight of channel {name:?} must be in 1..={MAX_WEIGHT}, got {weight}"
                )));
            }
            channels.push(Channel {
                name,
                weight,
                stride: STRIDE / u64::from(weight),
                pass: 0,
                queue: VecDeque::new(),
                admitted: 0,
            });
        }
        if channels.is_empty() {
            return Err(CoreError::invalid(
                "channel_weights must name at least one channel",
            ));
        }
        channels.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(pair) = channels.windows(2).find(|p| p[0].name == p[1].name) {
            return Err(CoreError::invalid(format!(
                "channel {:?} is listed twice",
                pair[0].name
            )));
        }
        Ok(Self {
            max_running,
            max_waiting,
            step_tokens,
            channels,
            waiting: HashMap::new(),
            running: Vec::new(),
            last_pass: 0,
            last_group: None,
            group_switches: 0,
            rejected: 0,
            preempted: 0,
        })
    }

    /// Queues a request of `group` (requests of different groups never share a step).
    /// `QueueFull` when `max_waiting` requests already wait.
    pub fn submit(
        &mut self,
        id: i64,
        channel: &str,
        prompt_tokens: usize,
        group: u32,
    ) -> Result<()> {
        let c = self
            .channels
            .binary_search_by(|ch| ch.name.as_str().cmp(channel))
            .map_err(|_| CoreError::invalid(format!("unknown channel {channel:?}")))?;
        if self.waiting.contains_key(&id) || self.running_index(id).is_some() {
            return Err(CoreError::invalid(format!(
                "request {id} is already scheduled"
            )));
        }
        if prompt_tokens == 0 {
            return Err(CoreError::invalid("prompt_tokens must be > 0, got 0"));
        }
        if self.waiting.len() >= self.max_waiting {
            self.rejected += 1;
            return Err(CoreError::QueueFull {
                max_waiting: self.max_waiting,
            });
        }
        if self.channels[c].queue.is_empty() {
            let floor = self
                .channels
                .iter()
                .filter(|ch| !ch.queue.is_empty())
                .map(|ch| ch.pass)
                .min()
                .unwrap_or(self.last_pass);
            let ch = &mut self.channels[c];
            ch.pass = ch.pass.max(floor);
        }
        self.channels[c]
            .queue
            .push_back((id, prompt_tokens, group, false));
        self.waiting.insert(id, c);
        Ok(())
    }

    /// Moves queued requests into free slots; returns their ids in admission order.
    pub fn admit(&mut self) -> Vec<i64> {
        let mut admitted = Vec::new();
        while self.running.len() < self.max_running {
            let Some(c) = self.next_channel() else { break };
            let ch = &mut self.channels[c];
            let Some((id, prompt_tokens, group, resumed)) = ch.queue.pop_front() else {
                break;
            };
            if !resumed {
                ch.pass += ch.stride;
                ch.admitted += 1;
            }
            self.last_pass = ch.pass;
            self.waiting.remove(&id);
            self.running.push(Running {
                id,
                left: prompt_tokens,
                group,
                channel: c,
                held: false,
            });
            admitted.push(id);
        }
        admitted
    }

    fn next_channel(&self) -> Option<usize> {
        self.channels
            .iter()
            .enumerate()
            .filter(|(_, ch)| !ch.queue.is_empty())
            .min_by(|(_, a), (_, b)| {
                (a.pass + a.stride)
                    .cmp(&(b.pass + b.stride))
                    .then(b.weight.cmp(&a.weight))
                    .then(a.name.cmp(&b.name))
            })
            .map(|(i, _)| i)
    }

    fn running_index(&self, id: i64) -> Option<usize> {
        self.running.iter().position(|r| r.id == id)
    }

    /// Part of the prompt was found in the KV cache: only `n_tokens` remain to prefill.
    pub fn set_remaining(&mut self, id: i64, n_tokens: usize) -> Result<()> {
        let Some(i) = self.running_index(id).filter(|&i| self.running[i].left > 0) else {
            return Err(CoreError::invalid(format!(
                "request {id} is not prefilling"
            )));
        };
        if n_tokens == 0 {
            return Err(CoreError::invalid("n_tokens must be > 0, got 0"));
        }
        self.running[i].left = n_tokens;
        Ok(())
    }

    /// Running request `id`'s prompt is read elsewhere for now (`held`: it is in no plan, and keeps
    /// its slot), or is back (`held` false: plans name it again, `set_remaining` says what is left).
    pub fn set_held(&mut self, id: i64, held: bool) -> Result<()> {
        let i = self
            .running_index(id)
            .ok_or_else(|| CoreError::invalid(format!("request {id} is not running")))?;
        self.running[i].held = held;
        Ok(())
    }

    /// Sends running request `id` back to the front of its channel's queue: its slot is free for a
    /// heavier channel's request. When admitted again (uncharged) it prefills `prompt_tokens`
    /// (what its kept KV cells lack; `set_remaining` may lower it). `QueueFull` when `max_waiting`
    /// requests already wait.
    pub fn preempt(&mut self, id: i64, prompt_tokens: usize) -> Result<()> {
        let i = self
            .running_index(id)
            .ok_or_else(|| CoreError::invalid(format!("request {id} is not running")))?;
        if prompt_tokens == 0 {
            return Err(CoreError::invalid("prompt_tokens must be > 0, got 0"));
        }
        if self.waiting.len() >= self.max_waiting {
            return Err(CoreError::QueueFull {
                max_waiting: self.max_waiting,
            });
        }
        let r = self.running.remove(i);
        self.channels[r.channel]
            .queue
            .push_front((id, prompt_tokens, r.group, true));
        self.waiting.insert(id, r.channel);
        self.preempted += 1;
        Ok(())
    }

    /// One step for one group: a token for every decoding sequence of it, the rest of
    /// `step_tokens` for its prompt chunks in admission order, at most `prompt_budget` (>= 1) of
    /// them when the step decodes anything. The group is the next one after the last step's (by
    /// key, wrapping) among the running requests' groups. The plan is taken as executed: prefill
    /// counters advance.
    pub fn plan(&mut self, prompt_budget: Option<usize>) -> StepPlan {
        let Some(group) = self.next_group() else {
            return StepPlan {
                group: self.last_group.unwrap_or(0),
                ..StepPlan::default()
            };
        };
        if self.last_group.is_some_and(|last| last != group) {
            self.group_switches += 1;
        }
        self.last_group = Some(group);
        let decode: Vec<i64> = self
            .running
            .iter()
            .filter(|r| r.left == 0 && r.group == group && !r.held)
            .map(|r| r.id)
            .collect();
        let mut budget = self.step_tokens - decode.len();
        if let Some(cap) = prompt_budget.filter(|_| !decode.is_empty()) {
            budget = budget.min(cap.max(1));
        }
        let mut prefill = Vec::new();
        for r in self
            .running
            .iter_mut()
            .filter(|r| r.group == group && !r.held)
        {
            if budget == 0 {
                break;
            }
            if r.left > 0 {
                let n = r.left.min(budget);
                prefill.push((r.id, n));
                r.left -= n;
                budget -= n;
            }
        }
        StepPlan {
            decode,
            prefill,
            group,
        }
    }

    fn next_group(&self) -> Option<u32> {
        let groups = || self.running.iter().filter(|r| !r.held).map(|r| r.group);
        let after = self
            .last_group
            .and_then(|last| groups().filter(|&g| g > last).min());
        after.or_else(|| groups().min())
    }

    /// A running sequence ended; its slot is free.
    pub fn finish(&mut self, id: i64) -> Result<()> {
        let i = self
            .running_index(id)
            .ok_or_else(|| CoreError::invalid(format!("request {id} is not running")))?;
        self.running.remove(i);
        Ok(())
    }

    /// Removes a waiting or running request; false when the id is unknown.
    pub fn cancel(&mut self, id: i64) -> bool {
        if let Some(i) = self.running_index(id) {
            self.running.remove(i);
            return true;
        }
        let Some(c) = self.waiting.remove(&id) else {
            return false;
        };
        self.channels[c].queue.retain(|&(queued, ..)| queued != id);
        true
    }

    pub fn stats(&self) -> SchedulerStats {
        SchedulerStats {
            waiting: self.waiting.len(),
            waiting_by_channel: self
                .channels
                .iter()
                .map(|ch| (ch.name.clone(), ch.queue.len()))
                .collect(),
            running: self.running.len(),
            prefilling: self.running.iter().filter(|r| r.left > 0).count(),
            admitted_by_channel: self
                .channels
                .iter()
                .map(|ch| (ch.name.clone(), ch.admitted))
                .collect(),
            rejected: self.rejected,
            group_switches: self.group_switches,
            preempted: self.preempted,
        }
    }

    pub fn max_running(&self) -> usize {
        self.max_running
    }

    pub fn max_waiting(&self) -> usize {
        self.max_waiting
    }

    pub fn step_tokens(&self) -> usize {
        self.step_tokens
    }

    /// Channel name to weight, sorted by name.
    pub fn channel_weights(&self) -> Vec<(String, u32)> {
        self.channels
            .iter()
            .map(|ch| (ch.name.clone(), ch.weight))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights(pairs: &[(&str, u32)]) -> Vec<(String, u32)> {
        pairs.iter().map(|&(n, w)| (n.to_owned(), w)).collect()
    }

    fn four() -> Vec<(String, u32)> {
        weights(&[("owner", 8), ("web", 4), ("telegram", 2), ("api", 1)])
    }

    /// Admits and at once finishes one request at a time: the order the scheduler picks.
    fn drain(s: &mut Scheduler, n: usize) -> Vec<i64> {
        (0..n)
            .map(|_| {
                let picked = s.admit();
                assert_eq!(picked.len(), 1);
                s.finish(picked[0]).unwrap();
                picked[0]
            })
            .collect()
    }

    #[test]
    fn higher_weight_first_and_fifo_within_a_channel() {
        let mut s = Scheduler::new(1, 64, 16, four()).unwrap();
        for (id, ch) in [
            (1, "api"),
            (2, "telegram"),
            (3, "owner"),
            (4, "web"),
            (5, "owner"),
        ] {
            s.submit(id, ch, 10, 0).unwrap();
        }
        assert_eq!(drain(&mut s, 5), [3, 5, 4, 2, 1]);
    }

    #[test]
    fn busy_owner_does_not_starve_api() {
        let mut s = Scheduler::new(1, 1000, 8, weights(&[("owner", 8), ("api", 1)])).unwrap();
        for i in 0..400 {
            s.submit(i, "owner", 5, 0).unwrap();
            s.submit(1000 + i, "api", 5, 0).unwrap();
        }
        let order = drain(&mut s, 360);
        let api: Vec<bool> = order.iter().map(|&i| i >= 1000).collect();
        assert_eq!(api.iter().filter(|&&a| a).count(), 40);
        for round in api.chunks(9) {
            assert_eq!(
                round,
                [false, false, false, false, false, false, false, false, true]
            );
        }
        let stats = s.stats();
        assert_eq!(
            stats.admitted_by_channel,
            [("api".to_owned(), 40), ("owner".to_owned(), 320)]
        );
    }

    #[test]
    fn idle_channel_banks_no_credit_and_sheds_no_debt() {
        let mut s = Scheduler::new(1, 1000, 8, weights(&[("owner", 8), ("api", 1)])).unwrap();
        for i in 0..50 {
            s.submit(1000 + i, "api", 5, 0).unwrap();
        }
        drain(&mut s, 50);
        for i in 0..30 {
            s.submit(i, "owner", 5, 0).unwrap();
            s.submit(2000 + i, "api", 5, 0).unwrap();
        }
        let picked: Vec<bool> = drain(&mut s, 18).iter().map(|&i| i >= 2000).collect();
        assert_eq!(picked.iter().filter(|&&a| a).count(), 2);
        assert!(picked[8] && picked[17]);

        let mut s = Scheduler::new(1, 1000, 8, weights(&[("owner", 8), ("api", 1)])).unwrap();
        for i in 0..8 {
            s.submit(i, "owner", 5, 0).unwrap();
        }
        s.submit(1000, "api", 5, 0).unwrap();
        assert_eq!(drain(&mut s, 8), (0..8).collect::<Vec<_>>());
        s.submit(8, "owner", 5, 0).unwrap();
        assert_eq!(drain(&mut s, 2), [1000, 8]);
    }

    #[test]
    fn bounded_queue_rejects_and_counts() {
        let mut s = Scheduler::new(1, 2, 8, four()).unwrap();
        s.submit(1, "api", 4, 0).unwrap();
        s.submit(2, "owner", 4, 0).unwrap();
        assert!(matches!(
            s.submit(3, "owner", 4, 0),
            Err(CoreError::QueueFull { max_waiting: 2 })
        ));
        assert_eq!((s.stats().waiting, s.stats().rejected), (2, 1));
        assert_eq!(s.admit(), [2]);
        s.submit(3, "owner", 4, 0).unwrap();
        assert!(s.submit(4, "web", 4, 0).is_err());
        s.finish(2).unwrap();
        assert_eq!(s.admit(), [3]);
        s.finish(3).unwrap();
        assert_eq!(s.admit(), [1]);
        assert_eq!(s.stats().rejected, 2);
    }

    #[test]
    fn decode_first_then_prefill_chunks_in_admission_order() {
        let mut s = Scheduler::new(3, 64, 8, four()).unwrap();
        s.submit(1, "web", 5, 0).unwrap();
        s.submit(2, "web", 10, 0).unwrap();
        assert_eq!(s.admit(), [1, 2]);
        let plan = s.plan(None);
        assert_eq!((plan.decode, plan.prefill), (vec![], vec![(1, 5), (2, 3)]));
        let plan = s.plan(None);
        assert_eq!((plan.decode, plan.prefill), (vec![1], vec![(2, 7)]));
        s.submit(3, "owner", 20, 0).unwrap();
        assert_eq!(s.admit(), [3]);
        for _ in 0..3 {
            let plan = s.plan(None);
            assert_eq!((plan.decode, plan.prefill), (vec![1, 2], vec![(3, 6)]));
        }
        assert_eq!(s.plan(None).prefill, [(3, 2)]);
        assert_eq!(
            s.plan(None),
            StepPlan {
                decode: vec![1, 2, 3],
                prefill: vec![],
                group: 0,
            }
        );
        assert_eq!(s.stats().prefilling, 0);
    }

    #[test]
    fn set_remaining_skips_cached_tokens() {
        let mut s = Scheduler::new(2, 64, 8, four()).unwrap();
        s.submit(1, "web", 100, 0).unwrap();
        assert!(s.set_remaining(1, 5).is_err()); // still waiting
        s.admit();
        assert!(s.set_remaining(1, 0).is_err());
        s.set_remaining(1, 3).unwrap();
        assert_eq!(s.plan(None).prefill, [(1, 3)]);
        assert_eq!(s.plan(None).decode, [1]);
        assert!(s.set_remaining(1, 5).is_err()); // decoding already
        assert!(s.set_remaining(9, 5).is_err());
    }

    #[test]
    fn a_held_request_keeps_its_slot_and_is_in_no_plan_until_back() {
        let mut s = Scheduler::new(2, 64, 8, four()).unwrap();
        s.submit(1, "api", 100, 0).unwrap();
        s.submit(2, "web", 2, 7).unwrap();
        assert_eq!(s.admit(), [2, 1]);
        s.set_held(1, true).unwrap();
        assert_eq!(s.plan(None).prefill, [(2, 2)]); // group 0 has nothing but the held one
        assert_eq!(s.plan(None).decode, [2]);
        s.submit(3, "api", 4, 0).unwrap();
        assert!(s.admit().is_empty()); // it keeps its slot
        s.set_held(1, false).unwrap();
        s.set_remaining(1, 1).unwrap(); // read elsewhere but its last token
        let plan = s.plan(None);
        assert_eq!((plan.group, plan.prefill), (0, vec![(1, 1)]));
        assert!(s.set_held(9, true).is_err());
    }

    #[test]
    fn cancel_waiting_and_running() {
        let mut s = Scheduler::new(1, 64, 8, four()).unwrap();
        for (id, ch) in [(0, "web"), (1, "web"), (2, "api")] {
            s.submit(id, ch, 4, 0).unwrap();
        }
        assert_eq!(s.admit(), [0]);
        assert!(s.cancel(1));
        assert!(s.cancel(0));
        assert!(!s.cancel(0));
        assert!(!s.cancel(42));
        assert_eq!(s.admit(), [2]);
        assert!(s.finish(0).is_err());
        let stats = s.stats();
        assert_eq!((stats.waiting, stats.running), (0, 1));
        s.submit(0, "web", 4, 0).unwrap();
        assert_eq!(s.stats().waiting, 1);
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(Scheduler::new(0, 1, 1, four()).is_err());
        assert!(Scheduler::new(1, 0, 1, four()).is_err());
        assert!(Scheduler::new(1, 1, 0, four()).is_err());
        assert!(Scheduler::new(8, 1, 4, four()).is_err());
        assert!(Scheduler::new(1, 1, 1, weights(&[])).is_err());
        assert!(Scheduler::new(1, 1, 1, weights(&[("api", 0)])).is_err());
        assert!(Scheduler::new(1, 1, 1, weights(&[("api", 1001)])).is_err());
        assert!(Scheduler::new(1, 1, 1, weights(&[("api", 1), ("api", 2)])).is_err());
        let mut s = Scheduler::new(1, 1, 1, four()).unwrap();
        let err = s.submit(1, "fax", 4, 0).unwrap_err();
        assert!(err.to_string().contains("unknown channel"), "{err}");
        assert!(s.submit(1, "web", 0, 0).is_err());
        s.submit(1, "web", 4, 0).unwrap();
        assert!(s.submit(1, "api", 4, 0).is_err());
        s.admit();
        assert!(s.submit(1, "api", 4, 0).is_err());
        assert!(s.finish(2).is_err());
        assert_eq!(s.stats().rejected, 0);
    }

    #[test]
    fn one_step_plans_one_group_and_groups_take_turns() {
        let mut s = Scheduler::new(4, 8, 16, four()).unwrap();
        s.submit(1, "owner", 3, 1000).unwrap();
        s.submit(2, "api", 3, 0).unwrap();
        s.submit(3, "web", 3, 1000).unwrap();
        assert_eq!(s.admit(), vec![1, 3, 2]);
        // The first plan takes the smallest group; the next the one after it, wrapping.
        let plan = s.plan(None);
        assert_eq!(
            (plan.group, plan.decode.clone(), plan.prefill.clone()),
            (0, vec![], vec![(2, 3)])
        );
        let plan = s.plan(None);
        assert_eq!(
            (plan.group, plan.prefill.clone()),
            (1000, vec![(1, 3), (3, 3)])
        );
        let plan = s.plan(None);
        assert_eq!(
            (plan.group, plan.decode.clone(), plan.prefill.clone()),
            (0, vec![2], vec![])
        );
        let plan = s.plan(None);
        assert_eq!((plan.group, plan.decode.clone()), (1000, vec![1, 3]));
        assert_eq!(s.stats().group_switches, 3);
        // Once a group has no running request left, every step belongs to the other.
        s.finish(2).unwrap();
        for _ in 0..3 {
            let plan = s.plan(None);
            assert_eq!((plan.group, plan.decode.clone()), (1000, vec![1, 3]));
        }
        assert_eq!(s.stats().group_switches, 3);
    }

    #[test]
    fn a_group_gets_the_whole_token_budget_of_its_steps() {
        let mut s = Scheduler::new(2, 4, 8, four()).unwrap();
        s.submit(1, "web", 20, 7).unwrap();
        s.submit(2, "web", 20, 9).unwrap();
        s.admit();
        assert_eq!(s.plan(None).prefill, vec![(1, 8)]);
        assert_eq!(s.plan(None).prefill, vec![(2, 8)]);
        assert_eq!(s.plan(None).prefill, vec![(1, 8)]);
        let empty = Scheduler::new(1, 1, 1, four()).unwrap().plan(None);
        assert_eq!(empty, StepPlan::default());
    }

    #[test]
    fn a_preempted_request_goes_first_in_its_channel_and_is_not_charged_again() {
        let mut s = Scheduler::new(1, 8, 16, four()).unwrap();
        s.submit(1, "api", 10, 0).unwrap();
        assert_eq!(s.admit(), [1]);
        s.plan(None);
        s.submit(2, "api", 10, 0).unwrap();
        s.submit(3, "owner", 10, 0).unwrap();
        s.preempt(1, 1).unwrap();
        assert_eq!(s.admit(), [3]);
        s.finish(3).unwrap();
        assert_eq!(s.admit(), [1]); // ahead of request 2, which waited before it
        assert_eq!(s.plan(None).prefill, [(1, 1)]);
        let stats = s.stats();
        assert_eq!(stats.preempted, 1);
        assert_eq!(
            stats.admitted_by_channel,
            weights(&[("api", 1), ("owner", 1), ("telegram", 0), ("web", 0)])
                .into_iter()
                .map(|(n, w)| (n, u64::from(w)))
                .collect::<Vec<_>>()
        );
        assert!(s.preempt(2, 1).is_err()); // waiting, not running
    }

    #[test]
    fn a_decoding_step_carries_at_most_the_prompt_budget() {
        let mut s = Scheduler::new(2, 8, 64, four()).unwrap();
        s.submit(1, "api", 1, 0).unwrap();
        s.admit();
        assert_eq!(s.plan(Some(4)).prefill, [(1, 1)]); // nothing decodes: the budget does not apply
        s.submit(2, "api", 100, 0).unwrap();
        s.admit();
        let plan = s.plan(Some(4));
        assert_eq!((plan.decode, plan.prefill), (vec![1], vec![(2, 4)]));
        assert_eq!(s.plan(Some(0)).prefill, [(2, 1)]); // at least one token
        assert_eq!(s.plan(None).prefill, [(2, 63)]);
    }
}
