//! Pool records and their indexes: by partner, by (type, versionNumber), by (type, name,
//! version), by tag, by (tag, type), by sha256; plus per-partner tag counts.

use std::cmp::Ordering;

use rocksdb::WriteBatch;

use super::keys::*;
use super::{MetaError, MetaResult, MetaStore};
use crate::domain::{
    PoolQuery, PoolRecordData, PoolRecordFields, RepositoryEntry, SortDirection, SortField,
};

type TagDeltas = std::collections::BTreeMap<String, i64>;

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
        let _guard = self.lock();
        let entry = self.repository_entry_required(partner, &fields)?;
        self.ensure_name_free(partner, &fields, None)?;
        let mut batch = WriteBatch::default();
        let id = self.next_counter(&mut batch, &id_counter())?;
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
        self.commit(batch)?;
        Ok(record)
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
        let _guard = self.lock();
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
        self.commit(batch)?;
        Ok(record)
    }

    fn repository_entry_required(
        &self,
        partner: &str,
        fields: &PoolRecordFields,
    ) -> MetaResult<RepositoryEntry> {
        self.repository_entry(partner, &fields.sha256)?
            .ok_or_else(|| {
                MetaError::Conflict(format!(
                    "binary {} has not been moved to the repository",
                    fields.sha256
                ))
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
    fn stage_indexes(
        &self,
        batch: &mut WriteBatch,
        record: &PoolRecordData,
        add: bool,
        tag_deltas: &mut TagDeltas,
    ) {
        let partner = record.partner.as_str();
        let name_key = pool_by_name(partner, record.fw_type, &record.name, &record.version);
        let sha_key = pool_by_sha(&record.sha256, record.id);
        if add {
            self.put_u64(batch, CF_POOL_BY_NAME, &name_key, record.id);
            self.put_u64(batch, CF_POOL_BY_SHA, &sha_key, record.id);
        } else {
            self.delete(batch, CF_POOL_BY_NAME, &name_key);
            self.delete(batch, CF_POOL_BY_SHA, &sha_key);
        }
        for tag in &record.tags {
            let tag_key = pool_by_tag(partner, tag, record.id);
            let tag_type_key = pool_by_tag_type(partner, tag, record.fw_type, record.id);
            *tag_deltas.entry(tag.clone()).or_insert(0) += if add { 1 } else { -1 };
            if add {
                self.put_u64(batch, CF_POOL_BY_TAG, &tag_key, record.id);
                self.put_u64(batch, CF_POOL_BY_TAG_TYPE, &tag_type_key, record.id);
            } else {
                self.delete(batch, CF_POOL_BY_TAG, &tag_key);
                self.delete(batch, CF_POOL_BY_TAG_TYPE, &tag_type_key);
            }
        }
    }

    /// Writes the net tag count changes of one commit (an update may remove and re-add a tag).
    fn stage_tag_counts(
        &self,
        batch: &mut WriteBatch,
        partner: &str,
        tag_deltas: TagDeltas,
    ) -> MetaResult<()> {
        for (tag, delta) in tag_deltas.into_iter().filter(|(_, d)| *d != 0) {
            let key = tag_count(partner, &tag);
            let current = self.get_u64(CF_TAG_COUNTS, &key)?.unwrap_or(0) as i64;
            let next = (current + delta).max(0) as u64;
            if next == 0 {
                self.delete(batch, CF_TAG_COUNTS, &key);
            } else {
                self.put_u64(batch, CF_TAG_COUNTS, &key, next);
            }
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
        self.scan_ids(CF_POOL_BY_SHA, &Key::new().digest(sha256).build())
    }

    /// Tags in use by a partner's records, sorted.
    pub fn list_tags(&self, partner: &str) -> MetaResult<Vec<String>> {
        let prefix = Key::new().str(partner).build();
        let mut tags = Vec::new();
        for item in self.scan_prefix(CF_TAG_COUNTS, &prefix) {
            let (key, value) = item?;
            if super::codec::decode_u64(CF_TAG_COUNTS, &value)? > 0 {
                let tag = &key[prefix.len()..key.len() - 1];
                tags.push(String::from_utf8_lossy(tag).into_owned());
            }
        }
        Ok(tags)
    }

    /// Lists a partner's records matching `query`, one page of them.
    pub fn list_pool(&self, partner: &str, query: &PoolQuery) -> MetaResult<PoolPage> {
        let ids = self.candidate_ids(partner, query)?;
        let needs_records =
            query.version_req.is_some() || query.latest || !query.page.sort.follows_id_order();
        if !needs_records {
            let total = ids.len() as u64;
            let ordered: Vec<u64> = match query.page.direction {
                SortDirection::Asc => ids,
                SortDirection::Desc => ids.into_iter().rev().collect(),
            };
            let window = query.page.window(ordered.len());
            let records = self.load_records(&ordered[window])?;
            return Ok(PoolPage { records, total });
        }
        let mut records = self.load_records(&ids)?;
        if let Some(req) = &query.version_req {
            records.retain(|r| semver::Version::parse(&r.version).is_ok_and(|v| req.matches(&v)));
        }
        if query.latest {
            let newest = records.into_iter().max_by(compare_semver_then_number);
            records = newest.into_iter().collect();
        }
        sort_records(&mut records, query.page.sort, query.page.direction);
        let total = records.len() as u64;
        let window = query.page.window(records.len());
        Ok(PoolPage {
            records: records.drain(window).collect(),
            total,
        })
    }

    /// Ids matching every index-backed filter, ascending. Starts from the most selective index.
    fn candidate_ids(&self, partner: &str, query: &PoolQuery) -> MetaResult<Vec<u64>> {
        let fw_type = query.fw_type.map(|t| t.get());
        let mut ids =
            if let (Some(t), Some(name), Some(version)) = (fw_type, &query.name, &query.version) {
                self.get_u64(CF_POOL_BY_NAME, &pool_by_name(partner, t, name, version))?
                    .into_iter()
                    .collect()
            } else if let Some(commit) = &query.commit {
                let mut ids = self.scan_ids(
                    CF_POOL_BY_TAG,
                    &Key::new()
                        .str(partner)
                        .str_prefix(&format!("git:{commit}"))
                        .build(),
                )?;
                ids.sort_unstable();
                ids.dedup();
                ids
            } else if let Some(first) = query.tags.first() {
                let prefix = match fw_type {
                    Some(t) => Key::new().str(partner).str(first).u16(t).build(),
                    None => Key::new().str(partner).str(first).build(),
                };
                let cf = if fw_type.is_some() {
                    CF_POOL_BY_TAG_TYPE
                } else {
                    CF_POOL_BY_TAG
                };
                self.scan_ids(cf, &prefix)?
            } else if let Some(t) = fw_type {
                // Version numbers and ids grow together within a type, so this is id order too.
                self.scan_ids_from_values(CF_POOL_BY_TYPE, &Key::new().str(partner).u16(t).build())?
            } else {
                self.scan_ids(CF_POOL_BY_PARTNER, &Key::new().str(partner).build())?
            };
        for tag in &query.tags {
            let mut kept = Vec::with_capacity(ids.len());
            for id in ids {
                if self.exists(CF_POOL_BY_TAG, &pool_by_tag(partner, tag, id))? {
                    kept.push(id);
                }
            }
            ids = kept;
        }
        if fw_type.is_some() || query.name.is_some() || query.version.is_some() {
            let records = self.load_records(&ids)?;
            ids = records
                .into_iter()
                .filter(|r| fw_type.is_none_or(|t| r.fw_type == t))
                .filter(|r| query.name.as_ref().is_none_or(|n| &r.name == n))
                .filter(|r| query.version.as_ref().is_none_or(|v| &r.version == v))
                .map(|r| r.id)
                .collect();
        }
        Ok(ids)
    }

    fn load_records(&self, ids: &[u64]) -> MetaResult<Vec<PoolRecordData>> {
        let cf = self.cf(CF_POOL);
        let keys: Vec<_> = ids.iter().map(|id| (cf, pool_key(*id))).collect();
        let mut out = Vec::with_capacity(ids.len());
        for value in self.db.multi_get_cf(keys) {
            match value? {
                Some(bytes) => out.push(super::codec::decode(CF_POOL, &bytes)?),
                None => {
                    return Err(MetaError::Corrupt {
                        cf: CF_POOL,
                        reason: "index names a missing record".into(),
                    })
                }
            }
        }
        Ok(out)
    }
}

fn compare_semver_then_number(a: &PoolRecordData, b: &PoolRecordData) -> Ordering {
    let version = |r: &PoolRecordData| semver::Version::parse(&r.version).ok();
    version(a)
        .cmp(&version(b))
        .then(a.version_number.cmp(&b.version_number))
        .then(a.id.cmp(&b.id))
}

fn sort_records(records: &mut [PoolRecordData], field: SortField, direction: SortDirection) {
    records.sort_by(|a, b| {
        let order = match field {
            SortField::Id | SortField::CreatedTimestamp => a.id.cmp(&b.id),
            SortField::VersionNumber => a
                .fw_type
                .cmp(&b.fw_type)
                .then(a.version_number.cmp(&b.version_number)),
            SortField::UpdatedTimestamp => a.updated_ms.cmp(&b.updated_ms),
            SortField::Name => a.name.cmp(&b.name),
            SortField::Version => compare_semver_then_number(a, b),
            SortField::Description => a.description.cmp(&b.description),
            SortField::Type => a.fw_type.cmp(&b.fw_type),
        }
        .then(a.id.cmp(&b.id));
        match direction {
            SortDirection::Asc => order,
            SortDirection::Desc => order.reverse(),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::test_store;
    use super::*;
    use crate::domain::{FirmwareTypeNumber, PageRequest, Sha256Digest};

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
        assert!(matches!(unmoved, Err(MetaError::Conflict(_))));
        assert!(meta
            .pool_name_exists("acme", 101, "fw", "1.0.0", None)
            .unwrap());
        assert!(!meta
            .pool_name_exists("acme", 101, "fw", "1.0.0", Some(a.id))
            .unwrap());
        assert_eq!(meta.list_tags("acme").unwrap(), vec!["x", "y"]);
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
}
