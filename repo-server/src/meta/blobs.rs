//! Blob holds: pending uploads, repository entries and collection images, each counted in the blob's refcount
//! in the same commit that creates or removes it. A blob whose count reaches zero may be
//! deleted from the store after a grace period.

use super::expiry::SWEEP_BATCH;
use super::keys::*;
use super::{codec, count_underflow, MetaError, MetaResult, MetaStore, StagedBatch};
use crate::domain::{BlobRecord, PendingUpload, RepositoryEntry, Sha256Digest};
use rocksdb::WriteBatch;

/// What moving an upload to the repository did.
#[derive(Debug, PartialEq, Eq)]
pub enum MoveOutcome {
    Moved,
    /// The blob was already in the partner's repository (a retried move).
    AlreadyInRepository,
}

impl MetaStore {
    /// Records (or refreshes) a partner's pending upload of a blob; answers whether the hold
    /// is new (not a refresh of one another upload of the same bytes made).
    pub fn add_pending(
        &self,
        partner: &str,
        sha256: &Sha256Digest,
        length: u64,
        blake3: &str,
        now_ms: u64,
        expires_ms: u64,
    ) -> MetaResult<bool> {
        let guard = self.lock();
        let key = pending_key(partner, sha256);
        let mut batch = StagedBatch::default();
        let previous: Option<PendingUpload> = self.get(CF_PENDING, &key)?;
        let created = previous.is_none();
        match &previous {
            None => {
                self.stage_ref_change(&mut batch, sha256, 1, Some((length, blake3, now_ms)))?;
            }
            Some(previous) => self.stage_pending_removal(&mut batch, &key, previous),
        }
        self.stage_uploaded(&mut batch, sha256, now_ms)?;
        let pending = PendingUpload {
            length,
            uploaded_ms: now_ms,
            expires_ms,
        };
        self.stage_pending(&mut batch, &key, &pending);
        self.stage_stat(
            &mut batch,
            partner,
            super::stats::Stat::UploadedBytes,
            length as i64,
        )?;
        super::audit::note_created(format!("binaries/sha256/{sha256}"));
        self.commit(guard, batch)?;
        Ok(created)
    }

    /// Drops a pending upload (used when the upload's blob vanished under it).
    pub fn remove_pending(&self, partner: &str, sha256: &Sha256Digest) -> MetaResult<()> {
        let guard = self.lock();
        let key = pending_key(partner, sha256);
        let Some(pending) = self.get::<PendingUpload>(CF_PENDING, &key)? else {
            return Ok(());
        };
        let mut batch = StagedBatch::default();
        self.stage_pending_removal(&mut batch, &key, &pending);
        self.stage_ref_change(&mut batch, sha256, -1, None)?;
        self.commit(guard, batch)
    }

    /// Turns a pending upload into a repository entry (idempotent for an entry that exists).
    pub fn move_to_repository(
        &self,
        partner: &str,
        sha256: &Sha256Digest,
        now_ms: u64,
    ) -> MetaResult<MoveOutcome> {
        let guard = self.lock();
        let pending_key = pending_key(partner, sha256);
        let repo_key = repository_key(partner, sha256);
        let pending: Option<PendingUpload> = self.get(CF_PENDING, &pending_key)?;
        let in_repository = self.exists(CF_REPOSITORY, &repo_key)?;
        let mut batch = StagedBatch::default();
        match (pending, in_repository) {
            (None, false) => return Err(MetaError::NotFound("pending upload")),
            (None, true) => return Ok(MoveOutcome::AlreadyInRepository),
            (Some(pending), true) => {
                self.stage_pending_removal(&mut batch, &pending_key, &pending);
                self.stage_ref_change(&mut batch, sha256, -1, None)?;
                self.commit(guard, batch)?;
                return Ok(MoveOutcome::AlreadyInRepository);
            }
            (Some(pending), false) => {
                let blob: BlobRecord = self
                    .get(CF_BLOBS, &blob_key(sha256))?
                    .ok_or(MetaError::NotFound("blob"))?;
                let entry = RepositoryEntry {
                    length: pending.length,
                    blake3: blob.blake3,
                    moved_ms: now_ms,
                };
                // The hold passes from the pending upload to the repository entry: count unchanged.
                self.stage_pending_removal(&mut batch, &pending_key, &pending);
                self.put(&mut batch, CF_REPOSITORY, &repo_key, &entry);
                self.stage_stat(
                    &mut batch,
                    partner,
                    super::stats::Stat::StoredBytes,
                    entry.length as i64,
                )?;
            }
        }
        self.commit(guard, batch)?;
        Ok(MoveOutcome::Moved)
    }

    pub fn repository_entry(
        &self,
        partner: &str,
        sha256: &Sha256Digest,
    ) -> MetaResult<Option<RepositoryEntry>> {
        self.get(CF_REPOSITORY, &repository_key(partner, sha256))
    }

    pub fn pending_upload(
        &self,
        partner: &str,
        sha256: &Sha256Digest,
    ) -> MetaResult<Option<PendingUpload>> {
        self.get(CF_PENDING, &pending_key(partner, sha256))
    }

    pub fn blob_record(&self, sha256: &Sha256Digest) -> MetaResult<Option<BlobRecord>> {
        self.get(CF_BLOBS, &blob_key(sha256))
    }

    /// Removes expired pending uploads, reading only them off the expiry index (a batch at a
    /// time under the writer lock); answers the blobs left with no hold.
    pub fn sweep_expired_uploads(&self, now_ms: u64) -> MetaResult<Vec<Sha256Digest>> {
        let mut unreferenced = Vec::new();
        loop {
            let guard = self.lock();
            let due = self.due_entries(CF_PENDING_BY_EXPIRY, now_ms, SWEEP_BATCH)?;
            let mut batch = StagedBatch::default();
            let mut released = std::collections::BTreeMap::<Sha256Digest, i64>::new();
            for (index_key, _) in &due {
                let key = &index_key[8..];
                self.delete(&mut batch, CF_PENDING_BY_EXPIRY, index_key);
                // Only a record this entry indexes (same expiry) is expired.
                let expired = self
                    .get::<PendingUpload>(CF_PENDING, key)?
                    .is_some_and(|p| pending_by_expiry(p.expires_ms, key)[..] == index_key[..]);
                if expired {
                    self.delete(&mut batch, CF_PENDING, key);
                    let sha = trailing_digest(key).ok_or_else(|| corrupt_key(CF_PENDING))?;
                    *released.entry(sha).or_insert(0) -= 1;
                }
            }
            for (sha, delta) in released {
                if self.stage_ref_change(&mut batch, &sha, delta, None)? == 0 {
                    unreferenced.push(sha);
                }
            }
            self.commit(guard, batch)?;
            if due.len() < SWEEP_BATCH {
                return Ok(unreferenced);
            }
        }
    }

    /// Blobs no one holds whose last upload is at or before `cutoff_ms`, oldest first, at
    /// most `limit`: read off the unheld index, never a walk of every blob.
    pub fn unreferenced_blobs(
        &self,
        cutoff_ms: u64,
        limit: usize,
    ) -> MetaResult<Vec<Sha256Digest>> {
        self.due_entries(CF_BLOBS_UNHELD, cutoff_ms, limit)?
            .iter()
            .map(|(key, _)| trailing_digest(key).ok_or_else(|| corrupt_key(CF_BLOBS_UNHELD)))
            .collect()
    }

    /// Forgets a blob record if it still has no hold; answers whether it did. The caller
    /// deletes the file first, under its own blob lifecycle lock.
    pub fn forget_unreferenced_blob(&self, sha256: &Sha256Digest) -> MetaResult<bool> {
        let guard = self.lock();
        let key = blob_key(sha256);
        match self.get::<BlobRecord>(CF_BLOBS, &key)? {
            Some(blob) if blob.refcount == 0 => {
                let mut batch = WriteBatch::default();
                self.delete(&mut batch, CF_BLOBS, &key);
                self.stage_unheld(&mut batch, sha256, Some(&blob), None);
                self.commit(guard, batch)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Every blob record, for fsck.
    pub fn all_blob_records(&self) -> MetaResult<Vec<(Sha256Digest, BlobRecord)>> {
        self.scan_prefix(CF_BLOBS, &[])
            .map(|item| {
                let (key, value) = item?;
                Ok((
                    leading_digest(&key).ok_or_else(|| corrupt_key(CF_BLOBS))?,
                    codec::decode(CF_BLOBS, &value)?,
                ))
            })
            .collect()
    }

    /// Holds on each blob as the pending, repository and collection-image families count
    /// them, for fsck.
    pub fn counted_holds(&self) -> MetaResult<std::collections::BTreeMap<Sha256Digest, u64>> {
        let mut holds = std::collections::BTreeMap::new();
        for cf in [CF_PENDING, CF_REPOSITORY] {
            for item in self.scan_prefix(cf, &[]) {
                let (key, _) = item?;
                let sha = trailing_digest(&key).ok_or_else(|| corrupt_key(cf))?;
                *holds.entry(sha).or_insert(0) += 1;
            }
        }
        // Collection images hold their blob too; these keys start with the digest.
        for item in self.scan_prefix(CF_COLLECTION_HOLDS, &[]) {
            let (key, _) = item?;
            let sha = leading_digest(&key).ok_or_else(|| corrupt_key(CF_COLLECTION_HOLDS))?;
            *holds.entry(sha).or_insert(0) += 1;
        }
        Ok(holds)
    }

    /// Sets a blob's refcount (fsck --repair).
    pub fn set_refcount(&self, sha256: &Sha256Digest, refcount: u64) -> MetaResult<()> {
        let guard = self.lock();
        let key = blob_key(sha256);
        let before: BlobRecord = self
            .get(CF_BLOBS, &key)?
            .ok_or(MetaError::NotFound("blob"))?;
        let blob = BlobRecord {
            refcount,
            ..before.clone()
        };
        let mut batch = WriteBatch::default();
        self.put(&mut batch, CF_BLOBS, &key, &blob);
        self.stage_unheld(&mut batch, sha256, Some(&before), Some(&blob));
        self.commit(guard, batch)
    }

    /// Stages a collection image's hold on its blob (which must exist: some other hold keeps
    /// it alive while the caller holds the writer lock), counted in the refcount.
    pub(super) fn stage_collection_hold(
        &self,
        batch: &mut StagedBatch,
        sha256: &Sha256Digest,
        image: u64,
    ) -> MetaResult<()> {
        self.stage_ref_change(batch, sha256, 1, None)?;
        self.put(
            batch,
            CF_COLLECTION_HOLDS,
            &collection_hold_key(sha256, image),
            &(),
        );
        Ok(())
    }

    /// Stages the release of a collection image's hold; answers the blob's new refcount.
    pub(super) fn stage_collection_release(
        &self,
        batch: &mut StagedBatch,
        sha256: &Sha256Digest,
        image: u64,
    ) -> MetaResult<u64> {
        self.delete(
            batch,
            CF_COLLECTION_HOLDS,
            &collection_hold_key(sha256, image),
        );
        self.stage_ref_change(batch, sha256, -1, None)
    }

    /// Stages a pending upload and its expiry index entry.
    fn stage_pending(&self, batch: &mut WriteBatch, key: &[u8], pending: &PendingUpload) {
        self.put(batch, CF_PENDING, key, pending);
        batch.put_cf(
            self.cf(CF_PENDING_BY_EXPIRY),
            pending_by_expiry(pending.expires_ms, key),
            [],
        );
    }

    /// Stages the removal of a pending upload and of its expiry index entry.
    fn stage_pending_removal(&self, batch: &mut WriteBatch, key: &[u8], pending: &PendingUpload) {
        self.delete(batch, CF_PENDING, key);
        self.delete(
            batch,
            CF_PENDING_BY_EXPIRY,
            &pending_by_expiry(pending.expires_ms, key),
        );
    }

    /// Keeps the unheld index in step with a blob record changing from `before` to `after`
    /// (`None`: no record): an entry exists exactly for records with refcount 0, keyed by
    /// their last upload.
    fn stage_unheld(
        &self,
        batch: &mut WriteBatch,
        sha256: &Sha256Digest,
        before: Option<&BlobRecord>,
        after: Option<&BlobRecord>,
    ) {
        let entry = |blob: Option<&BlobRecord>| {
            blob.filter(|b| b.refcount == 0)
                .map(|b| blob_unheld(b.last_uploaded_ms(), sha256))
        };
        let (old, new) = (entry(before), entry(after));
        if old == new {
            return;
        }
        if let Some(old) = old {
            self.delete(batch, CF_BLOBS_UNHELD, &old);
        }
        if let Some(new) = new {
            batch.put_cf(self.cf(CF_BLOBS_UNHELD), new, []);
        }
    }

    /// Stages the blob's last upload time (the sweeper's grace runs from it), against what
    /// `batch` already staged.
    fn stage_uploaded(
        &self,
        batch: &mut StagedBatch,
        sha256: &Sha256Digest,
        now_ms: u64,
    ) -> MetaResult<()> {
        let key = blob_key(sha256);
        let before = match batch.blobs.get(sha256) {
            Some(blob) => blob.clone(),
            None => self
                .get::<BlobRecord>(CF_BLOBS, &key)?
                .ok_or(MetaError::NotFound("blob"))?,
        };
        let blob = BlobRecord {
            last_uploaded_ms: now_ms,
            ..before.clone()
        };
        self.put(batch, CF_BLOBS, &key, &blob);
        self.stage_unheld(batch, sha256, Some(&before), Some(&blob));
        batch.blobs.insert(*sha256, blob);
        Ok(())
    }

    /// Stages a refcount change against what `batch` already staged (else the committed
    /// record); creates the blob record when `new` describes it. Answers the new count.
    pub(super) fn stage_ref_change(
        &self,
        batch: &mut StagedBatch,
        sha256: &Sha256Digest,
        delta: i64,
        new: Option<(u64, &str, u64)>,
    ) -> MetaResult<u64> {
        let key = blob_key(sha256);
        let staged = match batch.blobs.get(sha256) {
            Some(blob) => Some(blob.clone()),
            None => self.get::<BlobRecord>(CF_BLOBS, &key)?,
        };
        let before = staged.clone();
        let mut blob = match (staged, new) {
            (Some(blob), _) => blob,
            (None, Some((length, blake3, now_ms))) => BlobRecord {
                refcount: 0,
                length,
                blake3: blake3.to_string(),
                created_ms: now_ms,
                last_uploaded_ms: now_ms,
            },
            (None, None) => return Err(MetaError::NotFound("blob")),
        };
        blob.refcount = blob.refcount.checked_add_signed(delta).ok_or_else(|| {
            count_underflow(CF_BLOBS, &format!("blob {sha256}"), blob.refcount, delta)
        })?;
        self.put(batch, CF_BLOBS, &key, &blob);
        self.stage_unheld(batch, sha256, before.as_ref(), Some(&blob));
        let refcount = blob.refcount;
        batch.blobs.insert(*sha256, blob);
        Ok(refcount)
    }
}

fn corrupt_key(cf: &'static str) -> MetaError {
    MetaError::Corrupt {
        cf,
        reason: "malformed key".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_store;
    use super::*;

    #[test]
    fn holds_are_counted() {
        let (_dir, meta) = test_store();
        let sha = Sha256Digest([1; 32]);
        meta.add_pending("a", &sha, 3, "b3", 0, 100).unwrap();
        meta.add_pending("a", &sha, 3, "b3", 1, 100).unwrap();
        meta.add_pending("b", &sha, 3, "b3", 1, 100).unwrap();
        assert_eq!(
            meta.blob_record(&sha).unwrap().unwrap().refcount,
            2,
            "one hold per partner"
        );
        assert_eq!(
            meta.move_to_repository("a", &sha, 5).unwrap(),
            MoveOutcome::Moved
        );
        assert_eq!(
            meta.move_to_repository("a", &sha, 6).unwrap(),
            MoveOutcome::AlreadyInRepository
        );
        assert_eq!(meta.blob_record(&sha).unwrap().unwrap().refcount, 2);
        assert!(matches!(
            meta.move_to_repository("c", &sha, 6),
            Err(MetaError::NotFound(_))
        ));
        assert!(
            meta.sweep_expired_uploads(200).unwrap().is_empty(),
            "the repository entry still holds it"
        );
        assert_eq!(meta.blob_record(&sha).unwrap().unwrap().refcount, 1);
        assert_eq!(meta.counted_holds().unwrap()[&sha], 1);
    }

    #[test]
    fn sweep_releases_unmoved_uploads() {
        let (_dir, meta) = test_store();
        let sha = Sha256Digest([2; 32]);
        meta.add_pending("a", &sha, 3, "b3", 0, 100).unwrap();
        assert!(meta.sweep_expired_uploads(99).unwrap().is_empty());
        assert_eq!(meta.sweep_expired_uploads(100).unwrap(), vec![sha]);
        assert!(matches!(
            meta.move_to_repository("a", &sha, 101),
            Err(MetaError::NotFound(_))
        ));
        assert!(meta.forget_unreferenced_blob(&sha).unwrap());
        assert!(meta.blob_record(&sha).unwrap().is_none());
    }

    /// Issue 10 item 1: every upload of a blob, first or repeated, by any partner, stamps
    /// its record's last upload time (the sweeper's grace runs from it, not from a file).
    #[test]
    fn every_upload_stamps_the_last_upload_time() {
        let (_dir, meta) = test_store();
        let sha = Sha256Digest([5; 32]);
        let last = |meta: &MetaStore| meta.blob_record(&sha).unwrap().unwrap().last_uploaded_ms();
        meta.add_pending("a", &sha, 3, "b3", 10, 100).unwrap();
        assert_eq!(last(&meta), 10);
        meta.add_pending("a", &sha, 3, "b3", 20, 100).unwrap();
        assert_eq!(last(&meta), 20, "the same partner's hold refreshed");
        meta.add_pending("b", &sha, 3, "b3", 30, 100).unwrap();
        assert_eq!(last(&meta), 30, "another partner's hold");
        let record = meta.blob_record(&sha).unwrap().unwrap();
        assert_eq!((record.created_ms, record.refcount), (10, 2));
    }

    /// A record stored before the field existed reads its creation as its last upload.
    #[test]
    fn records_without_a_last_upload_fall_back_to_their_creation() {
        let old = br#"{"refcount":0,"length":3,"blake3":"b3","created_ms":42}"#;
        let mut bytes = vec![1u8];
        bytes.extend_from_slice(old);
        let record: BlobRecord = codec::decode(CF_BLOBS, &bytes).unwrap();
        assert_eq!(record.last_uploaded_ms(), 42);
    }

    /// Issue 11 item 3: a refcount that would drop below zero is corruption, refused and
    /// reported, never clamped to zero; nothing of the refused commit is written.
    #[test]
    fn refcount_underflow_is_an_error_not_clamped() {
        let (_dir, meta) = test_store();
        let sha = Sha256Digest([3; 32]);
        meta.add_pending("a", &sha, 3, "b3", 0, 100).unwrap();
        meta.set_refcount(&sha, 0).unwrap();
        let err = meta.remove_pending("a", &sha).unwrap_err();
        assert!(
            matches!(&err, MetaError::Corrupt { cf, .. } if *cf == CF_BLOBS),
            "{err}"
        );
        assert_eq!(meta.blob_record(&sha).unwrap().unwrap().refcount, 0);
        assert_eq!(meta.counted_holds().unwrap()[&sha], 1, "the hold is kept");
    }

    /// Issue 11 item 3: two reference changes to one blob staged in one batch both count
    /// (the second reads the first from the batch, not the committed record).
    #[test]
    fn two_ref_changes_to_one_digest_in_one_batch_both_count() {
        let (_dir, meta) = test_store();
        let sha = Sha256Digest([4; 32]);
        let mut batch = StagedBatch::default();
        let first = meta
            .stage_ref_change(&mut batch, &sha, 1, Some((3, "b3", 0)))
            .unwrap();
        let second = meta.stage_ref_change(&mut batch, &sha, 1, None).unwrap();
        let third = meta.stage_ref_change(&mut batch, &sha, 1, None).unwrap();
        assert_eq!((first, second, third), (1, 2, 3));
        assert_eq!(
            meta.stage_ref_change(&mut batch, &sha, -1, None).unwrap(),
            2
        );
        meta.commit_alone(batch).unwrap();
        assert_eq!(meta.blob_record(&sha).unwrap().unwrap().refcount, 2);
    }
}
