//! Failed sign-in throttle: a fixed window of attempts per username and per client address,
//! in memory and bounded in size. Checked before any password hashing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many failed attempts a key may make in one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimit {
    pub failures: u32,
    pub window: Duration,
}

/// Per username: guessing one person's password is slow.
pub const USERNAME_LIMIT: ThrottleLimit = ThrottleLimit {
    failures: 5,
    window: Duration::from_secs(15 * 60),
};
/// Per address (IPv6 by /64): spraying many usernames from one place is slow too.
pub const IP_LIMIT: ThrottleLimit = ThrottleLimit {
    failures: 30,
    window: Duration::from_secs(15 * 60),
};
/// Most keys one table tracks; past it, stale entries go first, then the oldest.
const MAX_TRACKED: usize = 10_000;

pub struct LoginThrottle {
    by_username: Mutex<Table>,
    by_ip: Mutex<Table>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(USERNAME_LIMIT, IP_LIMIT)
    }
}

impl LoginThrottle {
    pub fn new(username: ThrottleLimit, ip: ThrottleLimit) -> Self {
        LoginThrottle {
            by_username: Mutex::new(Table::new(username)),
            by_ip: Mutex::new(Table::new(ip)),
        }
    }

    /// Counts an attempt, or refuses it with how long to wait. The attempt counts as failed
    /// until [`LoginThrottle::succeeded`] takes it back, so parallel guesses count too.
    pub fn begin(&self, username: &str, from: IpAddr, now: Instant) -> Result<(), Duration> {
        let ip = ip_key(from);
        let mut users = lock(&self.by_username);
        let mut ips = lock(&self.by_ip);
        let wait = users.wait(username, now).max(ips.wait(&ip, now));
        if let Some(wait) = wait {
            return Err(wait);
        }
        users.count(username, now);
        ips.count(&ip, now);
        Ok(())
    }

    /// A successful sign-in: the username starts afresh, the address gets its attempt back.
    pub fn succeeded(&self, username: &str, from: IpAddr) {
        lock(&self.by_username).entries.remove(username);
        lock(&self.by_ip).take_back(&ip_key(from));
    }
}

fn lock(table: &Mutex<Table>) -> std::sync::MutexGuard<'_, Table> {
    table.lock().unwrap_or_else(|p| p.into_inner())
}

/// IPv4 addresses as they are; IPv6 by /64, the block one host usually controls.
fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

struct Window {
    started: Instant,
    attempts: u32,
}

struct Table {
    limit: ThrottleLimit,
    entries: HashMap<String, Window>,
}

impl Table {
    fn new(limit: ThrottleLimit) -> Self {
        Table {
            limit,
            entries: HashMap::new(),
        }
    }

    fn live<'a>(&'a self, key: &str, now: Instant) -> Option<&'a Window> {
        self.entries
            .get(key)
            .filter(|w| now.duration_since(w.started) < self.limit.window)
    }

    fn wait(&self, key: &str, now: Instant) -> Option<Duration> {
        let window = self.live(key, now)?;
        (window.attempts >= self.limit.failures)
            .then(|| self.limit.window - now.duration_since(window.started))
    }

    fn count(&mut self, key: &str, now: Instant) {
        if self.live(key, now).is_none() {
            self.make_room(now);
            self.entries.insert(
                key.to_string(),
                Window {
                    started: now,
                    attempts: 0,
                },
            );
        }
        if let Some(window) = self.entries.get_mut(key) {
            window.attempts += 1;
        }
    }

    fn take_back(&mut self, key: &str) {
        if let Some(window) = self.entries.get_mut(key) {
            window.attempts = window.attempts.saturating_sub(1);
        }
    }

    fn make_room(&mut self, now: Instant) {
        if self.entries.len() < MAX_TRACKED {
            return;
        }
        let window = self.limit.window;
        self.entries
            .retain(|_, w| now.duration_since(w.started) < window);
        if self.entries.len() >= MAX_TRACKED {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, w)| w.started)
                .map(|(k, _)| k.clone());
            if let Some(key) = oldest {
                self.entries.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn a_username_is_refused_after_its_failures_until_the_window_ends() {
        let throttle = LoginThrottle::default();
        let start = Instant::now();
        for _ in 0..USERNAME_LIMIT.failures {
            throttle.begin("alice", LOCAL, start).unwrap();
        }
        let wait = throttle.begin("alice", LOCAL, start).unwrap_err();
        assert_eq!(wait, USERNAME_LIMIT.window);
        let later = start + Duration::from_secs(60);
        assert_eq!(
            throttle.begin("alice", LOCAL, later).unwrap_err(),
            USERNAME_LIMIT.window - Duration::from_secs(60)
        );
        assert!(
            throttle.begin("bob", LOCAL, later).is_ok(),
            "other users unaffected"
        );
        assert!(throttle
            .begin("alice", LOCAL, start + USERNAME_LIMIT.window)
            .is_ok());
    }

    #[test]
    fn success_resets_the_username_and_an_address_is_limited_across_usernames() {
        let throttle = LoginThrottle::new(
            USERNAME_LIMIT,
            ThrottleLimit {
                failures: 3,
                window: Duration::from_secs(60),
            },
        );
        let now = Instant::now();
        let sprayer: IpAddr = "2001:db8::1".parse().unwrap();
        let neighbour: IpAddr = "2001:db8::2".parse().unwrap();
        throttle.begin("a", sprayer, now).unwrap();
        throttle.begin("b", sprayer, now).unwrap();
        throttle.succeeded("b", sprayer);
        throttle.begin("c", sprayer, now).unwrap();
        throttle.begin("d", neighbour, now).unwrap();
        assert!(throttle.begin("e", sprayer, now).is_err(), "same /64");
        assert!(throttle.begin("e", LOCAL, now).is_ok());
    }

    #[test]
    fn the_tables_stay_bounded() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..MAX_TRACKED + 50 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(i as u32));
            throttle.begin(&format!("user{i}"), ip, now).unwrap();
        }
        assert_eq!(lock(&throttle.by_username).entries.len(), MAX_TRACKED);
        assert_eq!(lock(&throttle.by_ip).entries.len(), MAX_TRACKED);
    }
}
