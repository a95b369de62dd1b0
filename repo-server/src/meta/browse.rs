//! Read-only views the web UI shows that the API's listings do not answer cheaply: the
//! newest records (walking the partner index backwards), one name's versions (from the name
//! index), a type's record count (its counter).

use rocksdb::{Direction, IteratorMode};

use super::keys::*;
use super::{MetaResult, MetaStore};
use crate::domain::PoolRecordData;

impl MetaStore {
    /// The partner's `limit` newest pool records, newest first.
    pub fn newest_pool_records(
        &self,
        partner: &str,
        limit: usize,
    ) -> MetaResult<Vec<PoolRecordData>> {
        let prefix = partner_prefix(partner);
        let mut upper = prefix.clone();
        upper.extend_from_slice(&[0xFF; 9]);
        let mut records = Vec::with_capacity(limit);
        let iter = self.db.iterator_cf(
            self.cf(CF_POOL_BY_PARTNER),
            IteratorMode::From(&upper, Direction::Reverse),
        );
        for item in iter {
            let (key, _) = item?;
            if !key.starts_with(&prefix) || records.len() == limit {
                break;
            }
            if let Some(record) = self.pool_record(trailing_u64(&key))? {
                records.push(record);
            }
        }
        Ok(records)
    }

    /// The records of one name of one type (every version), newest first, at most `limit`.
    pub fn pool_records_of_name(
        &self,
        partner: &str,
        fw_type: u16,
        name: &str,
        limit: usize,
    ) -> MetaResult<Vec<PoolRecordData>> {
        let mut ids =
            self.scan_ids_from_values(CF_POOL_BY_NAME, &pool_name_prefix(partner, fw_type, name))?;
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids.truncate(limit);
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            records.extend(self.pool_record(id)?);
        }
        Ok(records)
    }

    /// How many records a type has: version numbers are allocated one per record, so the
    /// type's version counter minus its deleted records is the count.
    pub fn type_record_count(&self, partner: &str, fw_type: u16) -> MetaResult<u64> {
        let allocated = self
            .get_u64(CF_COUNTERS, &version_counter(partner, fw_type))?
            .unwrap_or(0);
        let deleted = self
            .get_u64(CF_COUNTERS, &deleted_counter(partner, fw_type))?
            .unwrap_or(0);
        Ok(allocated.saturating_sub(deleted))
    }
}
