//! Version stamps: every document Miroir writes carries `_miroir_version`, so replicas
//! that saw writes in different orders (two gateways, a node that was away, a copy
//! racing a live write) can converge on the newest one.
//!
//! A stamp is the gateway's wall clock in microseconds, made strictly increasing per
//! filter instance. It stays below 2^53, so Meilisearch stores it as an exact number.

/// Largest stamp: JSON numbers are exact up to 2^53 in Meilisearch (f64 and i64 alike).
pub const MAX_VERSION: u64 = (1 << 53) - 1;

/// The last stamp one filter instance gave out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VersionClock {
    last: u64,
}

impl VersionClock {
    /// A stamp for a write seen at `now_us` (microseconds since the Unix epoch): `now_us`,
    /// or one more than the last stamp when the clock did not move on (or went back).
    /// Saturates at [`MAX_VERSION`] (the year 2255).
    pub fn stamp(&mut self, now_us: u64) -> u64 {
        let next = now_us.max(self.last.saturating_add(1)).min(MAX_VERSION);
        self.last = next;
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_stalled_or_backward_clock_still_gives_new_stamps() {
        let mut clock = VersionClock::default();
        assert_eq!(clock.stamp(1_000), 1_000);
        assert_eq!(clock.stamp(1_000), 1_001);
        assert_eq!(clock.stamp(900), 1_002);
        assert_eq!(clock.stamp(5_000), 5_000);
        assert_eq!(clock.stamp(u64::MAX), MAX_VERSION);
    }

    proptest! {
        #[test]
        fn stamps_strictly_increase_and_stay_exact(times in proptest::collection::vec(0u64..(1 << 52), 1..50)) {
            let mut clock = VersionClock::default();
            let stamps: Vec<u64> = times.iter().map(|&t| clock.stamp(t)).collect();
            prop_assert!(stamps.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(stamps.iter().zip(&times).all(|(s, t)| s >= t && *s <= MAX_VERSION));
        }
    }
}
