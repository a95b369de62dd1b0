//! Deleting pool records: under the writer lock, the uses are checked and the unused records
//! go with every index, counter and tag count in one batch; a repository entry no record of
//! the partner names any more is released with them (its blob then waits for the sweeper).

use std::collections::{BTreeMap, BTreeSet};

use super::keys::*;
use super::stats::Stat;
use super::{MetaError, MetaResult, MetaStore, StagedBatch};
use crate::domain::usage::InUse;
use crate::domain::{PoolRecordData, RepositoryEntry, Sha256Digest};

/// What one delete commit did.
#[derive(Debug, Default)]
pub struct Deletion {
    pub deleted: Vec<PoolRecordData>,
    /// Records left in place because something uses them.
    pub refused: Vec<(PoolRecordData, InUse)>,
    /// Blobs no hold keeps any more (the sweeper deletes them after the grace), with their
    /// sizes.
    pub released: Vec<(Sha256Digest, u64)>,
}

impl MetaStore {
    /// Deletes the pool record (type, versionNumber) of `partner` unless it is in use
    /// (then `MetaError::InUse`).
    pub fn delete_pool_record(
        &self,
        partner: &str,
        fw_type: u16,
        version_number: u64,
    ) -> MetaResult<Deletion> {
        let guard = self.lock();
        let record = self
            .pool_by_version_number(partner, fw_type, version_number)?
            .ok_or(MetaError::NotFound("pool record"))?;
        let (batch, deletion) = self.stage_pool_deletions(partner, vec![record])?;
        if let Some((_, uses)) = deletion.refused.into_iter().next() {
            return Err(MetaError::InUse(Box::new(uses)));
        }
        self.commit(guard, batch)?;
        Ok(Deletion {
            refused: Vec::new(),
            ..deletion
        })
    }

    /// Deletes those of `ids` (records of `partner`) that nothing uses, in one commit;
    /// records gone already or of another partner are skipped.
    pub fn delete_pool_records(&self, partner: &str, ids: &[u64]) -> MetaResult<Deletion> {
        let guard = self.lock();
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            records.extend(self.pool_record(*id)?.filter(|r| r.partner == partner));
        }
        let (batch, deletion) = self.stage_pool_deletions(partner, records)?;
        self.commit(guard, batch)?;
        Ok(deletion)
    }

    /// The uses of records, for a plan (not under the lock: a delete checks again).
    pub fn uses_of_pool_records(
        &self,
        partner: &str,
        records: &[PoolRecordData],
    ) -> MetaResult<BTreeMap<u64, InUse>> {
        self.pool_record_uses(partner, records)
    }

    /// Whether some record of `partner` other than `leaving` names the blob.
    pub fn partner_keeps_blob(
        &self,
        partner: &str,
        sha256: &Sha256Digest,
        leaving: &BTreeSet<u64>,
    ) -> MetaResult<bool> {
        for id in self.pool_ids_by_sha(sha256)? {
            if leaving.contains(&id) {
                continue;
            }
            if self.pool_record(id)?.is_some_and(|r| r.partner == partner) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Stages the removal of the unused ones among `records` (call under the writer lock).
    fn stage_pool_deletions(
        &self,
        partner: &str,
        records: Vec<PoolRecordData>,
    ) -> MetaResult<(StagedBatch, Deletion)> {
        let mut uses = self.pool_record_uses(partner, &records)?;
        let mut deletion = Deletion::default();
        for record in records {
            match uses.remove(&record.id) {
                Some(found) => deletion.refused.push((record, found)),
                None => deletion.deleted.push(record),
            }
        }
        let mut batch = StagedBatch::default();
        let mut tag_deltas = BTreeMap::new();
        let mut per_type = BTreeMap::<u16, u64>::new();
        for record in &deletion.deleted {
            self.delete(&mut batch, CF_POOL, &pool_key(record.id));
            self.delete(
                &mut batch,
                CF_POOL_BY_PARTNER,
                &pool_by_partner(partner, record.id),
            );
            self.delete(
                &mut batch,
                CF_POOL_BY_TYPE,
                &pool_by_type(partner, record.fw_type, record.version_number),
            );
            self.stage_indexes(&mut batch, record, false, &mut tag_deltas);
            *per_type.entry(record.fw_type).or_insert(0) += 1;
        }
        if deletion.deleted.is_empty() {
            return Ok((batch, deletion));
        }
        self.stage_tag_counts(&mut batch, partner, tag_deltas)?;
        for (fw_type, count) in per_type {
            let key = deleted_counter(partner, fw_type);
            let before = self.get_u64(CF_COUNTERS, &key)?.unwrap_or(0);
            self.put_u64(&mut batch, CF_COUNTERS, &key, before + count);
        }
        deletion.released = self.stage_repository_releases(&mut batch, partner, &deletion)?;
        Ok((batch, deletion))
    }

    /// Releases the repository entries of the deleted records' blobs that no remaining
    /// record of the partner names; answers the blobs left with no hold.
    fn stage_repository_releases(
        &self,
        batch: &mut StagedBatch,
        partner: &str,
        deletion: &Deletion,
    ) -> MetaResult<Vec<(Sha256Digest, u64)>> {
        let leaving: BTreeSet<u64> = deletion.deleted.iter().map(|r| r.id).collect();
        let digests: BTreeSet<Sha256Digest> = deletion.deleted.iter().map(|r| r.sha256).collect();
        let mut released = Vec::new();
        let mut stored_bytes = 0i64;
        for sha in digests {
            if self.partner_keeps_blob(partner, &sha, &leaving)? {
                continue;
            }
            let key = repository_key(partner, &sha);
            let Some(entry) = self.get::<RepositoryEntry>(CF_REPOSITORY, &key)? else {
                continue;
            };
            self.delete(batch, CF_REPOSITORY, &key);
            self.stage_attestations_removal(batch, partner, &sha)?;
            stored_bytes += entry.length as i64;
            if self.stage_ref_change(batch, &sha, -1, None)? == 0 {
                released.push((sha, entry.length));
            }
        }
        if stored_bytes > 0 {
            self.stage_stat(batch, partner, Stat::StoredBytes, -stored_bytes)?;
        }
        Ok(released)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_store;
    use super::*;
    use crate::domain::{FirmwareTypeNumber, PoolQuery, PoolRecordFields};

    fn fields(version: &str, tags: &[&str], sha: u8) -> PoolRecordFields {
        PoolRecordFields {
            fw_type: 101,
            name: "fw".into(),
            description: None,
            version: version.into(),
            url: "u".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            sha256: Sha256Digest([sha; 32]),
        }
    }

    /// A deleted record leaves no index entry, counter or tag count behind; the repository
    /// entry goes with the last record naming its blob, whose refcount then reaches zero.
    #[test]
    fn a_delete_removes_every_index_and_releases_the_last_hold() {
        let (_dir, meta) = test_store();
        for sha in [1u8, 2] {
            let digest = Sha256Digest([sha; 32]);
            meta.add_pending("acme", &digest, 10, "b3", 1, 1000)
                .unwrap();
            meta.move_to_repository("acme", &digest, 2).unwrap();
        }
        let a = meta
            .create_pool_record("acme", fields("1.0.0", &["x", "branch:main"], 1), 10)
            .unwrap();
        let b = meta
            .create_pool_record("acme", fields("1.1.0", &["x"], 1), 11)
            .unwrap();
        let c = meta
            .create_pool_record("acme", fields("2.0.0", &["y"], 2), 12)
            .unwrap();
        assert_eq!(meta.partner_stats("acme").unwrap().records, 3);
        assert_eq!(meta.partner_stats("other").unwrap().records, 0);
        let first = meta
            .delete_pool_record("acme", 101, a.version_number)
            .unwrap();
        assert!(first.released.is_empty(), "record b still names blob 1");
        assert_eq!(meta.partner_stats("acme").unwrap().records, 2);
        assert!(meta.repository_entry("acme", &a.sha256).unwrap().is_some());
        let both = meta
            .delete_pool_records("acme", &[b.id, c.id, 999])
            .unwrap();
        assert_eq!(both.deleted.len(), 2);
        let mut released: Vec<u8> = both.released.iter().map(|(s, _)| s.0[0]).collect();
        released.sort();
        assert_eq!(released, vec![1, 2]);
        assert!(meta.repository_entry("acme", &a.sha256).unwrap().is_none());
        assert_eq!(meta.blob_record(&a.sha256).unwrap().unwrap().refcount, 0);
        assert!(meta.list_tags("acme").unwrap().is_empty());
        assert_eq!(meta.type_record_count("acme", 101).unwrap(), 0);
        let all = meta.list_pool("acme", &PoolQuery::default()).unwrap();
        assert_eq!((all.total, all.records.len()), (0, 0));
        let by_semver = PoolQuery {
            fw_type: Some(FirmwareTypeNumber::new(101).unwrap()),
            version_req: Some(">=0.0.0".parse().unwrap()),
            ..PoolQuery::default()
        };
        assert_eq!(meta.list_pool("acme", &by_semver).unwrap().total, 0);
        assert!(!meta
            .pool_name_exists("acme", 101, "fw", "1.0.0", None)
            .unwrap());
        assert!(meta.pool_ids_by_sha(&a.sha256).unwrap().is_empty());
        assert_eq!(meta.partner_stats("acme").unwrap().records, 0);
        assert_eq!(meta.partner_stats("acme").unwrap().stored_bytes, 0);
        let holds = meta.counted_holds().unwrap();
        assert!(!holds.contains_key(&a.sha256), "fsck counts no hold");
    }

    #[test]
    fn an_associated_record_is_in_use_and_stays() {
        let (_dir, meta) = test_store();
        let digest = Sha256Digest([3; 32]);
        meta.add_pending("acme", &digest, 10, "b3", 1, 1000)
            .unwrap();
        meta.move_to_repository("acme", &digest, 2).unwrap();
        let (record, images) = meta
            .create_pool_record_with_images("acme", fields("1.0.0", &[], 3), &["dt".into()], 1)
            .unwrap();
        let err = meta
            .delete_pool_record("acme", 101, record.version_number)
            .unwrap_err();
        let MetaError::InUse(uses) = err else {
            panic!("{err}")
        };
        assert_eq!(uses.total, 1);
        assert_eq!(uses.uses[0].id, images[0].id.to_string());
        assert!(meta.pool_record(record.id).unwrap().is_some());
        assert!(matches!(
            meta.delete_pool_record("other", 101, record.version_number),
            Err(MetaError::NotFound(_))
        ));
    }
}
