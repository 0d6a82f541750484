//! Counting events (connections, failed logins) per IP class over a time window.
//!
//! An attacker rarely has one address: they have a host, a subnet, a provider. So
//! every event counts for three ever wider classes of the client's address — for
//! IPv4 the address, its /26 and its /21; for IPv6 (where one host has a /64) the
//! /64, /48 and /32 — each with its own limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Prefix lengths of the three classes.
const IPV4_CLASSES: [u8; 3] = [32, 26, 21];
const IPV6_CLASSES: [u8; 3] = [64, 48, 32];

/// The counter table is swept of expired windows when it grows past this (and
/// past twice its size after the last sweep).
const SWEEP_AT: usize = 10_000;

/// One class of an address: the prefix length and the address masked to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpClass {
    pub prefix: u8,
    pub network: IpAddr,
}

/// The three classes of `ip`, narrowest first.
pub fn classes(ip: IpAddr) -> [IpClass; 3] {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let prefixes = match ip {
        IpAddr::V4(_) => IPV4_CLASSES,
        IpAddr::V6(_) => IPV6_CLASSES,
    };
    prefixes.map(|prefix| IpClass {
        prefix,
        network: mask(ip, prefix),
    })
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let bits = u32::from(a) & (u32::MAX << (32 - u32::from(prefix)));
            IpAddr::V4(bits.into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a) & (u128::MAX << (128 - u32::from(prefix)));
            IpAddr::V6(bits.into())
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    /// Events in the window, reserved ones included.
    count: u32,
    /// Reserved events whose outcome is not known yet (see [`RateLimiter::try_reserve`]).
    pending: u32,
}

/// Events per class in fixed windows: a class over its limit stays refused until its
/// window ends.
pub struct RateLimiter {
    limits: [u32; 3],
    window: Duration,
    counts: Mutex<HashMap<IpClass, Window>>,
    /// The table's size after the last sweep of expired windows.
    swept_size: AtomicUsize,
}

impl RateLimiter {
    /// `limits` per class, narrowest first, per `window`.
    pub fn new(limits: [u32; 3], window: Duration) -> RateLimiter {
        RateLimiter {
            limits,
            window,
            counts: Mutex::default(),
            swept_size: AtomicUsize::new(0),
        }
    }

    /// Whether `ip` is under the limit of each of its classes.
    pub fn allows(&self, ip: IpAddr, now: Instant) -> bool {
        let counts = self.lock();
        self.under_limits(&counts, ip, now)
    }

    /// How many events the narrowest class of `ip` has had in its current window,
    /// not counting reservations still pending.
    pub fn count(&self, ip: IpAddr, now: Instant) -> u32 {
        let counts = self.lock();
        let class = &classes(ip)[0];
        let pending = counts.get(class).map_or(0, |w| w.pending);
        self.current(&counts, class, now).saturating_sub(pending)
    }

    /// Counts one event for `ip`; returns how many its narrowest class has had in
    /// the current window, this one included.
    pub fn add(&self, ip: IpAddr, now: Instant) -> u32 {
        self.add_locked(&mut self.lock(), ip, now)
    }

    /// Reserves an event if `ip` is under its limits, as one step, so concurrent
    /// callers cannot pass a limit together. The reservation counts against the
    /// limits at once; [`Self::confirm`] makes it an event, [`Self::release`] takes it
    /// back. Until then [`Self::count`] leaves it out.
    pub fn try_reserve(&self, ip: IpAddr, now: Instant) -> bool {
        let mut counts = self.lock();
        let allowed = self.try_add_locked(&mut counts, ip, now);
        if allowed {
            self.each_window(&mut counts, ip, |w| w.pending += 1);
        }
        allowed
    }

    /// Counts an event if `ip` is under its limits, as one step, so concurrent
    /// callers cannot pass a limit together.
    pub fn try_add(&self, ip: IpAddr, now: Instant) -> bool {
        self.try_add_locked(&mut self.lock(), ip, now)
    }

    fn try_add_locked(
        &self,
        counts: &mut HashMap<IpClass, Window>,
        ip: IpAddr,
        now: Instant,
    ) -> bool {
        let allowed = self.under_limits(counts, ip, now);
        if allowed {
            self.add_locked(counts, ip, now);
        }
        allowed
    }

    /// The reserved event happened.
    pub fn confirm(&self, ip: IpAddr) {
        let mut counts = self.lock();
        self.each_window(&mut counts, ip, |w| w.pending = w.pending.saturating_sub(1));
    }

    /// The reserved event did not happen.
    pub fn release(&self, ip: IpAddr) {
        let mut counts = self.lock();
        self.each_window(&mut counts, ip, |w| {
            w.pending = w.pending.saturating_sub(1);
            w.count = w.count.saturating_sub(1);
        });
    }

    fn each_window(
        &self,
        counts: &mut HashMap<IpClass, Window>,
        ip: IpAddr,
        f: impl Fn(&mut Window),
    ) {
        for class in classes(ip) {
            if let Some(w) = counts.get_mut(&class) {
                f(w);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<IpClass, Window>> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn under_limits(&self, counts: &HashMap<IpClass, Window>, ip: IpAddr, now: Instant) -> bool {
        classes(ip)
            .iter()
            .zip(self.limits)
            .all(|(class, limit)| self.current(counts, class, now) < limit)
    }

    fn add_locked(&self, counts: &mut HashMap<IpClass, Window>, ip: IpAddr, now: Instant) -> u32 {
        // Sweep when the table has doubled since the last sweep, so a large table
        // of live windows is not scanned on every event.
        if counts.len() >= SWEEP_AT.max(2 * self.swept_size.load(Ordering::Relaxed)) {
            counts.retain(|_, w| now.duration_since(w.start) < self.window);
            self.swept_size.store(counts.len(), Ordering::Relaxed);
        }
        let mut narrowest = 0;
        for (i, class) in classes(ip).into_iter().enumerate() {
            let count = self.current(counts, &class, now) + 1;
            let (start, pending) = match counts.get(&class) {
                Some(w) if count > 1 => (w.start, w.pending),
                _ => (now, 0),
            };
            counts.insert(
                class,
                Window {
                    start,
                    count,
                    pending,
                },
            );
            if i == 0 {
                narrowest = count;
            }
        }
        narrowest
    }

    fn current(&self, counts: &HashMap<IpClass, Window>, class: &IpClass, now: Instant) -> u32 {
        match counts.get(class) {
            Some(w) if now.duration_since(w.start) < self.window => w.count,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn classes_mask_to_their_prefixes() {
        let nets: Vec<String> = classes(ip("192.0.2.200"))
            .iter()
            .map(|c| format!("{}/{}", c.network, c.prefix))
            .collect();
        assert_eq!(nets, ["192.0.2.200/32", "192.0.2.192/26", "192.0.0.0/21"]);
        let nets: Vec<String> = classes(ip("2001:db8:1:2:3:4:5:6"))
            .iter()
            .map(|c| format!("{}/{}", c.network, c.prefix))
            .collect();
        assert_eq!(
            nets,
            ["2001:db8:1:2::/64", "2001:db8:1::/48", "2001:db8::/32"]
        );
        // A v4-mapped address is the IPv4 client it stands for.
        assert_eq!(
            classes(ip("::ffff:192.0.2.200")),
            classes(ip("192.0.2.200"))
        );
    }

    #[test]
    fn each_class_has_its_own_limit() {
        let limiter = RateLimiter::new([2, 3, 100], Duration::from_secs(60));
        let now = Instant::now();
        assert!(limiter.try_reserve(ip("192.0.2.1"), now));
        assert!(limiter.try_reserve(ip("192.0.2.1"), now));
        assert_eq!(limiter.count(ip("192.0.2.1"), now), 0, "both pending");
        assert!(
            !limiter.try_reserve(ip("192.0.2.1"), now),
            "the /32 is full"
        );
        limiter.confirm(ip("192.0.2.1"));
        assert_eq!(limiter.count(ip("192.0.2.1"), now), 1);
        limiter.release(ip("192.0.2.1"));
        assert_eq!(limiter.count(ip("192.0.2.1"), now), 1);
        assert!(
            limiter.try_reserve(ip("192.0.2.1"), now),
            "a release makes room"
        );
        assert!(
            limiter.try_reserve(ip("192.0.2.2"), now),
            "a neighbour is not full"
        );
        assert!(
            !limiter.try_reserve(ip("192.0.2.3"), now),
            "but now the /26 is full"
        );
        assert!(
            limiter.try_reserve(ip("192.0.2.64"), now),
            "the next /26 is not"
        );
        assert!(limiter.allows(ip("198.51.100.1"), now));
    }

    #[test]
    fn a_window_ends() {
        let limiter = RateLimiter::new([1, 10, 10], Duration::from_secs(60));
        let now = Instant::now();
        assert_eq!(limiter.add(ip("2001:db8::1"), now), 1);
        assert!(!limiter.allows(ip("2001:db8::1"), now));
        assert!(!limiter.allows(ip("2001:db8::2"), now), "same /64");
        let later = now + Duration::from_secs(61);
        assert!(limiter.allows(ip("2001:db8::1"), later));
        assert_eq!(limiter.add(ip("2001:db8::1"), later), 1);
        assert_eq!(limiter.count(ip("2001:db8::1:2"), later), 1, "same /64");
        assert!(limiter.try_reserve(ip("2001:db8::3"), later + Duration::from_secs(61)));
        limiter.release(ip("2001:db8::1"));
        assert_eq!(
            limiter.count(ip("2001:db8::1"), later + Duration::from_secs(61)),
            0
        );
    }

    #[test]
    fn expired_windows_are_swept_when_the_table_has_grown() {
        let limiter = RateLimiter::new([5, 5, 5], Duration::from_secs(1));
        let now = Instant::now();
        // Each address is three entries, none shared.
        let add = |from: u32, n: u32, at: Instant| {
            for i in from..from + n {
                limiter.add(IpAddr::V6((u128::from(i) << 96).into()), at);
            }
        };
        // 12,000 live entries: the sweep at 10,000 finds nothing to drop.
        add(0, 4_000, now);
        assert_eq!(limiter.counts.lock().unwrap().len(), 12_000);
        // A second later they have expired; the next sweep, at twice the size
        // after the last one, drops them and keeps the 9,000 live ones.
        add(4_000, 3_000, now + Duration::from_secs(2));
        assert_eq!(limiter.counts.lock().unwrap().len(), 9_000);
    }
}
