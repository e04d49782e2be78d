//! Per-client request rate limit: one token bucket per client address (`--rate-limit N`: N
//! requests a second, bursts of 2N; 0 turns it off). A client over it gets 429 with
//! `Retry-After`, before any handler runs, so one script in a loop cannot starve the people
//! using the server. Memory is bounded: at most [`MAX_CLIENTS`] buckets are kept; when that is
//! reached, buckets that are full again (clients that went quiet) are dropped first.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::a1111::errors::A1111Error;
use super::error::ApiError;
use crate::services::{ErrorKind, ServiceError};
use crate::state::AppState;

/// Most clients tracked at once.
pub const MAX_CLIENTS: usize = 4096;
/// The default of `--rate-limit` (requests a second per client): far above what a person and
/// the pages make, far below a loop.
pub const DEFAULT_PER_SECOND: u32 = 100;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The buckets of every client.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// A limiter of `per_second` requests a second per client (bursts of twice that); `None`
    /// for 0 (no limit).
    pub fn new(per_second: u32) -> Option<RateLimiter> {
        (per_second > 0).then(|| RateLimiter {
            per_second: f64::from(per_second),
            burst: 2.0 * f64::from(per_second),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes one token for `client` at `now`; `Err` says how long until the next one.
    pub fn admit(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&client) {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| refilled(b, now, rate, burst) < burst);
            if buckets.len() >= MAX_CLIENTS {
                // Every tracked client is busy: forget them all rather than grow.
                buckets.clear();
            }
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        bucket.tokens = refilled(bucket, now, self.per_second, self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }

    /// Clients tracked now.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().map_or(0, |b| b.len())
    }
}

fn refilled(bucket: &Bucket, now: Instant, per_second: f64, burst: f64) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
    (bucket.tokens + elapsed * per_second).min(burst)
}

/// The middleware: 429 for a client over its rate (requests without a peer address — the
/// in-process reads of server-side rendering — are not limited).
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(limiter) = state.runtime.rate_limiter.as_ref() else {
        return next.run(request).await;
    };
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let Some(client) = client else {
        return next.run(request).await;
    };
    match limiter.admit(client, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let message = format!(
                "too many requests from {client}: at most {} a second; retry in {} ms",
                limiter.per_second,
                wait.as_millis().max(1)
            );
            let mut response = if request.uri().path().starts_with("/sdapi/") {
                A1111Error::http(StatusCode::TOO_MANY_REQUESTS, message).into_response()
            } else {
                ApiError(ServiceError::new(ErrorKind::TooManyRequests, message)).into_response()
            };
            let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_steady_rate() {
        let limiter = RateLimiter::new(10).unwrap();
        let client: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        let admitted = (0..50)
            .filter(|_| limiter.admit(client, t0).is_ok())
            .count();
        assert_eq!(admitted, 20, "a burst of twice the rate");
        let wait = limiter.admit(client, t0).unwrap_err();
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        // A second later, ten more.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(
            (0..50)
                .filter(|_| limiter.admit(client, t1).is_ok())
                .count(),
            10
        );
        // Another client is not affected.
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limiter.admit(other, t1).is_ok());
        assert!(RateLimiter::new(0).is_none());
    }

    #[test]
    fn the_table_stays_bounded() {
        let limiter = RateLimiter::new(1).unwrap();
        let t0 = Instant::now();
        for i in 0..(MAX_CLIENTS as u32 * 3) {
            let client = IpAddr::from(std::net::Ipv4Addr::from(i));
            let _ = limiter.admit(client, t0);
        }
        assert!(limiter.tracked() <= MAX_CLIENTS);
    }
}
