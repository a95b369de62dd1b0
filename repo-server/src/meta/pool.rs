//! Pool records and their indexes: by partner, by (type, versionNumber), by (type, name,
//! version), by tag, by (tag, type), by sha256; plus record counts per (partner, tag, type).

use rocksdb::WriteBatch;

use super::counts::AtZero;
use super::keys::*;
use super::{MetaError, MetaResult, MetaStore};
use crate::domain::{ConflictKind, ImageRecord, PoolRecordData, PoolRecordFields, RepositoryEntry};

/// Net changes to the records per (tag, type) of one commit.
pub(super) type TagDeltas = std::collections::BTreeMap<(String, u16), i64>;

/// Records decoded at once while filtering or sorting: bounds memory whatever the pool size.
pub(super) const RECORD_CHUNK: usize = 1024;
/// Index entries written per batch when an index is built from existing records.
/// Deepest window (page × size + size) served for a sort by a record field; such sorts keep
/// that many records in memory. Sorts following the id order have no such limit.
pub const MAX_SORT_WINDOW: usize = 20_000;

/// A page of pool records and the number of records matching in all.
pub struct PoolPage {
    pub records: Vec<PoolRecordData>,
    pub total: u64,
}

impl MetaStore {
    /// Creates a record, allocating its id and the next version number of its type.
    pub fn create_pool_record(
        &self,
        partner: &str,
        fields: PoolRecordFields,
        now_ms: u64,
    ) -> MetaResult<PoolRecordData> {
        self.create_pool_record_with_images(partner, fields, &[], now_ms)
            .map(|(record, _)| record)
    }

    /// Creates a record and its device-type associations in one commit: a crash never
    /// leaves the record without the associations its request asked for.
    pub fn create_pool_record_with_images(
        &self,
        partner: &str,
        fields: PoolRecordFields,
        device_types: &[String],
        now_ms: u64,
    ) -> MetaResult<(PoolRecordData, Vec<ImageRecord>)> {
        let guard = self.lock();
        let entry = self.repository_entry_required(partner, &fields)?;
        self.ensure_name_free(partner, &fields, None)?;
        let mut batch = WriteBatch::default();
        // One id for the record, one per image, all from one read of the counter.
        let first_id =
            self.next_counters(&mut batch, &id_counter(), 1 + device_types.len() as u64)?;
        let id = first_id;
        let version_number =
            self.next_counter(&mut batch, &version_counter(partner, fields.fw_type))?;
        let created_ms = self.next_timestamp(&mut batch, now_ms)?;
        let record = PoolRecordData {
            id,
            partner: partner.to_string(),
            fw_type: fields.fw_type,
            version_number,
            name: fields.name,
            description: fields.description,
            version: fields.version,
            url: fields.url,
            tags: fields.tags,
            sha256: fields.sha256,
            blake3: entry.blake3,
            length: entry.length,
            created_ms,
            updated_ms: created_ms,
        };
        self.put(&mut batch, CF_POOL, &pool_key(id), &record);
        self.put_u64(
            &mut batch,
            CF_POOL_BY_PARTNER,
            &pool_by_partner(partner, id),
            id,
        );
        self.put_u64(
            &mut batch,
            CF_POOL_BY_TYPE,
            &pool_by_type(partner, record.fw_type, version_number),
            id,
        );
        let mut tag_deltas = TagDeltas::new();
        self.stage_indexes(&mut batch, &record, true, &mut tag_deltas);
        self.stage_tag_counts(&mut batch, partner, tag_deltas)?;
        let mut images = Vec::with_capacity(device_types.len());
        for (offset, device_type) in device_types.iter().enumerate() {
            let image_id = first_id + 1 + offset as u64;
            images.push(self.stage_image(
                &mut batch,
                image_id,
                device_type,
                &record,
                created_ms,
            )?);
        }
        if !images.is_empty() {
            let added = images.len() as i64;
            self.stage_count(
                &mut batch,
                partner,
                super::counts::ListOf::PartnerImages,
                added,
            )?;
        }
        super::audit::note_created(format!(
            "pool/types/{}/versionNumbers/{version_number}",
            record.fw_type
        ));
        self.commit(guard, batch)?;
        Ok((record, images))
    }

    /// Replaces a record's editable fields; its id, type and version number stay.
    pub fn update_pool_record(
        &self,
        partner: &str,
        fw_type: u16,
        version_number: u64,
        fields: PoolRecordFields,
        now_ms: u64,
    ) -> MetaResult<PoolRecordData> {
        let guard = self.lock();
        let old = self
            .pool_by_version_number(partner, fw_type, version_number)?
            .ok_or(MetaError::NotFound("pool record"))?;
        let entry = self.repository_entry_required(partner, &fields)?;
        self.ensure_name_free(partner, &fields, Some(old.id))?;
        let mut batch = WriteBatch::default();
        let mut tag_deltas = TagDeltas::new();
        self.stage_indexes(&mut batch, &old, false, &mut tag_deltas);
        let record = PoolRecordData {
            name: fields.name,
            description: fields.description,
            version: fields.version,
            url: fields.url,
            tags: fields.tags,
            sha256: fields.sha256,
            blake3: entry.blake3,
            length: entry.length,
            updated_ms: now_ms.max(old.created_ms),
            ..old
        };
        self.stage_indexes(&mut batch, &record, true, &mut tag_deltas);
        self.stage_tag_counts(&mut batch, partner, tag_deltas)?;
        self.put(&mut batch, CF_POOL, &pool_key(record.id), &record);
        self.commit(guard, batch)?;
        Ok(record)
    }

    fn repository_entry_required(
        &self,
        partner: &str,
        fields: &PoolRecordFields,
    ) -> MetaResult<RepositoryEntry> {
        self.repository_entry(partner, &fields.sha256)?
            .ok_or_else(|| {
                MetaError::StateConflict(
                    ConflictKind::NotInRepository,
                    format!(
                        "binary {} has not been moved to the repository",
                        fields.sha256
                    ),
                )
            })
    }

    fn ensure_name_free(
        &self,
        partner: &str,
        fields: &PoolRecordFields,
        exclude: Option<u64>,
    ) -> MetaResult<()> {
        let key = pool_by_name(partner, fields.fw_type, &fields.name, &fields.version);
        match self.get_u64(CF_POOL_BY_NAME, &key)? {
            Some(id) if Some(id) != exclude => Err(MetaError::Conflict(format!(
                "a type {} record named '{}' with version '{}' already exists (id {id})",
                fields.fw_type, fields.name, fields.version
            ))),
            _ => Ok(()),
        }
    }

    /// Stages (or, with `add == false`, removes) the name, tag and sha256 index entries.
    pub(super) fn stage_indexes(
        &self,
        batch: &mut WriteBatch,
        record: &PoolRecordData,
        add: bool,
        tag_deltas: &mut TagDeltas,
    ) {
        let partner = record.partner.as_str();
        let name_key = pool_by_name(partner, record.fw_type, &record.name, &record.version);
        let sha_key = pool_by_sha(&record.sha256, record.id);
        let semver_keys = semver::Version::parse(&record.version).ok().map(|version| {
            (
                pool_by_semver(partner, record.fw_type, &version, record.id),
                pool_by_name_semver(partner, record.fw_type, &record.name, &version, record.id),
            )
        });
        if add {
            self.put_u64(batch, CF_POOL_BY_NAME, &name_key, record.id);
            self.put_u64(batch, CF_POOL_BY_SHA, &sha_key, record.id);
            if let Some((by_type, by_name)) = &semver_keys {
                self.put_u64(batch, CF_POOL_BY_SEMVER, by_type, record.id);
                self.put_u64(batch, CF_POOL_BY_NAME_SEMVER, by_name, record.id);
            }
        } else {
            self.delete(batch, CF_POOL_BY_NAME, &name_key);
            self.delete(batch, CF_POOL_BY_SHA, &sha_key);
            if let Some((by_type, by_name)) = &semver_keys {
                self.delete(batch, CF_POOL_BY_SEMVER, by_type);
                self.delete(batch, CF_POOL_BY_NAME_SEMVER, by_name);
            }
        }
        for tag in &record.tags {
            let tag_key = pool_by_tag(partner, tag, record.id);
            let tag_type_key = pool_by_tag_type(partner, tag, record.fw_type, record.id);
            *tag_deltas.entry((tag.clone(), record.fw_type)).or_insert(0) +=
                if add { 1 } else { -1 };
            if add {
                self.put_u64(batch, CF_POOL_BY_TAG, &tag_key, record.id);
                self.put_u64(batch, CF_POOL_BY_TAG_TYPE, &tag_type_key, record.id);
            } else {
                self.delete(batch, CF_POOL_BY_TAG, &tag_key);
                self.delete(batch, CF_POOL_BY_TAG_TYPE, &tag_type_key);
            }
        }
    }

    /// Writes the net tag count changes of one commit (an update may remove and re-add a
    /// tag), per tag within a type; a tag's own count is their sum. An increment is a merge
    /// operand and reads nothing; a decrement reads the count, so an underflow is caught.
    pub(super) fn stage_tag_counts(
        &self,
        batch: &mut WriteBatch,
        partner: &str,
        tag_deltas: TagDeltas,
    ) -> MetaResult<()> {
        for ((tag, fw_type), delta) in tag_deltas.into_iter().filter(|(_, d)| *d != 0) {
            let key = tag_type_count(partner, &tag, fw_type);
            if let Ok(increment) = u64::try_from(delta) {
                self.merge_add(batch, CF_TAG_TYPE_COUNTS, &key, increment);
                continue;
            }
            let what = || format!("tag '{tag}' in type {fw_type}");
            self.stage_delta(batch, CF_TAG_TYPE_COUNTS, &key, delta, what, AtZero::Delete)?;
        }
        Ok(())
    }

    pub fn pool_record(&self, id: u64) -> MetaResult<Option<PoolRecordData>> {
        self.get(CF_POOL, &pool_key(id))
    }

    pub fn pool_by_version_number(
        &self,
        partner: &str,
        fw_type: u16,
        version_number: u64,
    ) -> MetaResult<Option<PoolRecordData>> {
        match self.get_u64(
            CF_POOL_BY_TYPE,
            &pool_by_type(partner, fw_type, version_number),
        )? {
            Some(id) => self.pool_record(id),
            None => Ok(None),
        }
    }

    /// The exists check: is (type, name, version) taken, other than by `exclude`?
    pub fn pool_name_exists(
        &self,
        partner: &str,
        fw_type: u16,
        name: &str,
        version: &str,
        exclude: Option<u64>,
    ) -> MetaResult<bool> {
        let id = self.get_u64(
            CF_POOL_BY_NAME,
            &pool_by_name(partner, fw_type, name, version),
        )?;
        Ok(matches!(id, Some(id) if Some(id) != exclude))
    }

    /// Ids of every pool record (of any partner) holding this binary.
    pub fn pool_ids_by_sha(&self, sha256: &crate::domain::Sha256Digest) -> MetaResult<Vec<u64>> {
        self.scan_ids(CF_POOL_BY_SHA, &sha_prefix(sha256))
    }

    /// Builds the name-in-version-order index from the name index, for data written before
    /// it existed (new records maintain it in their own batches); run once by `backfill`.
    pub(super) fn build_name_semver_index(&self) -> MetaResult<()> {
        // Chunked: re-running a chunk after a crash puts the same keys again.
        let mut batch = WriteBatch::default();
        for item in self.scan_prefix(CF_POOL_BY_NAME, &[]) {
            let (key, value) = item?;
            let (partner, fw_type, name, version) =
                parse_pool_by_name(&key).ok_or(MetaError::Corrupt {
                    cf: CF_POOL_BY_NAME,
                    reason: "malformed key".into(),
                })?;
            if let Ok(version) = semver::Version::parse(version) {
                let id = super::codec::decode_u64(CF_POOL_BY_NAME, &value)?;
                let key = pool_by_name_semver(partner, fw_type, name, &version, id);
                self.put_u64(&mut batch, CF_POOL_BY_NAME_SEMVER, &key, id);
            }
            self.commit_full_batch(&mut batch)?;
        }
        self.commit_alone(batch)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::test_store;
    use super::*;
    use crate::domain::{FirmwareTypeNumber, PageRequest, PoolQuery, Sha256Digest};

    fn fields(name: &str, version: &str, tags: &[&str], sha: u8) -> PoolRecordFields {
        PoolRecordFields {
            fw_type: 101,
            name: name.into(),
            description: None,
            version: version.into(),
            url: "u".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            sha256: Sha256Digest([sha; 32]),
        }
    }

    fn store_with_blobs() -> (tempfile::TempDir, MetaStore) {
        let (dir, meta) = test_store();
        for sha in 1..=3u8 {
            meta.add_pending("acme", &Sha256Digest([sha; 32]), 10, "b3", 1, 1000)
                .unwrap();
            meta.move_to_repository("acme", &Sha256Digest([sha; 32]), 2)
                .unwrap();
        }
        (dir, meta)
    }

    #[test]
    fn version_numbers_increase_and_names_are_unique() {
        let (_dir, meta) = store_with_blobs();
        let a = meta
            .create_pool_record("acme", fields("fw", "1.0.0", &["x"], 1), 10)
            .unwrap();
        let b = meta
            .create_pool_record("acme", fields("fw", "1.1.0", &["x", "y"], 2), 5)
            .unwrap();
        assert_eq!((a.version_number, b.version_number), (1, 2));
        assert!(
            b.created_ms >= a.created_ms,
            "timestamps never go backwards"
        );
        let dup = meta.create_pool_record("acme", fields("fw", "1.0.0", &[], 3), 11);
        assert!(matches!(dup, Err(MetaError::Conflict(_))));
        let unmoved = meta.create_pool_record("acme", fields("fw", "2.0.0", &[], 9), 11);
        assert!(matches!(
            unmoved,
            Err(MetaError::StateConflict(ConflictKind::NotInRepository, _))
        ));
        assert!(meta
            .pool_name_exists("acme", 101, "fw", "1.0.0", None)
            .unwrap());
        assert!(!meta
            .pool_name_exists("acme", 101, "fw", "1.0.0", Some(a.id))
            .unwrap());
        assert_eq!(meta.list_tags("acme").unwrap(), vec!["x", "y"]);
    }

    #[test]
    fn associations_commit_with_their_record() {
        let (_dir, meta) = store_with_blobs();
        let device_types = vec!["dt-a".to_string(), "dt-b".to_string()];
        let (record, images) = meta
            .create_pool_record_with_images("acme", fields("fw", "1.0.0", &[], 1), &device_types, 1)
            .unwrap();
        let ids: Vec<u64> = images.iter().map(|i| i.id).collect();
        assert_eq!(
            ids,
            vec![record.id + 1, record.id + 2],
            "distinct ids from one counter read"
        );
        let associated = meta.images_of_pool_record(record.id).unwrap();
        assert_eq!(associated.len(), 2);
        let next = meta
            .create_pool_record("acme", fields("fw", "1.0.1", &[], 2), 2)
            .unwrap();
        assert_eq!(next.id, record.id + 3, "the counter moved past the images");
    }

    #[test]
    fn record_sorts_keep_only_the_window_and_refuse_deep_pages() {
        let (_dir, meta) = store_with_blobs();
        for i in 0..40u32 {
            let name = format!("n{:02}", (i * 7) % 40);
            meta.create_pool_record("acme", fields(&name, "1", &[], 1 + (i % 3) as u8), 1)
                .unwrap();
        }
        let mut query = PoolQuery {
            page: PageRequest::parse(Some("2"), Some("7"), Some("name,desc")).unwrap(),
            ..Default::default()
        };
        let page = meta.list_pool("acme", &query).unwrap();
        let names: Vec<&str> = page.records.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(page.total, 40);
        assert_eq!(names, ["n25", "n24", "n23", "n22", "n21", "n20", "n19"]);
        query.page = PageRequest::parse(Some("100"), Some("1000"), Some("name,asc")).unwrap();
        assert!(matches!(
            meta.list_pool("acme", &query),
            Err(MetaError::Invalid(_))
        ));
        query.page = PageRequest::parse(Some("100"), Some("1000"), Some("id,asc")).unwrap();
        assert_eq!(
            meta.list_pool("acme", &query).unwrap().records.len(),
            0,
            "id order has no depth limit"
        );
    }

    /// A tag's count is the sum of its per-type counts: a tag in two types is listed once
    /// and its listing's total counts both; removing it from one type leaves the other.
    #[test]
    fn a_tag_in_two_types_is_counted_across_them() {
        let (_dir, meta) = store_with_blobs();
        let in_type = |fw_type: u16, version: &str, tags: &[&str]| PoolRecordFields {
            fw_type,
            ..fields("fw", version, tags, 1)
        };
        meta.create_pool_record("acme", in_type(101, "1.0.0", &["x"]), 1)
            .unwrap();
        let other = meta
            .create_pool_record("acme", in_type(102, "1.0.0", &["x", "y"]), 2)
            .unwrap();
        assert_eq!(meta.list_tags("acme").unwrap(), vec!["x", "y"]);
        let tagged = |tags: &[&str]| {
            let query = PoolQuery {
                tags: tags.iter().map(|t| t.to_string()).collect(),
                ..Default::default()
            };
            meta.list_pool("acme", &query).unwrap().total
        };
        assert_eq!(tagged(&["x"]), 2);
        assert_eq!(tagged(&["x", "y"]), 1);
        meta.update_pool_record(
            "acme",
            102,
            other.version_number,
            in_type(102, "1.0.0", &["y"]),
            3,
        )
        .unwrap();
        assert_eq!(tagged(&["x"]), 1);
        assert_eq!(meta.tag_record_count("acme", "x").unwrap(), 1);
        assert_eq!(meta.tag_record_count("acme", "y").unwrap(), 1);
        assert_eq!(meta.tag_record_count("other", "x").unwrap(), 0);
    }

    /// Memtable lookups of this thread's reads while `op` runs.
    fn reads_during(op: impl FnOnce()) -> u64 {
        use rocksdb::perf::{set_perf_stats, PerfContext, PerfMetric, PerfStatsLevel};
        set_perf_stats(PerfStatsLevel::EnableCount);
        let mut context = PerfContext::default();
        context.reset();
        op();
        let reads = context.metric(PerfMetric::GetFromMemtableCount);
        set_perf_stats(PerfStatsLevel::Disable);
        reads
    }

    /// A tag's count goes up by a merge operand, not a read and a write: creating a record
    /// with five new tags reads as much as creating one with one tag.
    #[test]
    fn creating_a_record_reads_no_tag_count() {
        let (_dir, meta) = store_with_blobs();
        // The type's first record reads counters that exist only after it.
        meta.create_pool_record("acme", fields("fw", "0.1.0", &[], 1), 1)
            .unwrap();
        let one_tag = reads_during(|| {
            meta.create_pool_record("acme", fields("fw", "1.0.0", &["a"], 1), 2)
                .unwrap();
        });
        let five_tags = reads_during(|| {
            let tags = ["b", "c", "d", "e", "f"];
            meta.create_pool_record("acme", fields("fw", "2.0.0", &tags, 1), 3)
                .unwrap();
        });
        assert!(one_tag > 0, "the perf context counted no read at all");
        assert_eq!(five_tags, one_tag, "each tag's count was read");
    }

    /// Increments past what the memtable keeps per key, decrements that read the merged
    /// count, and a flush and a compaction that fold the deltas: the counts stay exact.
    #[test]
    fn tag_counts_add_up_across_merges_flushes_and_deletes() {
        let (_dir, meta) = store_with_blobs();
        for n in 0..100u64 {
            let tags: &[&str] = if n % 2 == 0 {
                &["hot", "even"]
            } else {
                &["hot"]
            };
            meta.create_pool_record("acme", fields("fw", &format!("1.0.{n}"), tags, 1), n)
                .unwrap();
        }
        assert_eq!(meta.tag_record_count("acme", "hot").unwrap(), 100);
        for version_number in 1..=30 {
            meta.delete_pool_record("acme", 101, version_number)
                .unwrap();
        }
        assert_eq!(meta.tag_record_count("acme", "hot").unwrap(), 70);
        assert_eq!(meta.tag_record_count("acme", "even").unwrap(), 35);
        let counts = meta.cf(CF_TAG_TYPE_COUNTS);
        meta.db.flush_cf(counts).unwrap();
        meta.db
            .compact_range_cf(counts, None::<&[u8]>, None::<&[u8]>);
        assert_eq!(meta.tag_record_count("acme", "hot").unwrap(), 70);
        meta.create_pool_record("acme", fields("fw", "2.0.0", &["even"], 2), 200)
            .unwrap();
        assert_eq!(meta.tag_record_count("acme", "even").unwrap(), 36);
        assert_eq!(meta.list_tags("acme").unwrap(), vec!["even", "hot"]);
    }

    #[test]
    fn newest_of_a_name_comes_from_the_name_index() {
        let (_dir, meta) = store_with_blobs();
        for (name, version) in [
            ("app", "1.2.0"),
            ("app", "1.10.0"),
            ("app", "2.0.0"),
            ("other", "1.99.0"),
            ("app", "1.10.0+g1"),
        ] {
            meta.create_pool_record("acme", fields(name, version, &[], 1), 1)
                .unwrap();
        }
        let query = PoolQuery {
            fw_type: Some(FirmwareTypeNumber::new(101).unwrap()),
            name: Some("app".into()),
            version_req: Some("^1".parse().unwrap()),
            latest: true,
            ..Default::default()
        };
        let page = meta.list_pool("acme", &query).unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(
            page.records[0].version, "1.10.0+g1",
            "same precedence: the later record"
        );
        let all = PoolQuery {
            latest: false,
            ..query
        };
        let page = meta.list_pool("acme", &all).unwrap();
        let versions: Vec<&str> = page.records.iter().map(|r| r.version.as_str()).collect();
        assert_eq!(
            versions,
            ["1.2.0", "1.10.0", "1.10.0+g1"],
            "other names never match"
        );
    }

    #[test]
    fn update_moves_indexes() {
        let (_dir, meta) = store_with_blobs();
        let a = meta
            .create_pool_record("acme", fields("fw", "1.0.0", &["old", "kept"], 1), 10)
            .unwrap();
        let updated = meta
            .update_pool_record(
                "acme",
                101,
                1,
                fields("fw", "1.0.1", &["new", "kept"], 2),
                20,
            )
            .unwrap();
        assert_eq!(
            (updated.id, updated.version_number, updated.updated_ms),
            (a.id, 1, 20)
        );
        assert!(!meta
            .pool_name_exists("acme", 101, "fw", "1.0.0", None)
            .unwrap());
        assert_eq!(meta.list_tags("acme").unwrap(), vec!["kept", "new"]);
        meta.update_pool_record("acme", 101, 1, fields("fw", "1.0.1", &[], 2), 21)
            .unwrap();
        assert!(
            meta.list_tags("acme").unwrap().is_empty(),
            "a kept tag was counted once, not twice"
        );
        assert_eq!(
            meta.pool_ids_by_sha(&Sha256Digest([2; 32])).unwrap(),
            vec![a.id]
        );
    }

    #[test]
    fn filters_and_pages() {
        let (_dir, meta) = store_with_blobs();
        meta.create_pool_record("acme", fields("fw", "1.0.0", &["main"], 1), 1)
            .unwrap();
        meta.create_pool_record("acme", fields("fw", "1.2.0", &["main", "rc"], 2), 2)
            .unwrap();
        meta.create_pool_record("acme", fields("fw", "2.0.0", &["git:abcdef0123"], 3), 3)
            .unwrap();
        let query = |f: &dyn Fn(&mut PoolQuery)| {
            let mut q = PoolQuery {
                fw_type: Some(FirmwareTypeNumber::new(101).unwrap()),
                ..Default::default()
            };
            f(&mut q);
            meta.list_pool("acme", &q).unwrap()
        };
        assert_eq!(
            query(&|q| q.tags = vec!["main".into(), "rc".into()]).records[0].version,
            "1.2.0"
        );
        assert_eq!(
            query(&|q| q.commit = Some("abcdef0".into())).records[0].version,
            "2.0.0"
        );
        assert_eq!(
            query(&|q| q.version_req = Some("^1".parse().unwrap())).total,
            2
        );
        let latest = query(&|q| {
            q.version_req = Some("^1".parse().unwrap());
            q.latest = true;
        });
        assert_eq!(latest.records[0].version, "1.2.0");
        let tagged_latest = query(&|q| {
            q.tags = vec!["main".into()];
            q.latest = true;
        });
        assert_eq!(
            tagged_latest.records[0].version, "1.2.0",
            "newest carrying the tag"
        );
        let by_version = query(&|q| {
            q.version_req = Some(">=1.0.0".parse().unwrap());
            q.page = PageRequest::parse(None, None, Some("version,asc")).unwrap();
        });
        let order: Vec<&str> = by_version
            .records
            .iter()
            .map(|r| r.version.as_str())
            .collect();
        assert_eq!(order, ["1.0.0", "1.2.0", "2.0.0"]);
        let paged =
            query(&|q| q.page = PageRequest::parse(Some("1"), Some("2"), Some("id,desc")).unwrap());
        assert_eq!(
            (
                paged.total,
                paged.records.len(),
                paged.records[0].version.as_str()
            ),
            (3, 1, "1.0.0")
        );
        assert_eq!(
            meta.list_pool("other", &PoolQuery::default())
                .unwrap()
                .total,
            0
        );
    }

    #[test]
    fn latest_prefers_semver_precedence_and_falls_back_to_version_numbers() {
        let latest = |meta: &MetaStore| {
            let q = PoolQuery {
                fw_type: Some(FirmwareTypeNumber::new(101).unwrap()),
                latest: true,
                ..Default::default()
            };
            meta.list_pool("acme", &q).unwrap().records[0]
                .version
                .clone()
        };
        let (_dir, meta) = store_with_blobs();
        meta.create_pool_record("acme", fields("fw", "1.0.0-rc.10", &[], 1), 1)
            .unwrap();
        meta.create_pool_record("acme", fields("fw", "1.0.0-rc.9", &[], 2), 2)
            .unwrap();
        assert_eq!(
            latest(&meta),
            "1.0.0-rc.10",
            "numeric pre-release identifiers compare numerically"
        );
        let (_dir2, plain) = store_with_blobs();
        plain
            .create_pool_record("acme", fields("fw", "build-7", &[], 1), 1)
            .unwrap();
        plain
            .create_pool_record("acme", fields("fw", "build-8", &[], 2), 2)
            .unwrap();
        assert_eq!(latest(&plain), "build-8");
    }

    /// Issue 11 item 3: a tag count that would drop below zero (the counter disagrees with
    /// the records) refuses the commit instead of clamping it away.
    #[test]
    fn tag_count_underflow_is_an_error_not_clamped() {
        let (_dir, meta) = store_with_blobs();
        let record = meta
            .create_pool_record("acme", fields("fw", "1.0.0", &["x"], 1), 10)
            .unwrap();
        // Damage: the counter lost the record's tag.
        meta.db
            .delete_cf(
                meta.cf(CF_TAG_TYPE_COUNTS),
                tag_type_count("acme", "x", record.fw_type),
            )
            .unwrap();
        let err = meta
            .update_pool_record(
                "acme",
                record.fw_type,
                record.version_number,
                fields("fw", "1.0.0", &[], 1),
                20,
            )
            .unwrap_err();
        assert!(
            matches!(&err, MetaError::Corrupt { cf, .. } if *cf == CF_TAG_TYPE_COUNTS),
            "{err}"
        );
        let kept = meta.pool_record(record.id).unwrap().unwrap();
        assert_eq!(
            kept.tags, record.tags,
            "nothing of the refused update is written"
        );
    }

    /// Issue 11 item 9: `name` + `latest` within a type reads what that name has, however
    /// many versions other names of the type have. Measured with RocksDB's per-thread read
    /// counters: before, a name none of whose versions is semver walked the type's whole
    /// semver index and loaded every record of the type.
    #[test]
    fn name_and_latest_cost_does_not_grow_with_other_names() {
        let cost = |others: usize| -> (u64, Vec<String>) {
            let (_dir, meta) = store_with_blobs();
            for version in ["build-7", "build-9"] {
                meta.create_pool_record("acme", fields("odd", version, &[], 1), 1)
                    .unwrap();
            }
            for i in 0..others {
                let version = format!("1.{i}.0");
                meta.create_pool_record("acme", fields("other", &version, &[], 2), 1)
                    .unwrap();
            }
            let query = PoolQuery {
                fw_type: Some(FirmwareTypeNumber::new(101).unwrap()),
                name: Some("odd".into()),
                latest: true,
                ..PoolQuery::default()
            };
            let (read, page) = work_done(|| meta.list_pool("acme", &query).unwrap());
            let versions = page.records.into_iter().map(|r| r.version).collect();
            (read, versions)
        };
        let (few, answer) = cost(5);
        assert_eq!(
            answer,
            vec!["build-9".to_string()],
            "the newest by version number"
        );
        let (many, answer) = cost(400);
        assert_eq!(answer, vec!["build-9".to_string()]);
        assert!(few > 0, "the counters count");
        assert!(
            many <= few * 2,
            "{many} units of work beside 400 other versions, {few} beside 5"
        );
    }

    #[test]
    fn one_tag_or_type_pages_cost_the_page_not_the_matches() {
        let run = |records: usize| -> (u64, Vec<(u64, Vec<u64>)>) {
            let (_dir, meta) = store_with_blobs();
            for i in 0..records {
                let tags: &[&str] = if i % 2 == 0 { &["main"] } else { &["main2"] };
                meta.create_pool_record("acme", fields("fw", &format!("1.{i}.0"), tags, 1), 1)
                    .unwrap();
            }
            let page = |tags: &[&str], fw_type: Option<u16>, page: &str, sort: &str| {
                let query = PoolQuery {
                    tags: tags.iter().map(|t| t.to_string()).collect(),
                    fw_type: fw_type.map(|t| FirmwareTypeNumber::new(t.into()).unwrap()),
                    page: PageRequest::parse(Some(page), Some("3"), Some(sort)).unwrap(),
                    ..PoolQuery::default()
                };
                let found = meta.list_pool("acme", &query).unwrap();
                (found.total, found.records.iter().map(|r| r.id).collect())
            };
            let (read, newest_main) =
                work_done(|| page(&["main"], None, "0", "createdTimestamp,desc"));
            let (read_typed, newest_main_typed) =
                work_done(|| page(&["main"], Some(101), "0", "createdTimestamp,desc"));
            let pages = vec![
                newest_main,
                newest_main_typed,
                page(&["main2"], Some(101), "1", "id,asc"),
                page(&["main"], Some(102), "0", "id,desc"),
                page(&["main"], None, "1", "id,desc"),
                page(&["main"], None, "0", "id,asc"),
                page(&[], Some(101), "0", "versionNumber,desc"),
                page(&[], None, "1", "id,asc"),
                page(&[], Some(102), "0", "id,asc"),
                page(&["nope"], None, "0", "id,desc"),
            ];
            (read.max(read_typed), pages)
        };
        let (few, pages) = run(20);
        let ids = |v: &[u64]| v.to_vec();
        assert_eq!(
            pages,
            vec![
                (10, ids(&[19, 17, 15])),
                (10, ids(&[19, 17, 15])),
                (10, ids(&[8, 10, 12])),
                (0, ids(&[])),
                (10, ids(&[13, 11, 9])),
                (10, ids(&[1, 3, 5])),
                (20, ids(&[20, 19, 18])),
                (20, ids(&[4, 5, 6])),
                (0, ids(&[])),
                (0, ids(&[])),
            ],
            "a tag is not a prefix of a longer tag, and totals come with every page"
        );
        let (many, pages) = run(2000);
        assert_eq!(pages[0], (1000, ids(&[1999, 1997, 1995])));
        assert_eq!(pages[1], (1000, ids(&[1999, 1997, 1995])), "type + tag");
        assert!(
            many <= few * 2,
            "{many} units of work for the newest 3 of 1000 tagged records (alone or within their type), {few} of 10"
        );
    }

    /// The work a query does in RocksDB (this thread's perf context): memtable lookups, seeks
    /// and entries stepped over (a test's data sits in the memtable). Key comparisons are left
    /// out: a seek's grow with the logarithm of the data, whatever the query reads.
    pub(crate) fn work_done<T>(run: impl FnOnce() -> T) -> (u64, T) {
        use rocksdb::perf::{set_perf_stats, PerfContext, PerfMetric, PerfStatsLevel};
        set_perf_stats(PerfStatsLevel::EnableCount);
        let mut context = PerfContext::default();
        context.reset();
        let out = run();
        let work = [
            PerfMetric::GetFromMemtableCount,
            PerfMetric::SeekOnMemtableCount,
            PerfMetric::NextOnMemtableCount,
            PerfMetric::PrevOnMemtableCount,
        ]
        .into_iter()
        .map(|metric| context.metric(metric))
        .sum();
        (work, out)
    }

    fn versions(page: &PoolPage) -> Vec<&str> {
        page.records.iter().map(|r| r.version.as_str()).collect()
    }

    /// Issue 11 item 9: `name` + `versionReq` reads the requirement's range of that name's
    /// versions, not every version of the name.
    #[test]
    fn version_req_cost_does_not_grow_with_non_matching_versions() {
        let cost = |older: usize| -> (u64, Vec<String>) {
            let (_dir, meta) = store_with_blobs();
            for i in 0..older {
                meta.create_pool_record("acme", fields("fw", &format!("1.{i}.0"), &[], 1), 1)
                    .unwrap();
            }
            for version in ["2.0.0", "2.1.0-rc.9", "2.1.0-rc.10", "3.0.0"] {
                meta.create_pool_record("acme", fields("fw", version, &[], 2), 1)
                    .unwrap();
            }
            let query = PoolQuery {
                fw_type: Some(FirmwareTypeNumber::new(101).unwrap()),
                name: Some("fw".into()),
                version_req: Some(">=2.1.0-rc.1, <3".parse().unwrap()),
                page: PageRequest::parse(None, None, Some("version,desc")).unwrap(),
                ..PoolQuery::default()
            };
            let (read, page) = work_done(|| meta.list_pool("acme", &query).unwrap());
            (
                read,
                versions(&page).iter().map(|v| v.to_string()).collect(),
            )
        };
        let (few, answer) = cost(5);
        assert_eq!(
            answer,
            ["2.1.0-rc.10", "2.1.0-rc.9"],
            "pre-release precedence"
        );
        let (many, answer) = cost(400);
        assert_eq!(answer, ["2.1.0-rc.10", "2.1.0-rc.9"]);
        assert!(few > 0, "the counters count");
        assert!(
            many <= few * 2,
            "{many} units of work beside 400 older versions, {few} beside 5"
        );
    }

    /// A data dir written before the name-in-version-order index existed gets it built at
    /// open, once.
    /// Empties a backfilled family and drops its marker, as a release before it left them.
    fn forget_backfill(meta: &MetaStore, cf: &'static str) {
        let mut batch = WriteBatch::default();
        for item in meta.scan_prefix(cf, &[]) {
            meta.delete(&mut batch, cf, &item.unwrap().0);
        }
        meta.delete(&mut batch, CF_COUNTERS, &index_built_marker(cf));
        meta.commit_alone(batch).unwrap();
    }

    #[test]
    fn name_semver_index_is_built_for_older_data() {
        let (dir, meta) = store_with_blobs();
        for version in ["1.0.0", "1.2.0", "not-semver"] {
            meta.create_pool_record("acme", fields("fw", version, &[], 1), 1)
                .unwrap();
        }
        // As an older release left it: no entries, no marker.
        forget_backfill(&meta, CF_POOL_BY_NAME_SEMVER);
        drop(meta);
        let meta = MetaStore::open(&dir.path().join("db"), false).unwrap();
        let latest = PoolQuery {
            fw_type: Some(FirmwareTypeNumber::new(101).unwrap()),
            name: Some("fw".into()),
            version_req: Some("^1".parse().unwrap()),
            latest: true,
            ..PoolQuery::default()
        };
        assert_eq!(
            versions(&meta.list_pool("acme", &latest).unwrap()),
            ["1.2.0"]
        );
        assert_eq!(meta.scan_prefix(CF_POOL_BY_NAME_SEMVER, &[]).count(), 2);
    }

    #[test]
    fn tag_type_counts_are_built_for_older_data() {
        let (dir, meta) = store_with_blobs();
        for (i, tags) in [&["main"][..], &["main", "rc"], &["rc"]].iter().enumerate() {
            meta.create_pool_record("acme", fields("fw", &format!("1.{i}.0"), tags, 1), 1)
                .unwrap();
        }
        // As an older release left it: no counts, no marker.
        forget_backfill(&meta, CF_TAG_TYPE_COUNTS);
        drop(meta);
        let meta = MetaStore::open(&dir.path().join("db"), false).unwrap();
        let total = |tag: &str| {
            let query = PoolQuery {
                tags: vec![tag.to_string()],
                fw_type: Some(FirmwareTypeNumber::new(101).unwrap()),
                ..PoolQuery::default()
            };
            meta.list_pool("acme", &query).unwrap().total
        };
        assert_eq!((total("main"), total("rc"), total("none")), (2, 2, 0));
    }
}
