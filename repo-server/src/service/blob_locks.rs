//! Striped per-digest locks ordering "add a hold on a blob" against "delete an unheld blob":
//! an upload's finish and the sweeper contend only when their digests share a stripe.

use crate::domain::Sha256Digest;

/// Stripes: enough that concurrent uploads of different blobs rarely share one.
const STRIPES: usize = 256;

pub struct BlobLocks {
    stripes: Box<[tokio::sync::Mutex<()>]>,
}

impl BlobLocks {
    pub fn new() -> Self {
        BlobLocks {
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }

    /// Locks the stripe of `sha256` (digests are uniform: the first byte spreads them).
    pub async fn lock(&self, sha256: &Sha256Digest) -> tokio::sync::MutexGuard<'_, ()> {
        self.stripes[sha256.0[0] as usize % STRIPES].lock().await
    }
}

impl Default for BlobLocks {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 11 item 5: holding one blob's lock does not block another blob's.
    #[tokio::test]
    async fn different_digests_do_not_wait_for_each_other() {
        let locks = BlobLocks::new();
        let held = locks.lock(&Sha256Digest([1; 32])).await;
        let other = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            locks.lock(&Sha256Digest([2; 32])),
        )
        .await;
        assert!(other.is_ok(), "another digest's lock is free");
        let same = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            locks.lock(&Sha256Digest([1; 32])),
        )
        .await;
        assert!(same.is_err(), "the same digest waits");
        drop(held);
    }
}
