//! Sign-in throttling: failures are counted per username and per client address in a sliding
//! window. In memory, per process: with several nodes each node limits on its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(15 * 60);
pub const MAX_PER_USER: usize = 5;
pub const MAX_PER_ADDR: usize = 30;

#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    /// `Some(seconds)` to wait if either key is over its limit.
    pub fn check(&self, user: &str, addr: &str, now: Instant) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = None;
        for (key, max) in [(format!("u:{user}"), MAX_PER_USER), (format!("a:{addr}"), MAX_PER_ADDR)] {
            if let Some(v) = map.get_mut(&key) {
                v.retain(|t| now.duration_since(*t) < WINDOW);
                if v.len() >= max {
                    let oldest = v[0];
                    let secs = WINDOW.saturating_sub(now.duration_since(oldest)).as_secs().max(1);
                    wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
                }
            }
        }
        wait
    }

    pub fn fail(&self, user: &str, addr: &str, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(format!("u:{user}")).or_default().push(now);
        map.entry(format!("a:{addr}")).or_default().push(now);
        // Keep the table from growing without bound under a spray of usernames.
        if map.len() > 100_000 {
            map.retain(|_, v| v.last().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
    }

    pub fn succeed(&self, user: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(&format!("u:{user}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_five_failures_for_a_user_and_recovers() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        for _ in 0..MAX_PER_USER {
            assert!(l.check("zhang", "1.2.3.4", t0).is_none());
            l.fail("zhang", "1.2.3.4", t0);
        }
        assert!(l.check("zhang", "5.6.7.8", t0).is_some());
        assert!(l.check("li", "5.6.7.8", t0).is_none());
        assert!(l.check("zhang", "1.2.3.4", t0 + WINDOW).is_none());
        l.succeed("zhang");
        assert!(l.check("zhang", "9.9.9.9", t0).is_none());
    }
}
