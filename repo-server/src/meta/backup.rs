//! What an online backup needs of the metadata: a read-only view of a checkpoint, and its
//! blob records a page at a time (a backup copies the blobs its checkpoint refers to).

use std::path::Path;

use rocksdb::{Direction, DB};

use super::keys::{blob_key, leading_digest, CF_BLOBS};
use super::{codec, prefix_end, MetaError, MetaResult, MetaStore};
use crate::domain::{BlobRecord, Sha256Digest};

impl MetaStore {
    /// Opens a checkpoint (or any stopped data directory's metadata) read-only: nothing is
    /// written into it and no index is backfilled.
    pub fn open_read_only(path: &Path) -> MetaResult<Self> {
        let cache = super::new_block_cache(super::DEFAULT_BLOCK_CACHE_MIB);
        let db = DB::open_cf_descriptors_read_only(
            &super::cf_options(&cache),
            path,
            super::descriptors(&cache),
            false,
        )?;
        Ok(MetaStore {
            db,
            block_cache: cache,
            writer: Default::default(),
            group_commit: Default::default(),
            durability: Default::default(),
            sync_writes: false,
        })
    }

    /// Up to `limit` blob records after `after` (from the first when `None`), in digest order.
    pub fn blob_records_after(
        &self,
        after: Option<&Sha256Digest>,
        limit: usize,
    ) -> MetaResult<Vec<(Sha256Digest, BlobRecord)>> {
        let lower = match after {
            None => Vec::new(),
            Some(sha) => match prefix_end(&blob_key(sha)) {
                Some(next) => next,
                None => return Ok(Vec::new()), // the last possible digest
            },
        };
        self.scan_range(CF_BLOBS, lower, None, Direction::Forward)
            .take(limit)
            .map(|item| {
                let (key, value) = item?;
                let sha = leading_digest(&key).ok_or_else(|| MetaError::Corrupt {
                    cf: CF_BLOBS,
                    reason: "malformed key".into(),
                })?;
                Ok((sha, codec::decode(CF_BLOBS, &value)?))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkpoint opened read-only lists the blob records it holds, a page at a time, and
    /// not those committed after it was taken.
    #[test]
    fn a_checkpoint_lists_its_blob_records_in_pages() {
        let (dir, store) = super::super::test_store();
        let digests: Vec<Sha256Digest> = (0..5u8).map(|i| Sha256Digest([i; 32])).collect();
        for sha in &digests {
            store.add_pending("acme", sha, 3, "b3", 1, 60_000).unwrap();
        }
        let checkpoint = dir.path().join("checkpoint");
        store.checkpoint(&checkpoint).unwrap();
        store
            .add_pending("acme", &Sha256Digest([9; 32]), 3, "b3", 1, 60_000)
            .unwrap();

        let backup = MetaStore::open_read_only(&checkpoint).unwrap();
        let first = backup.blob_records_after(None, 3).unwrap();
        let rest = backup
            .blob_records_after(Some(&first.last().unwrap().0), 3)
            .unwrap();
        let listed: Vec<Sha256Digest> = first.iter().chain(&rest).map(|(sha, _)| *sha).collect();
        assert_eq!(listed, digests);
        assert!(first.iter().all(|(_, record)| record.refcount == 1));
    }
}
