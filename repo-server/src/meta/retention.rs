//! Retention: each partner's policy, the record of each run, and the walk of a partner's
//! pool one (type, name) at a time that plans and runs read (never the whole pool at once).

use rocksdb::{Direction, WriteBatch};

use super::keys::*;
use super::lists::ListPage;
use super::pool::RECORD_CHUNK;
use super::{MetaError, MetaResult, MetaStore};
use crate::domain::retention::{RetentionPolicy, RetentionRunRecord, Trigger};
use crate::domain::{PageRequest, PoolRecordData};

impl MetaStore {
    pub fn retention_policy(&self, partner: &str) -> MetaResult<Option<RetentionPolicy>> {
        self.get(CF_RETENTION_POLICIES, &retention_policy_key(partner))
    }

    pub fn put_retention_policy(&self, partner: &str, policy: &RetentionPolicy) -> MetaResult<()> {
        let guard = self.lock();
        let mut batch = WriteBatch::default();
        self.put(
            &mut batch,
            CF_RETENTION_POLICIES,
            &retention_policy_key(partner),
            policy,
        );
        self.commit(guard, batch)
    }

    /// Removes a partner's policy; answers whether there was one.
    pub fn delete_retention_policy(&self, partner: &str) -> MetaResult<bool> {
        let guard = self.lock();
        let key = retention_policy_key(partner);
        if !self.exists(CF_RETENTION_POLICIES, &key)? {
            return Ok(false);
        }
        let mut batch = WriteBatch::default();
        self.delete(&mut batch, CF_RETENTION_POLICIES, &key);
        self.commit(guard, batch)?;
        Ok(true)
    }

    /// Partners that have a policy, in key order.
    pub fn partners_with_policy(&self) -> MetaResult<Vec<String>> {
        self.scan_prefix(CF_RETENTION_POLICIES, &[])
            .map(|item| {
                let (key, _) = item?;
                let name = key.strip_suffix(&[0]).ok_or(MetaError::Corrupt {
                    cf: CF_RETENTION_POLICIES,
                    reason: "malformed key".into(),
                })?;
                Ok(String::from_utf8_lossy(name).into_owned())
            })
            .collect()
    }

    /// Allocates a run id and records the run as started.
    pub fn start_retention_run(
        &self,
        partner: &str,
        trigger: Trigger,
        now_ms: u64,
    ) -> MetaResult<RetentionRunRecord> {
        let guard = self.lock();
        let mut batch = WriteBatch::default();
        let id = self.next_counter(&mut batch, &retention_run_counter(partner))?;
        let run = RetentionRunRecord {
            id,
            trigger,
            started_ms: now_ms,
            finished_ms: 0,
            deleted: 0,
            kept: 0,
            kept_in_use: 0,
            bytes_freed: 0,
            errors: Vec::new(),
        };
        self.put(
            &mut batch,
            CF_RETENTION_RUNS,
            &retention_run_key(partner, id),
            &run,
        );
        super::audit::note_created(format!("retention/runs/{id}"));
        self.commit(guard, batch)?;
        Ok(run)
    }

    /// Stores a run's outcome over its started record.
    pub fn finish_retention_run(&self, partner: &str, run: &RetentionRunRecord) -> MetaResult<()> {
        let guard = self.lock();
        let mut batch = WriteBatch::default();
        self.put(
            &mut batch,
            CF_RETENTION_RUNS,
            &retention_run_key(partner, run.id),
            run,
        );
        self.commit(guard, batch)
    }

    /// One page of a partner's runs, newest first, and how many there are.
    pub fn page_retention_runs(
        &self,
        partner: &str,
        page: &PageRequest,
    ) -> MetaResult<ListPage<RetentionRunRecord>> {
        let total = self
            .get_u64(CF_COUNTERS, &retention_run_counter(partner))?
            .unwrap_or(0);
        let window = page.window(usize::try_from(total).unwrap_or(usize::MAX));
        let items = self
            .scan_prefix_directed(
                CF_RETENTION_RUNS,
                &retention_runs_of(partner),
                Direction::Reverse,
            )
            .skip(window.start)
            .take(window.len())
            .map(|item| item.and_then(|(_, value)| super::codec::decode(CF_RETENTION_RUNS, &value)))
            .collect::<MetaResult<Vec<_>>>()?;
        Ok(ListPage { items, total })
    }

    /// Calls `visit` with the records of each (type, name) of the partner, newest (highest
    /// id) first, a chunk at a time (`true` on a name's first chunk): what a walk holds at
    /// once is one name's ids and one chunk of records.
    pub fn for_each_pool_name(
        &self,
        partner: &str,
        mut visit: impl FnMut(bool, Vec<PoolRecordData>) -> MetaResult<()>,
    ) -> MetaResult<()> {
        let mut current: Option<(u16, String)> = None;
        let mut ids = Vec::new();
        for item in self.scan_prefix(CF_POOL_BY_NAME, &partner_prefix(partner)) {
            let (key, value) = item?;
            let (_, fw_type, name, _) = parse_pool_by_name(&key).ok_or(MetaError::Corrupt {
                cf: CF_POOL_BY_NAME,
                reason: "malformed key".into(),
            })?;
            if current
                .as_ref()
                .is_some_and(|(t, n)| (*t, n.as_str()) != (fw_type, name))
            {
                self.visit_newest_first(std::mem::take(&mut ids), &mut visit)?;
            }
            current = Some((fw_type, name.to_string()));
            ids.push(super::codec::decode_u64(CF_POOL_BY_NAME, &value)?);
        }
        self.visit_newest_first(ids, &mut visit)
    }

    fn visit_newest_first(
        &self,
        mut ids: Vec<u64>,
        visit: &mut impl FnMut(bool, Vec<PoolRecordData>) -> MetaResult<()>,
    ) -> MetaResult<()> {
        ids.sort_unstable_by(|a, b| b.cmp(a));
        for (n, chunk) in ids.chunks(RECORD_CHUNK).enumerate() {
            // A record deleted since the index was read is skipped, not an error.
            let mut records = Vec::with_capacity(chunk.len());
            for id in chunk {
                records.extend(self.pool_record(*id)?);
            }
            visit(n == 0, records)?;
        }
        Ok(())
    }
}
