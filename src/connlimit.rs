//! Admission of new connections, server-wide over all listeners and services:
//! connections open at once per IP address, and new connections per minute per IP
//! class (see [`crate::ratelimit`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::config::Limits;
use crate::ratelimit::RateLimiter;

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
    open: Mutex<HashMap<IpAddr, usize>>,
    rate: RateLimiter,
}

/// An admitted connection; dropping it frees its place.
pub struct Admitted {
    limiter: Arc<ConnectionLimiter>,
    ip: IpAddr,
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
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(ip).or_default();
        if *n >= self.max_open {
            return Err(Refusal::TooManyOpen);
        }
        if !self.rate.try_add(ip, Instant::now()) {
            if *n == 0 {
                open.remove(&ip);
            }
            return Err(Refusal::TooFast);
        }
        *n += 1;
        Ok(Admitted {
            limiter: Arc::clone(self),
            ip,
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
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
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
