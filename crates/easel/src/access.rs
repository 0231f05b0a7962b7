//! Who may do what at the HTTP edge: the token a request presents, the
//! `Origin` check and the per-address rate limits. The tokens themselves
//! (roles, minting, hashing) live with the conferences
//! (`easel_conferences::tokens`); see `docs/security.md`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap};

pub use easel_conferences::tokens::{
    hash_matches, hash_token, mint, new_id, token_key, Minted, Role, TokenRecord,
};

/// Where a request carried its token, if anywhere: `Authorization: Bearer`
/// wins over `?token=`. An empty value counts as no token.
pub fn presented_token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?.trim();
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))?;
        let token = token.trim();
        return (!token.is_empty()).then(|| token.to_owned());
    }
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// The `Origin` policy for WebSocket upgrades (browsers send `Origin` on
/// every WebSocket handshake, and WebSockets are not protected by CORS).
///
/// Allowed: requests without `Origin` (non-browser clients, which can set
/// any header anyway); the same origin as the `Host` header; every entry of
/// the configured list, where `scheme://host:*` matches any port. When no
/// list is configured, `http://localhost:*`, `http://127.0.0.1:*` and
/// `http://[::1]:*` are allowed for development.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    allowed: Vec<String>,
}

/// Dev origins allowed when `--allowed-origins` is not set.
pub const DEV_ORIGINS: &[&str] = &["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"];

impl OriginPolicy {
    pub fn new(configured: &[String]) -> OriginPolicy {
        let allowed = if configured.iter().all(|o| o.trim().is_empty()) {
            DEV_ORIGINS.iter().map(|s| s.to_string()).collect()
        } else {
            configured
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                .filter(|o| !o.is_empty())
                .collect()
        };
        OriginPolicy { allowed }
    }

    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.trim().to_ascii_lowercase();
        if let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
            let host = host.trim().to_ascii_lowercase();
            if origin == format!("http://{host}") || origin == format!("https://{host}") {
                return true;
            }
        }
        self.allowed
            .iter()
            .any(|pattern| origin_matches(pattern, &origin))
    }
}

fn origin_matches(pattern: &str, origin: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix(":*") {
        Some(base) => match origin.strip_prefix(base) {
            Some("") => true,
            Some(rest) => rest
                .strip_prefix(':')
                .is_some_and(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())),
            None => false,
        },
        None => pattern == origin,
    }
}

/// A token bucket per client address: `per_minute` tokens, refilled
/// continuously, burst of the same size. Buckets that are full again are
/// pruned so the map cannot grow without bound.
pub struct RateLimiter {
    per_minute: u32,
    /// Bucket size: how many in a row before the first refusal.
    burst: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Most addresses tracked before a prune is forced.
const PRUNE_AT: usize = 10_000;

impl RateLimiter {
    /// `per_minute == 0` disables the limit.
    pub fn new(per_minute: u32) -> RateLimiter {
        Self::with_burst(per_minute, per_minute)
    }

    /// A limiter whose bucket holds `burst` tokens (0: `per_minute`) and
    /// refills at `per_minute`.
    pub fn with_burst(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            burst: if burst == 0 { per_minute } else { burst },
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let cap = f64::from(self.burst);
        let elapsed = now.duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * f64::from(self.per_minute) / 60.0).min(cap);
        bucket.at = now;
    }

    /// Takes one token for `ip`; false if none is left (the caller answers
    /// 429).
    pub fn try_take(&self, ip: IpAddr) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= PRUNE_AT {
            let cap = f64::from(self.burst);
            let full_after = Duration::from_secs(60);
            buckets.retain(|_, b| b.tokens < cap && now.duration_since(b.at) < full_after);
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: f64::from(self.burst),
            at: now,
        });
        self.refill(bucket, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether `ip` has no token left, without taking one.
    pub fn exhausted(&self, ip: IpAddr) -> bool {
        if self.per_minute == 0 {
            return false;
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        match buckets.get_mut(&ip) {
            Some(bucket) => {
                self.refill(bucket, now);
                bucket.tokens < 1.0
            }
            None => false,
        }
    }
}

/// The server's three limits, per client address.
pub struct RateLimits {
    /// Failed token checks (missing tokens do not count; wrong ones do).
    pub auth_failures: RateLimiter,
    /// WebSocket upgrades and event-stream subscriptions.
    pub connections: RateLimiter,
    /// Conference creation (the one unauthenticated write).
    pub creates: RateLimiter,
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = mint("c", Role::Edit, "x");
        let b = mint("c", Role::Edit, "x");
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.secret.len(), 43);
        assert_eq!(a.record.hash, hash_token(&a.secret));
        assert!(hash_matches(&a.record, &hash_token(&a.secret)));
        assert!(!hash_matches(&a.record, &hash_token(&b.secret)));
        assert!(!a.record.hash.contains(&a.secret));
    }

    #[test]
    fn token_from_header_or_query() {
        let mut h = HeaderMap::new();
        assert_eq!(
            presented_token(&h, Some("a=1&token=abc")),
            Some("abc".into())
        );
        assert_eq!(presented_token(&h, Some("token=")), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer xyz"),
        );
        assert_eq!(presented_token(&h, Some("token=abc")), Some("xyz".into()));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic xyz"));
        assert_eq!(presented_token(&h, None), None);
    }

    #[test]
    fn origins() {
        let dev = OriginPolicy::new(&[]);
        let with = |origin: &str, host: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
            h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
            h
        };
        assert!(dev.allows(&HeaderMap::new()));
        assert!(dev.allows(&with("http://localhost:5173", "easel.example")));
        assert!(dev.allows(&with("https://easel.example", "easel.example")));
        assert!(!dev.allows(&with("https://evil.example", "easel.example")));
        assert!(!dev.allows(&with("http://localhost.evil.example", "easel.example")));
        let prod = OriginPolicy::new(&["https://app.example/".into()]);
        assert!(prod.allows(&with("https://app.example", "api.example")));
        assert!(!prod.allows(&with("http://localhost:5173", "api.example")));
    }

    #[test]
    fn bucket_refuses_past_burst() {
        let l = RateLimiter::new(3);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(l.try_take(ip) && l.try_take(ip) && l.try_take(ip));
        assert!(!l.try_take(ip));
        assert!(l.exhausted(ip));
        assert!(l.try_take("10.0.0.2".parse().unwrap()));
    }
}
