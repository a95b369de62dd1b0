//! Pool searches: which index answers a query, how its matches are paged and counted.
//! Every listing keeps at most a page window (or, for sorts by a record field, a bounded
//! window) in memory, whatever the pool size.

use std::cmp::Ordering;

use rocksdb::Direction;

use super::keys::*;
use super::pool::{PoolPage, MAX_SORT_WINDOW, RECORD_CHUNK};
use super::{MetaError, MetaResult, MetaStore};
use crate::domain::version_range::TripleRange;
use crate::domain::{PoolQuery, PoolRecordData, SortDirection, SortField};

impl MetaStore {
    /// Tags in use by a partner's records, sorted: one per run of (tag, type) counts.
    pub fn list_tags(&self, partner: &str) -> MetaResult<Vec<String>> {
        let prefix = partner_prefix(partner);
        let mut tags: Vec<String> = Vec::new();
        for item in self.scan_prefix(CF_TAG_TYPE_COUNTS, &prefix) {
            let (key, value) = item?;
            if super::codec::decode_u64(CF_TAG_TYPE_COUNTS, &value)? == 0 {
                continue;
            }
            let tag = tag_of_count_key(prefix.len(), &key).ok_or(MetaError::Corrupt {
                cf: CF_TAG_TYPE_COUNTS,
                reason: "malformed key".into(),
            })?;
            if tags.last().map(String::as_bytes) != Some(tag) {
                tags.push(String::from_utf8_lossy(tag).into_owned());
            }
        }
        Ok(tags)
    }

    /// How many of a partner's records carry `tag`: the sum of its per-type counts.
    pub(super) fn tag_record_count(&self, partner: &str, tag: &str) -> MetaResult<u64> {
        self.sum_counts(CF_TAG_TYPE_COUNTS, &tag_counts_prefix(partner, tag))
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
        if let Some(page) = self.page_off_one_index(partner, query)? {
            return Ok(page);
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

    /// A page read straight off one index when that index alone answers the query (no other
    /// filter to check on its entries) and a counter gives the total: the newest 50 of
    /// 500,000 tagged records cost 50 index steps and 50 record reads, not 500,000.
    fn page_off_one_index(&self, partner: &str, query: &PoolQuery) -> MetaResult<Option<PoolPage>> {
        let other_filters = query.version_req.is_some()
            || query.latest
            || query.name.is_some()
            || query.version.is_some()
            || query.commit.is_some()
            || query.sha256.is_some();
        if other_filters || !query.page.sort.follows_id_order() {
            return Ok(None);
        }
        // (index, prefix, are the ids the keys' values, how many entries the prefix holds)
        let (cf, prefix, ids_in_values, total) = match (query.fw_type, query.tags.as_slice()) {
            (None, []) => (
                CF_POOL_BY_PARTNER,
                partner_prefix(partner),
                false,
                self.partner_record_count(partner)?,
            ),
            (Some(t), []) => (
                CF_POOL_BY_TYPE,
                partner_type_prefix(partner, t.get()),
                true,
                self.type_record_count(partner, t.get())?,
            ),
            (None, [tag]) => (
                CF_POOL_BY_TAG,
                tag_prefix(partner, tag, None),
                false,
                self.tag_record_count(partner, tag)?,
            ),
            (Some(t), [tag]) => (
                CF_POOL_BY_TAG_TYPE,
                tag_prefix(partner, tag, Some(t.get())),
                false,
                self.get_u64(CF_TAG_TYPE_COUNTS, &tag_type_count(partner, tag, t.get()))?
                    .unwrap_or(0),
            ),
            _ => return Ok(None),
        };
        let direction = match query.page.direction {
            SortDirection::Asc => Direction::Forward,
            SortDirection::Desc => Direction::Reverse,
        };
        let window = query
            .page
            .window(usize::try_from(total).unwrap_or(usize::MAX));
        let ids = self
            .scan_prefix_directed(cf, &prefix, direction)
            .skip(window.start)
            .take(window.len())
            .map(|item| {
                let (key, value) = item?;
                if ids_in_values {
                    super::codec::decode_u64(cf, &value)
                } else {
                    Ok(trailing_u64(&key))
                }
            })
            .collect::<MetaResult<Vec<u64>>>()?;
        Ok(Some(PoolPage {
            records: self.load_records(&ids)?,
            total,
        }))
    }

    /// How many records a partner has: the sum of its types' version counters (one version
    /// number per record) minus its deleted records (see `type_record_count`).
    pub(super) fn partner_record_count(&self, partner: &str) -> MetaResult<u64> {
        let allocated = self.sum_counts(CF_COUNTERS, &version_counters_of(partner))?;
        let deleted = self.sum_counts(CF_COUNTERS, &deleted_counters_of(partner))?;
        Ok(allocated.saturating_sub(deleted))
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
            .map(|tag| Ok((tag.clone(), self.tag_record_count(partner, tag)?)))
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

    /// `versionReq` / `latest` for one name of one type, from the name's own version-ordered
    /// index: only the versions in the requirement's range are read.
    fn list_pool_by_name_versions(
        &self,
        partner: &str,
        fw_type: u16,
        name: &str,
        query: &PoolQuery,
    ) -> MetaResult<PoolPage> {
        let prefix = pool_name_prefix(partner, fw_type, name);
        // The index guarantees the name: no record is read to check it.
        let within_name = PoolQuery {
            name: None,
            ..query.clone()
        };
        self.page_by_semver_index(CF_POOL_BY_NAME_SEMVER, &prefix, partner, &within_name)
    }

    /// `versionReq` / `latest` within one type.
    fn list_pool_by_semver(
        &self,
        partner: &str,
        fw_type: u16,
        query: &PoolQuery,
    ) -> MetaResult<PoolPage> {
        let prefix = partner_type_prefix(partner, fw_type);
        self.page_by_semver_index(CF_POOL_BY_SEMVER, &prefix, partner, query)
    }

    /// Walks a version-ordered index under `prefix` from the highest precedence down, over
    /// the (major, minor, patch) range the requirement can match only, so `latest` stops at
    /// the first match and versions outside the range are never read.
    fn page_by_semver_index(
        &self,
        cf: &'static str,
        prefix: &[u8],
        partner: &str,
        query: &PoolQuery,
    ) -> MetaResult<PoolPage> {
        let range = query
            .version_req
            .as_ref()
            .map(TripleRange::of)
            .unwrap_or_default();
        if range.is_empty() {
            return Ok(PoolPage {
                records: Vec::new(),
                total: 0,
            });
        }
        let lower = range
            .lower
            .map_or_else(|| prefix.to_vec(), |t| semver_floor(prefix, t));
        let upper = match range.upper {
            Some(t) => Some(semver_floor(prefix, t)),
            None => super::prefix_end(prefix),
        };
        let tags = self.tags_rarest_first(partner, &query.tags)?;
        let mut matched = Vec::new();
        let mut group: Vec<(semver::Version, u64)> = Vec::new();
        let mut group_of: Option<Vec<u8>> = None;
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
        for item in self.scan_range(cf, lower, upper, Direction::Reverse) {
            let (key, _) = item?;
            let Some((version, id)) = parse_pool_by_semver(prefix.len(), &key) else {
                return Err(MetaError::Corrupt {
                    cf,
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

    pub(super) fn load_records(&self, ids: &[u64]) -> MetaResult<Vec<PoolRecordData>> {
        self.get_many(CF_POOL, ids.iter().map(|id| pool_key(*id)))
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
