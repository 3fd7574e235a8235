//! Fault injection for tests: service errors, latency, connection resets, truncated and stalled bodies at given rates,
//! drawn from a seeded generator so a failing run can be replayed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Clone, Copy, Debug, Default)]
pub struct FaultRates {
    /// 503 ServiceUnavailable instead of running the model.
    pub service_unavailable: f64,
    /// 429 ModelNotReadyException instead of running the model.
    pub model_not_ready: f64,
    /// Extra latency before answering.
    pub latency: f64,
    pub latency_duration: Duration,
    /// The connection is dropped after the model ran, before the answer is sent.
    pub reset: f64,
    /// The answer announces its full length and stops halfway.
    pub truncate: f64,
    /// The answer stops halfway for `stall_duration`, then the connection breaks.
    pub stall: f64,
    pub stall_duration: Duration,
}

/// What to do with one request.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub service_unavailable: bool,
    pub model_not_ready: bool,
    pub delay: Option<Duration>,
    pub reset: bool,
    pub truncate: bool,
    pub stall: Option<Duration>,
}

#[derive(Default)]
pub struct Counters {
    pub service_unavailable: AtomicU64,
    pub model_not_ready: AtomicU64,
    pub latency: AtomicU64,
    pub reset: AtomicU64,
    pub truncate: AtomicU64,
    pub stall: AtomicU64,
}

pub struct Faults {
    rates: FaultRates,
    state: Mutex<u64>,
    pub counters: Counters,
    /// Requests seen per `X-Amzn-SageMaker-Inference-Id`, so tests can match client retry counts.
    pub seen: Option<Mutex<HashMap<String, u64>>>,
}

impl Faults {
    pub fn new(rates: FaultRates, seed: u64, track_inference_ids: bool) -> Self {
        Self {
            rates,
            state: Mutex::new(seed | 1),
            counters: Counters::default(),
            seen: track_inference_ids.then(|| Mutex::new(HashMap::new())),
        }
    }

    /// xorshift64*: uniform in [0, 1).
    fn draw(&self) -> f64 {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut x = *state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *state = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn record(&self, inference_id: Option<&str>) {
        if let (Some(seen), Some(id)) = (&self.seen, inference_id) {
            *seen.lock().unwrap_or_else(|p| p.into_inner()).entry(id.to_owned()).or_default() += 1;
        }
    }

    pub fn plan(&self) -> Plan {
        let rates = &self.rates;
        let mut plan = Plan::default();
        let front = self.draw();
        if front < rates.service_unavailable {
            plan.service_unavailable = true;
            self.counters.service_unavailable.fetch_add(1, Ordering::Relaxed);
            return plan;
        }
        if front < rates.service_unavailable + rates.model_not_ready {
            plan.model_not_ready = true;
            self.counters.model_not_ready.fetch_add(1, Ordering::Relaxed);
            return plan;
        }
        if self.draw() < rates.latency {
            plan.delay = Some(rates.latency_duration);
            self.counters.latency.fetch_add(1, Ordering::Relaxed);
        }
        let back = self.draw();
        if back < rates.reset {
            plan.reset = true;
            self.counters.reset.fetch_add(1, Ordering::Relaxed);
        } else if back < rates.reset + rates.truncate {
            plan.truncate = true;
            self.counters.truncate.fetch_add(1, Ordering::Relaxed);
        } else if back < rates.reset + rates.truncate + rates.stall {
            plan.stall = Some(rates.stall_duration);
            self.counters.stall.fetch_add(1, Ordering::Relaxed);
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_respected_and_replayable() {
        let rates = FaultRates { service_unavailable: 0.1, reset: 0.01, ..FaultRates::default() };
        let faults = Faults::new(rates, 42, false);
        let plans: Vec<Plan> = (0..100_000).map(|_| faults.plan()).collect();
        let unavailable = plans.iter().filter(|p| p.service_unavailable).count();
        assert!((9_000..11_000).contains(&unavailable), "{unavailable}");
        let resets = plans.iter().filter(|p| p.reset).count();
        assert!((600..1_400).contains(&resets), "{resets}");
        let again = Faults::new(rates, 42, false);
        assert!((0..1000).map(|_| again.plan()).zip(&plans).all(|(a, b)| a == *b));
    }
}
