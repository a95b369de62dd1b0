//! Time-ordered indexes (keys that start with a big-endian time: session, token and upload
//! expiries, unheld blobs by last upload): the entries due by a time, read from the index's
//! start, so a sweep never visits an entry that is not due.

use super::keys::leading_u64;
use super::{MetaError, MetaResult, MetaStore};

/// Most entries one sweep step handles; a sweep repeats steps until one comes back short.
pub(super) const SWEEP_BATCH: usize = 1000;

/// An index entry: its key and value.
pub(super) type Entry = (Box<[u8]>, Box<[u8]>);

impl MetaStore {
    /// Up to `limit` entries of `cf` whose leading time is at or before `due_ms`, oldest first.
    pub(super) fn due_entries(
        &self,
        cf: &'static str,
        due_ms: u64,
        limit: usize,
    ) -> MetaResult<Vec<Entry>> {
        let mut due = Vec::new();
        for item in self.scan_prefix(cf, &[]) {
            if due.len() == limit {
                break;
            }
            let (key, value) = item?;
            let time = leading_u64(&key).ok_or(MetaError::Corrupt {
                cf,
                reason: "a time-ordered key without its time".into(),
            })?;
            if time > due_ms {
                break;
            }
            due.push((key, value));
        }
        Ok(due)
    }
}

#[cfg(test)]
mod tests {
    use rocksdb::WriteBatch;

    use super::super::keys::*;
    use super::*;
    use crate::domain::{Sha256Digest, TokenRecord};
    use crate::meta::lists::tests::cost;

    const LIVE: u64 = u64::MAX / 2;
    const EXPIRED: usize = 5;

    fn digest(i: usize, tag: u8) -> Sha256Digest {
        let mut bytes = [tag; 32];
        bytes[..8].copy_from_slice(&(i as u64).to_be_bytes());
        Sha256Digest(bytes)
    }

    fn token(expires_ms: u64) -> TokenRecord {
        TokenRecord {
            client_id: "c".into(),
            partner: "acme".into(),
            scopes: vec![],
            expires_ms,
        }
    }

    /// `live` held uploads (each its own blob) and tokens that stay, and `EXPIRED` uploads
    /// and tokens that expire at 10.
    fn seed(meta: &MetaStore, live: usize) {
        for i in 0..live {
            meta.add_pending("acme", &digest(i, 1), 1, "b3", 1, LIVE)
                .unwrap();
            meta.put_token(&digest(i, 2).0, &token(LIVE)).unwrap();
        }
        for i in 0..EXPIRED {
            meta.add_pending("acme", &digest(i, 3), 1, "b3", 1, 10)
                .unwrap();
            meta.put_token(&digest(i, 4).0, &token(10)).unwrap();
        }
    }

    /// One sweep's metadata work at time 100 (as `service::sweep` does it, but the file
    /// deletes): (unheld blobs it forgot, tokens purged).
    fn sweep(meta: &MetaStore) -> (Vec<Sha256Digest>, usize) {
        let released = meta.sweep_expired_uploads(100).unwrap();
        let unheld = meta.unreferenced_blobs(100, SWEEP_BATCH).unwrap();
        assert_eq!(released, unheld, "the expired uploads' blobs, now unheld");
        for sha in &unheld {
            assert!(meta.forget_unreferenced_blob(sha).unwrap());
        }
        (unheld, meta.purge_expired_tokens(100).unwrap())
    }

    fn live_entries(meta: &MetaStore) -> (usize, usize) {
        (
            meta.scan_prefix(CF_PENDING, &[]).count(),
            meta.scan_prefix(CF_TOKENS, &[]).count(),
        )
    }

    /// Issue 11 item 8: a sweep reads the expired entries, not every upload, blob and token.
    #[test]
    fn a_sweep_costs_what_it_deletes_not_what_exists() {
        let run = |live: usize| {
            let (_dir, meta) = super::super::test_store();
            seed(&meta, live);
            let (work, (unheld, tokens)) = cost(|| sweep(&meta));
            let expected: Vec<_> = (0..EXPIRED).map(|i| digest(i, 3)).collect();
            assert_eq!((unheld, tokens), (expected, EXPIRED));
            assert_eq!(live_entries(&meta), (live, live), "live entries stay");
            assert_eq!(sweep(&meta), (Vec::new(), 0), "nothing twice");
            work
        };
        let (few_bytes, few_steps) = run(20);
        let (many_bytes, many_steps) = run(20_000);
        eprintln!(
            "one sweep: {few_bytes} bytes read, {few_steps} steps beside 20 live entries of each kind; {many_bytes} bytes, {many_steps} steps beside 20,000"
        );
        assert!(
            many_steps <= few_steps * 2 && many_bytes <= few_bytes * 2,
            "a sweep beside 20,000 live entries: {many_bytes} bytes, {many_steps} steps; beside 20: {few_bytes}, {few_steps}"
        );
    }

    /// A data directory written before the indexes existed gets them at open, so what it
    /// holds is still swept.
    #[test]
    fn older_data_is_swept_after_the_indexes_are_built() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let meta = MetaStore::open(&path, false).unwrap();
        seed(&meta, 3);
        let mut batch = WriteBatch::default();
        for cf in [CF_PENDING_BY_EXPIRY, CF_TOKENS_BY_EXPIRY, CF_BLOBS_UNHELD] {
            for item in meta.scan_prefix(cf, &[]) {
                batch.delete_cf(meta.cf(cf), item.unwrap().0);
            }
        }
        batch.delete_cf(meta.cf(CF_COUNTERS), index_built_marker("sweep-indexes-v1"));
        meta.commit_alone(batch).unwrap();
        assert_eq!(
            sweep(&meta),
            (Vec::new(), 0),
            "without the indexes nothing is found"
        );
        drop(meta);

        let meta = MetaStore::open(&path, false).unwrap();
        let (unheld, tokens) = sweep(&meta);
        assert_eq!((unheld.len(), tokens), (EXPIRED, EXPIRED));
        assert_eq!(live_entries(&meta), (3, 3));
    }
}
