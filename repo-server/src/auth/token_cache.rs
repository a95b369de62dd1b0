//! Bearer token → principal, remembered for a few seconds so that a busy client's requests do
//! not each read its token and client records. Bounded in size; keyed by the token's hash
//! (the token itself is never kept); emptied whenever a client is revoked, so a revocation
//! takes effect at the next request, as without the cache.

use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use super::Principal;

/// Tokens remembered at most (each entry is a few hundred bytes).
const CAPACITY: usize = 10_000;
/// How long a resolution is reused: bounds how stale a cached principal can be.
const FRESH_FOR: Duration = Duration::from_secs(5);

#[derive(Clone)]
struct Entry {
    principal: Principal,
    /// The token's own expiry, in ms since the epoch.
    expires_ms: u64,
    cached_at: Instant,
}

pub(super) struct TokenCache {
    entries: Cache<[u8; 32], Entry>,
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache {
            entries: Cache::new(CAPACITY),
        }
    }
}

impl TokenCache {
    /// The principal of a token resolved less than [`FRESH_FOR`] ago and not yet expired.
    pub(super) fn get(&self, token_sha256: &[u8; 32], now_ms: u64) -> Option<Principal> {
        let entry = self.entries.get(token_sha256)?;
        if entry.cached_at.elapsed() >= FRESH_FOR || entry.expires_ms <= now_ms {
            self.entries.remove(token_sha256);
            return None;
        }
        Some(entry.principal)
    }

    pub(super) fn put(&self, token_sha256: [u8; 32], principal: Principal, expires_ms: u64) {
        self.entries.insert(
            token_sha256,
            Entry {
                principal,
                expires_ms,
                cached_at: Instant::now(),
            },
        );
    }

    /// Forgets every resolution (a client was revoked: any cached token may be its).
    pub(super) fn clear(&self) {
        self.entries.clear();
    }
}
