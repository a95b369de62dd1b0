//! Pool records and their indexes: by partner, by (type, versionNumber), by (type, name,
//! version), by tag, by (tag, type), by sha256; plus per-partner tag counts.

use std::cmp::Ordering;

use rocksdb::{Direction, IteratorMode, WriteBatch};

use super::keys::*;
use super::{count_underflow, MetaError, MetaResult, MetaStore};
use crate::domain::{
    ConflictKind, ImageRecord, PoolQuery, PoolRecordData, PoolRecordFields, RepositoryEntry,
    SortDirection, SortField,
};

type TagDeltas = std::collections::BTreeMap<String, i64>;

/// Records decoded at once while filtering or sorting: bounds memory whatever the pool size.
const RECORD_CHUNK: usize = 1024;
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
        let _guard = self.lock();
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
        self.stage_stat(&mut batch, partner, super::stats::Stat::Records, 1)?;
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
        self.commit(batch)?;
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
        let semver_key = semver::Version::parse(&record.version)
            .ok()
            .map(|version| pool_by_semver(partner, record.fw_type, &version, record.id));
        if add {
            self.put_u64(batch, CF_POOL_BY_NAME, &name_key, record.id);
            self.put_u64(batch, CF_POOL_BY_SHA, &sha_key, record.id);
            if let Some(key) = &semver_key {
                self.put_u64(batch, CF_POOL_BY_SEMVER, key, record.id);
            }
        } else {
            self.delete(batch, CF_POOL_BY_NAME, &name_key);
            self.delete(batch, CF_POOL_BY_SHA, &sha_key);
            if let Some(key) = &semver_key {
                self.delete(batch, CF_POOL_BY_SEMVER, key);
            }
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
            let current = self.get_u64(CF_TAG_COUNTS, &key)?.unwrap_or(0);
            let next = current.checked_add_signed(delta).ok_or_else(|| {
                count_underflow(CF_TAG_COUNTS, &format!("tag '{tag}'"), current, delta)
            })?;
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
        self.scan_ids(CF_POOL_BY_SHA, &sha_prefix(sha256))
    }

    /// Tags in use by a partner's records, sorted.
    pub fn list_tags(&self, partner: &str) -> MetaResult<Vec<String>> {
        let prefix = partner_prefix(partner);
        let mut tags = Vec::new();
        for item in self.scan_prefix(CF_TAG_COUNTS, &prefix) {
            let (key, value) = item?;
            if super::codec::decode_u64(CF_TAG_COUNTS, &value)? > 0 {
                let tag = tag_of_count_key(prefix.len(), &key).ok_or(MetaError::Corrupt {
                    cf: CF_TAG_COUNTS,
                    reason: "malformed key".into(),
                })?;
                tags.push(String::from_utf8_lossy(tag).into_owned());
            }
        }
        Ok(tags)
    }

    /// Lists a partner's records matching `query`, one page of them.
    pub fn list_pool(&self, partner: &str, query: &PoolQuery) -> MetaResult<PoolPage> {
        let semver_query = query.version_req.is_some() || query.latest;
        let only_name = query.tags.is_empty() && query.commit.is_none() && query.sha256.is_none();
        if let (Some(fw_type), Some(name), None, true, true) = (
            query.fw_type,
            &query.name,
            &query.version,
            semver_query,
            only_name,
        ) {
            let page = self.list_pool_by_name_versions(partner, fw_type.get(), name, query)?;
            if page.total > 0 || query.version_req.is_some() {
                return Ok(page);
            }
            // `latest` over a name none of whose versions is semver: the newest by version
            // number among that name's records, never a walk of the whole type.
            let ids = self.candidate_ids(partner, query)?;
            return self.page_by_record_sort(&ids, query, |_| true);
        }
        if let (Some(fw_type), true) = (query.fw_type, semver_query) {
            let page = self.list_pool_by_semver(partner, fw_type.get(), query)?;
            // `latest` alone over versions that are not semver: the newest by version number.
            if page.total > 0 || query.version_req.is_some() {
                return Ok(page);
            }
        }
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
        let version_req = query.version_req.as_ref();
        self.page_by_record_sort(&ids, query, |record| {
            version_req.is_none_or(|req| {
                semver::Version::parse(&record.version).is_ok_and(|v| req.matches(&v))
            })
        })
    }

    /// A page of the records among `ids` that pass `matches`, sorted by a record field (or
    /// the newest one for `latest`). Keeps only the best `page × size + size` records in memory.
    fn page_by_record_sort(
        &self,
        ids: &[u64],
        query: &PoolQuery,
        matches: impl Fn(&PoolRecordData) -> bool,
    ) -> MetaResult<PoolPage> {
        // Sorting by a record field: keep only the best `window.end` records in memory.
        let keep = query.page.page as usize * query.page.size as usize + query.page.size as usize;
        if keep > MAX_SORT_WINDOW && !query.latest {
            return Err(MetaError::Invalid(format!(
                "pages beyond the first {MAX_SORT_WINDOW} records of a sort by {} are not served: sort by id, createdTimestamp or versionNumber, or narrow the filter",
                query.page.sort.as_str()
            )));
        }
        let keep = if query.latest { 1 } else { keep };
        let order = |a: &PoolRecordData, b: &PoolRecordData| {
            if query.latest {
                compare_semver_then_number(b, a)
            } else {
                record_order(a, b, query.page.sort, query.page.direction)
            }
        };
        let mut best: Vec<PoolRecordData> = Vec::new();
        let mut total = 0u64;
        for chunk in ids.chunks(RECORD_CHUNK) {
            for record in self.load_records(chunk)? {
                if matches(&record) {
                    total += 1;
                    best.push(record);
                }
            }
            if best.len() > 2 * keep + RECORD_CHUNK {
                best.sort_by(&order);
                best.truncate(keep);
            }
        }
        best.sort_by(&order);
        best.truncate(keep);
        if query.latest {
            total = best.len() as u64;
            sort_records(&mut best, query.page.sort, query.page.direction);
        }
        let window = query.page.window(best.len());
        Ok(PoolPage {
            records: best.drain(window).collect(),
            total,
        })
    }

    /// Ids matching every filter but the semver ones, ascending. Starts from the most
    /// selective index; filters the source index does not guarantee are checked on the
    /// records, a chunk at a time.
    fn candidate_ids(&self, partner: &str, query: &PoolQuery) -> MetaResult<Vec<u64>> {
        let fw_type = query.fw_type.map(|t| t.get());
        let tags = self.tags_rarest_first(partner, &query.tags)?;
        let by_name = fw_type.is_some() && query.name.is_some() && query.version.is_some();
        // A name within a type without a version: all its versions, from the name index.
        let name_in_type = fw_type.is_some() && query.name.is_some() && query.version.is_none();
        // (ids, does the source guarantee the type, was the first tag the source)
        let (mut ids, type_checked, first_tag_used) = if let (true, Some(t)) = (by_name, fw_type) {
            let (name, version) = (
                query.name.as_deref().unwrap_or(""),
                query.version.as_deref().unwrap_or(""),
            );
            let id = self.get_u64(CF_POOL_BY_NAME, &pool_by_name(partner, t, name, version))?;
            (id.into_iter().collect(), true, false)
        } else if let Some(sha256) = &query.sha256 {
            (
                self.scan_ids(CF_POOL_BY_SHA, &sha_prefix(sha256))?,
                false,
                false,
            )
        } else if let Some(commit) = &query.commit {
            let mut ids = self.scan_ids(CF_POOL_BY_TAG, &commit_tag_prefix(partner, commit))?;
            ids.sort_unstable();
            ids.dedup();
            (ids, false, false)
        } else if let (true, Some(t), Some(name)) = (name_in_type, fw_type, &query.name) {
            let mut ids =
                self.scan_ids_from_values(CF_POOL_BY_NAME, &pool_name_prefix(partner, t, name))?;
            ids.sort_unstable();
            (ids, true, false)
        } else if let Some((first, _)) = tags.first() {
            let ids = match fw_type {
                Some(t) => {
                    self.scan_ids(CF_POOL_BY_TAG_TYPE, &tag_prefix(partner, first, Some(t)))?
                }
                None => self.scan_ids(CF_POOL_BY_TAG, &tag_prefix(partner, first, None))?,
            };
            (ids, true, true)
        } else if let Some(t) = fw_type {
            // Version numbers and ids grow together within a type, so this is id order too.
            (
                self.scan_ids_from_values(CF_POOL_BY_TYPE, &partner_type_prefix(partner, t))?,
                true,
                false,
            )
        } else {
            (
                self.scan_ids(CF_POOL_BY_PARTNER, &partner_prefix(partner))?,
                true,
                false,
            )
        };
        for (tag, count) in &tags[usize::from(first_tag_used)..] {
            ids = self.intersect_with_tag(partner, tag, *count, ids)?;
        }
        let check_type = !type_checked && fw_type.is_some();
        let check_partner = query.sha256.is_some(); // the sha256 index spans partners
        let name_sourced = name_in_type && query.sha256.is_none() && query.commit.is_none();
        let check_fields =
            !by_name && !name_sourced && (query.name.is_some() || query.version.is_some());
        if check_type || check_partner || check_fields {
            ids = self.retain_records(ids, |r| {
                r.partner == partner
                    && fw_type.is_none_or(|t| r.fw_type == t)
                    && query.name.as_ref().is_none_or(|n| &r.name == n)
                    && query.version.as_ref().is_none_or(|v| &r.version == v)
            })?;
        }
        Ok(ids)
    }

    /// Keeps the ids whose records pass `keep`, decoding a bounded chunk at a time.
    fn retain_records(
        &self,
        ids: Vec<u64>,
        keep: impl Fn(&PoolRecordData) -> bool,
    ) -> MetaResult<Vec<u64>> {
        let mut kept = Vec::new();
        for chunk in ids.chunks(RECORD_CHUNK) {
            kept.extend(
                self.load_records(chunk)?
                    .iter()
                    .filter(|r| keep(r))
                    .map(|r| r.id),
            );
        }
        Ok(kept)
    }

    /// The filter's tags with their record counts, rarest first: the rarest tag is the
    /// cheapest index to start from.
    fn tags_rarest_first(&self, partner: &str, tags: &[String]) -> MetaResult<Vec<(String, u64)>> {
        let mut counted = tags
            .iter()
            .map(|tag| {
                Ok((
                    tag.clone(),
                    self.get_u64(CF_TAG_COUNTS, &tag_count(partner, tag))?
                        .unwrap_or(0),
                ))
            })
            .collect::<MetaResult<Vec<_>>>()?;
        counted.sort_by_key(|(_, count)| *count);
        Ok(counted)
    }

    /// Keeps the ids (ascending) carrying `tag`: point lookups when they are few against the
    /// tag's records, otherwise one merge pass over the tag's index range.
    fn intersect_with_tag(
        &self,
        partner: &str,
        tag: &str,
        tag_count: u64,
        ids: Vec<u64>,
    ) -> MetaResult<Vec<u64>> {
        if ids.is_empty() || tag_count == 0 {
            return Ok(Vec::new());
        }
        if (ids.len() as u64).saturating_mul(8) < tag_count {
            let cf = self.cf(CF_POOL_BY_TAG);
            let keys: Vec<_> = ids
                .iter()
                .map(|id| (cf, pool_by_tag(partner, tag, *id)))
                .collect();
            let found = self.db.multi_get_cf(keys);
            return ids
                .into_iter()
                .zip(found)
                .filter_map(|(id, value)| match value {
                    Ok(Some(_)) => Some(Ok(id)),
                    Ok(None) => None,
                    Err(e) => Some(Err(MetaError::from(e))),
                })
                .collect();
        }
        let tagged = self.scan_ids(CF_POOL_BY_TAG, &tag_prefix(partner, tag, None))?;
        let (mut kept, mut other) = (Vec::new(), tagged.into_iter().peekable());
        for id in ids {
            while other.next_if(|candidate| *candidate < id).is_some() {}
            if other.peek() == Some(&id) {
                kept.push(id);
            }
        }
        Ok(kept)
    }

    /// `versionReq` / `latest` for one name of one type: its versions are in the name index's
    /// keys, so only the answered records are decoded.
    fn list_pool_by_name_versions(
        &self,
        partner: &str,
        fw_type: u16,
        name: &str,
        query: &PoolQuery,
    ) -> MetaResult<PoolPage> {
        let prefix = pool_name_prefix(partner, fw_type, name);
        let mut matched: Vec<(semver::Version, u64)> = Vec::new();
        for item in self.scan_prefix(CF_POOL_BY_NAME, &prefix) {
            let (key, value) = item?;
            let version = version_of_name_key(prefix.len(), &key)
                .and_then(|v| semver::Version::parse(v).ok());
            let Some(version) = version else { continue };
            if query
                .version_req
                .as_ref()
                .is_none_or(|req| req.matches(&version))
            {
                matched.push((version, super::codec::decode_u64(CF_POOL_BY_NAME, &value)?));
            }
        }
        // Newest first: precedence, then the later record.
        matched.sort_by(|(va, ia), (vb, ib)| vb.cmp_precedence(va).then(ib.cmp(ia)));
        if query.latest {
            matched.truncate(1);
        }
        let total = matched.len() as u64;
        if query.page.sort == SortField::Version {
            if query.page.direction == SortDirection::Asc {
                matched.reverse();
            }
            let ids: Vec<u64> = matched.iter().map(|(_, id)| *id).collect();
            let window = query.page.window(ids.len());
            return Ok(PoolPage {
                records: self.load_records(&ids[window])?,
                total,
            });
        }
        let mut ids: Vec<u64> = matched.into_iter().map(|(_, id)| id).collect();
        ids.sort_unstable();
        self.page_by_record_sort(&ids, query, |_| true)
    }

    /// `versionReq` / `latest` within one type: walks the semver index from the highest
    /// precedence down, so `latest` stops at the first match and never decodes a record it
    /// does not answer.
    fn list_pool_by_semver(
        &self,
        partner: &str,
        fw_type: u16,
        query: &PoolQuery,
    ) -> MetaResult<PoolPage> {
        let prefix = partner_type_prefix(partner, fw_type);
        // Types stop at 200, so the next type's prefix bounds this one from above.
        let upper = partner_type_prefix(partner, fw_type + 1);
        let tags = self.tags_rarest_first(partner, &query.tags)?;
        let mut matched = Vec::new();
        let mut group: Vec<(semver::Version, u64)> = Vec::new();
        let mut group_of: Option<Vec<u8>> = None;
        let iterator = self.db.iterator_cf(
            self.cf(CF_POOL_BY_SEMVER),
            IteratorMode::From(&upper, Direction::Reverse),
        );
        // One (major, minor, patch, release) group at a time: pre-release identifiers are
        // ordered exactly in memory, ties go to the newer record.
        let flush =
            |group: &mut Vec<(semver::Version, u64)>, matched: &mut Vec<u64>| -> MetaResult<bool> {
                group.sort_by(|(va, ia), (vb, ib)| vb.cmp_precedence(va).then(ib.cmp(ia)));
                for (version, id) in group.drain(..) {
                    if self.semver_candidate_matches(partner, query, &tags, &version, id)? {
                        matched.push(id);
                        if query.latest {
                            return Ok(true);
                        }
                    }
                }
                Ok(false)
            };
        for item in iterator {
            let (key, _) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            let Some((version, id)) = parse_pool_by_semver(prefix.len(), &key) else {
                return Err(MetaError::Corrupt {
                    cf: CF_POOL_BY_SEMVER,
                    reason: "malformed key".into(),
                });
            };
            let this_group = semver_group(prefix.len(), &key)
                .unwrap_or_default()
                .to_vec();
            if group_of.as_ref() != Some(&this_group) {
                if flush(&mut group, &mut matched)? {
                    break;
                }
                group_of = Some(this_group);
            }
            group.push((version, id));
        }
        if !(query.latest && !matched.is_empty()) {
            flush(&mut group, &mut matched)?;
        }
        let total = matched.len() as u64;
        if query.page.sort == SortField::Version {
            if query.page.direction == SortDirection::Asc {
                matched.reverse();
            }
            let window = query.page.window(matched.len());
            return Ok(PoolPage {
                records: self.load_records(&matched[window])?,
                total,
            });
        }
        matched.sort_unstable();
        self.page_by_record_sort(&matched, query, |_| true)
    }

    fn semver_candidate_matches(
        &self,
        partner: &str,
        query: &PoolQuery,
        tags: &[(String, u64)],
        version: &semver::Version,
        id: u64,
    ) -> MetaResult<bool> {
        if query
            .version_req
            .as_ref()
            .is_some_and(|req| !req.matches(version))
        {
            return Ok(false);
        }
        for (tag, _) in tags {
            if !self.exists(CF_POOL_BY_TAG, &pool_by_tag(partner, tag, id))? {
                return Ok(false);
            }
        }
        if query.name.is_none()
            && query.version.is_none()
            && query.commit.is_none()
            && query.sha256.is_none()
        {
            return Ok(true);
        }
        let record = self
            .pool_record(id)?
            .ok_or(MetaError::NotFound("pool record"))?;
        Ok(query.name.as_ref().is_none_or(|n| &record.name == n)
            && query.version.as_ref().is_none_or(|v| &record.version == v)
            && query.sha256.is_none_or(|sha| record.sha256 == sha)
            && query.commit.as_ref().is_none_or(|c| {
                record
                    .tags
                    .iter()
                    .any(|t| t.starts_with(&format!("git:{c}")))
            }))
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
    crate::domain::version_order(
        (&a.version, a.version_number),
        (&b.version, b.version_number),
    )
    .then(a.id.cmp(&b.id))
}

fn sort_records(records: &mut [PoolRecordData], field: SortField, direction: SortDirection) {
    records.sort_by(|a, b| record_order(a, b, field, direction));
}

/// The order of a sort by `field` (ties by id, so pages never overlap).
fn record_order(
    a: &PoolRecordData,
    b: &PoolRecordData,
    field: SortField,
    direction: SortDirection,
) -> Ordering {
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
            .delete_cf(meta.cf(CF_TAG_COUNTS), tag_count("acme", "x"))
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
            matches!(&err, MetaError::Corrupt { cf, .. } if *cf == CF_TAG_COUNTS),
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
            use rocksdb::perf::{set_perf_stats, PerfContext, PerfMetric, PerfStatsLevel};
            set_perf_stats(PerfStatsLevel::EnableCount);
            let mut context = PerfContext::default();
            context.reset();
            let page = meta.list_pool("acme", &query).unwrap();
            let read = context.metric(PerfMetric::GetReadBytes)
                + context.metric(PerfMetric::MultigetReadBytes)
                + context.metric(PerfMetric::IterReadBytes);
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
            "{many} bytes read beside 400 other versions, {few} beside 5"
        );
    }
}
