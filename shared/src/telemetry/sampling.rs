//! Sampled logging: events anyone can cause (a forged webhook, say) are counted in full by a
//! metric but logged at most once per interval per instance, so a flood costs no log volume.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Lets one event through per interval, and says how many were held back since the last.
#[derive(Debug)]
pub struct Sampler {
    interval_secs: i64,
    last: AtomicI64,
    held_back: AtomicU64,
}

impl Sampler {
    /// A sampler letting one event through every `interval_secs` seconds.
    pub const fn every(interval_secs: i64) -> Self {
        Self {
            interval_secs,
            last: AtomicI64::new(i64::MIN),
            held_back: AtomicU64::new(0),
        }
    }

    /// `Some(held back since the last one)` when the event at `now_secs` should be logged.
    pub fn admit(&self, now_secs: i64) -> Option<u64> {
        let last = self.last.load(Ordering::Relaxed);
        let due = last == i64::MIN || now_secs.saturating_sub(last) >= self.interval_secs;
        if due
            && self
                .last
                .compare_exchange(last, now_secs, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.held_back.swap(0, Ordering::Relaxed));
        }
        self.held_back.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_per_interval_is_admitted_with_the_count_held_back() {
        let sampler = Sampler::every(60);
        assert_eq!(sampler.admit(1_000), Some(0));
        for t in 1_001..1_011 {
            assert_eq!(sampler.admit(t), None);
        }
        assert_eq!(sampler.admit(1_059), None);
        assert_eq!(sampler.admit(1_060), Some(11));
        assert_eq!(sampler.admit(1_061), None);
    }
}
