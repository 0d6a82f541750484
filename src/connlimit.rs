//! Admission of new connections, server-wide over all listeners and services:
//! connections open at once per client (an IPv4 address or an IPv6 /64, the
//! narrowest class of [`crate::ratelimit::classes`]), and new connections per minute
//! per IP class (see [`crate::ratelimit`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::config::Limits;
use crate::ratelimit::{self, IpClass, RateLimiter};

/// Why a connection was refused; the text is for the client's greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("too many connections from your address")]
    TooManyOpen,
    #[error("too many new connections from your network; try again in a minute")]
    TooFast,
}

pub struct ConnectionLimiter {
    max_open: usize,
    /// Open connections per narrowest class: one host has a whole IPv6 /64, and an
    /// IPv4-mapped IPv6 address counts as its IPv4 address.
    open: Mutex<HashMap<IpClass, usize>>,
    rate: RateLimiter,
}

/// An admitted connection; dropping it frees its place.
pub struct Admitted {
    limiter: Arc<ConnectionLimiter>,
    host: IpClass,
}

impl ConnectionLimiter {
    pub fn new(limits: &Limits) -> Arc<ConnectionLimiter> {
        Arc::new(ConnectionLimiter {
            max_open: limits.max_connections_per_ip as usize,
            open: Mutex::default(),
            rate: RateLimiter::new(limits.max_connections_per_minute, Duration::from_secs(60)),
        })
    }

    /// Admits a connection from `ip`, or says why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admitted, Refusal> {
        let host = ratelimit::classes(ip)[0];
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(host).or_default();
        if *n >= self.max_open {
            return Err(Refusal::TooManyOpen);
        }
        if !self.rate.try_add(ip, Instant::now()) {
            if *n == 0 {
                open.remove(&host);
            }
            return Err(Refusal::TooFast);
        }
        *n += 1;
        Ok(Admitted {
            limiter: Arc::clone(self),
            host,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self
            .limiter
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.host) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.host);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(max_open: u32, per_minute: [u32; 3]) -> Arc<ConnectionLimiter> {
        ConnectionLimiter::new(&Limits {
            max_connections_per_ip: max_open,
            max_connections_per_minute: per_minute,
            ..Limits::default()
        })
    }

    #[test]
    fn open_connections_are_limited_per_address_and_freed_on_drop() {
        let l = limiter(2, [100, 100, 100]);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let a = l.admit(ip).unwrap();
        let _b = l.admit(ip).unwrap();
        assert_eq!(l.admit(ip).err(), Some(Refusal::TooManyOpen));
        assert!(l.admit("192.0.2.2".parse().unwrap()).is_ok());
        drop(a);
        assert!(l.admit(ip).is_ok());
    }

    #[test]
    fn open_connections_of_one_ipv6_64_share_the_limit() {
        let l = limiter(2, [100, 100, 100]);
        let _a = l.admit("2001:db8:1:2::1".parse().unwrap()).unwrap();
        let b = l.admit("2001:db8:1:2:aaaa::2".parse().unwrap()).unwrap();
        assert_eq!(
            l.admit("2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap())
                .err(),
            Some(Refusal::TooManyOpen),
            "same /64"
        );
        assert!(
            l.admit("2001:db8:1:3::1".parse().unwrap()).is_ok(),
            "another /64"
        );
        drop(b);
        assert!(l.admit("2001:db8:1:2::3".parse().unwrap()).is_ok());
    }

    #[test]
    fn ipv4_mapped_addresses_count_as_their_ipv4_address() {
        let l = limiter(2, [100, 100, 100]);
        let mapped = l.admit("::ffff:192.0.2.1".parse().unwrap()).unwrap();
        let _plain = l.admit("192.0.2.1".parse().unwrap()).unwrap();
        assert_eq!(
            l.admit("::ffff:192.0.2.1".parse().unwrap()).err(),
            Some(Refusal::TooManyOpen)
        );
        assert_eq!(
            l.admit("192.0.2.1".parse().unwrap()).err(),
            Some(Refusal::TooManyOpen)
        );
        drop(mapped);
        assert!(l.admit("192.0.2.1".parse().unwrap()).is_ok());
        assert_eq!(l.open.lock().unwrap().len(), 1, "one key for both forms");
    }

    #[test]
    fn new_connections_are_limited_per_minute() {
        let l = limiter(100, [2, 100, 100]);
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        drop(l.admit(ip).unwrap());
        drop(l.admit(ip).unwrap());
        assert_eq!(l.admit(ip).err(), Some(Refusal::TooFast));
        assert_eq!(
            l.admit("2001:db8::2".parse().unwrap()).err(),
            Some(Refusal::TooFast),
            "same /64"
        );
        assert!(l.open.lock().unwrap().is_empty(), "refusals hold no place");
    }
}
