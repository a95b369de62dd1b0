//! Deletion and retention: deleting a pool record, a partner's policy, the dry run (plan)
//! and the run, which deletes through the same meta call as a DELETE (uses re-checked
//! under the writer lock), and the schedule that runs every partner's policy.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use super::{Service, ServiceError, ServiceResult};
use crate::domain::retention::{
    branch_of, evaluate, DeleteReason, KeepReason, RecordFacts, RetentionPolicy,
    RetentionRunRecord, Trigger, Verdict,
};
use crate::domain::usage::InUse;
use crate::domain::{FirmwareTypeNumber, PageRequest, PoolRecordData, Sha256Digest};
use crate::meta::audit::AuditScope;
use crate::meta::{now_ms, MetaResult, MetaStore};

/// Most deletions and most kept records a plan lists (each); its totals count them all.
pub const PLAN_ENTRIES_SHOWN: usize = 1000;

/// A record the plan would delete, and the bytes its deletion frees (its blob's size when
/// it is the last record holding it and no other hold keeps the blob; else 0).
#[derive(Debug, Clone)]
pub struct PlannedDeletion {
    pub record: PoolRecordData,
    pub reason: DeleteReason,
    pub frees_bytes: u64,
}

/// Why a record a rule matched stays.
#[derive(Debug, Clone)]
pub enum Kept {
    Rule(KeepReason),
    /// The rules would delete it, but something uses it.
    InUse(DeleteReason, InUse),
}

#[derive(Debug, Clone)]
pub struct KeptRecord {
    pub record: PoolRecordData,
    pub why: Kept,
}

/// A dry run: what a run would do now.
#[derive(Debug, Clone, Default)]
pub struct RetentionPlan {
    pub generated_ms: u64,
    pub deletions: Vec<PlannedDeletion>,
    pub deletions_total: u64,
    pub bytes_freed: u64,
    pub kept: Vec<KeptRecord>,
    pub kept_total: u64,
}

/// Ranks records within their (type, name, branch) as a name's chunks come, newest first.
#[derive(Default)]
struct Ranks(HashMap<String, u64>);

impl Ranks {
    /// The verdict on each record of one chunk of a name (`first`: the name's first chunk).
    fn judge(
        &mut self,
        policy: &RetentionPolicy,
        now: u64,
        first: bool,
        records: Vec<PoolRecordData>,
    ) -> Vec<(PoolRecordData, Verdict)> {
        if first {
            self.0.clear();
        }
        records
            .into_iter()
            .map(|record| {
                let rank = branch_of(&record.tags).map(|branch| {
                    let seen = self.0.entry(branch.to_string()).or_insert(0);
                    *seen += 1;
                    *seen - 1
                });
                let facts = RecordFacts {
                    tags: &record.tags,
                    created_ms: record.created_ms,
                    rank,
                };
                let verdict = evaluate(policy, &facts, now);
                (record, verdict)
            })
            .collect()
    }
}

/// Splits a chunk's verdicts into the records to delete (with why) and the rest.
fn split_candidates(
    judged: Vec<(PoolRecordData, Verdict)>,
) -> (Vec<(PoolRecordData, DeleteReason)>, Vec<KeptRecord>) {
    let mut delete = Vec::new();
    let mut kept = Vec::new();
    for (record, verdict) in judged {
        match verdict {
            Verdict::Untouched => {}
            Verdict::Keep(reason) => kept.push(KeptRecord {
                record,
                why: Kept::Rule(reason),
            }),
            Verdict::Delete(reason) => delete.push((record, reason)),
        }
    }
    (delete, kept)
}

impl RetentionPlan {
    fn keep(&mut self, kept: KeptRecord) {
        self.kept_total += 1;
        if self.kept.len() < PLAN_ENTRIES_SHOWN {
            self.kept.push(kept);
        }
    }
}

impl Service {
    /// Deletes a pool record unless something uses it (409 `in-use` naming the uses).
    pub async fn delete_pool_record(
        &self,
        partner: &str,
        fw_type: FirmwareTypeNumber,
        version_number: u64,
    ) -> ServiceResult<()> {
        let owner = partner.to_string();
        let deletion = self
            .meta_write(move |m| m.delete_pool_record(&owner, fw_type.get(), version_number))
            .await?;
        for record in &deletion.deleted {
            tracing::info!(pool.id = record.id, blob.sha256 = %record.sha256, "pool record deleted");
        }
        Ok(())
    }

    pub async fn retention_policy(&self, partner: &str) -> ServiceResult<RetentionPolicy> {
        let owner = partner.to_string();
        self.meta_read(move |m| m.retention_policy(&owner))
            .await?
            .ok_or(ServiceError::NotFound("retention policy"))
    }

    pub async fn put_retention_policy(
        &self,
        partner: &str,
        policy: RetentionPolicy,
    ) -> ServiceResult<RetentionPolicy> {
        policy.validate()?;
        let (owner, stored) = (partner.to_string(), policy.clone());
        self.meta_write(move |m| m.put_retention_policy(&owner, &stored))
            .await?;
        Ok(policy)
    }

    pub async fn delete_retention_policy(&self, partner: &str) -> ServiceResult<()> {
        let owner = partner.to_string();
        match self
            .meta_write(move |m| m.delete_retention_policy(&owner))
            .await?
        {
            true => Ok(()),
            false => Err(ServiceError::NotFound("retention policy")),
        }
    }

    /// What a run would do now, without deleting anything.
    pub async fn retention_plan(&self, partner: &str) -> ServiceResult<RetentionPlan> {
        let policy = self.retention_policy(partner).await?;
        let owner = partner.to_string();
        self.meta_call(move |m| plan(m, &owner, &policy, now_ms()))
            .await
    }

    /// Runs the partner's policy once and records the outcome: the one place retention
    /// deletes from. Each chunk of candidates is deleted by the same meta call a DELETE
    /// makes, which checks the uses again under the writer lock.
    pub async fn run_retention(
        &self,
        partner: &str,
        trigger: Trigger,
    ) -> ServiceResult<RetentionRunRecord> {
        let _one_at_a_time = self.retention_running.lock().await;
        let policy = self.retention_policy(partner).await?;
        let owner = partner.to_string();
        let started = self
            .meta_write(move |m| m.start_retention_run(&owner, trigger, now_ms()))
            .await?;
        let owner = partner.to_string();
        let run = self
            .meta_write(move |m| {
                let mut run = started;
                if let Err(error) = run_once(m, &owner, &policy, &mut run) {
                    run.errors.push(error.to_string());
                }
                run.finished_ms = now_ms();
                m.finish_retention_run(&owner, &run)?;
                Ok::<_, ServiceError>(run)
            })
            .await?;
        tracing::info!(
            partner,
            retention.run = run.id,
            retention.trigger = trigger.as_str(),
            retention.deleted = run.deleted,
            retention.kept = run.kept,
            retention.bytes_freed = run.bytes_freed,
            retention.errors = run.errors.len(),
            "retention run finished"
        );
        Ok(run)
    }

    /// One page of the partner's runs, newest first, and how many there are.
    pub async fn retention_runs(
        &self,
        partner: &str,
        page: &PageRequest,
    ) -> ServiceResult<(Vec<RetentionRunRecord>, u64)> {
        let (owner, page) = (partner.to_string(), page.clone());
        let found = self
            .meta_call(move |m| m.page_retention_runs(&owner, &page))
            .await?;
        Ok((found.items, found.total))
    }

    /// Runs every partner's policy each `interval`, the first time one interval after start.
    pub fn spawn_retention_schedule(
        self: &Arc<Self>,
        interval: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let service = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                service.run_scheduled_retention().await;
            }
        })
    }

    async fn run_scheduled_retention(&self) {
        let partners = match self.meta_call(|m| m.partners_with_policy()).await {
            Ok(partners) => partners,
            Err(error) => {
                tracing::error!(error = %error, "retention schedule: reading the policies failed");
                return;
            }
        };
        for partner in partners {
            // The run's deletions are logged as the server's, like a request's are as its actor's.
            let audit = AuditScope::server(
                &partner,
                "retention",
                "RUN retention (scheduled)".into(),
                format!("/v1/ota/partners/{partner}/retention/runs"),
            );
            let run = audit.run(self.run_retention(&partner, Trigger::Scheduled));
            if let Err(error) = run.await {
                tracing::error!(partner, error = %error, "scheduled retention run failed");
            }
        }
    }
}

/// Builds the plan: the verdict on each record, the uses of those to delete, and which
/// blobs their deletion frees.
fn plan(
    meta: &MetaStore,
    partner: &str,
    policy: &RetentionPolicy,
    now: u64,
) -> MetaResult<RetentionPlan> {
    let mut out = RetentionPlan {
        generated_ms: now,
        ..RetentionPlan::default()
    };
    // Digest → the deleted records naming it (highest id last): what the blob count needs.
    let mut leaving = BTreeMap::<Sha256Digest, Vec<u64>>::new();
    let mut ranks = Ranks::default();
    meta.for_each_pool_name(partner, |first, records| {
        let (candidates, kept) = split_candidates(ranks.judge(policy, now, first, records));
        kept.into_iter().for_each(|k| out.keep(k));
        let records: Vec<PoolRecordData> = candidates.iter().map(|(r, _)| r.clone()).collect();
        let mut uses = meta.uses_of_pool_records(partner, &records)?;
        for (record, reason) in candidates {
            if let Some(found) = uses.remove(&record.id) {
                out.keep(KeptRecord {
                    record,
                    why: Kept::InUse(reason, found),
                });
                continue;
            }
            leaving.entry(record.sha256).or_default().push(record.id);
            out.deletions_total += 1;
            if out.deletions.len() < PLAN_ENTRIES_SHOWN {
                out.deletions.push(PlannedDeletion {
                    record,
                    reason,
                    frees_bytes: 0,
                });
            }
        }
        Ok(())
    })?;
    let all: BTreeSet<u64> = leaving.values().flatten().copied().collect();
    let mut frees = HashMap::<u64, u64>::new();
    for (sha, ids) in &leaving {
        if let Some(bytes) = freed_by(meta, partner, sha, &all)? {
            let last = ids.iter().max().copied().unwrap_or_default();
            frees.insert(last, bytes);
            out.bytes_freed += bytes;
        }
    }
    for deletion in &mut out.deletions {
        deletion.frees_bytes = frees.get(&deletion.record.id).copied().unwrap_or(0);
    }
    Ok(out)
}

/// The blob's size when deleting `leaving` drops its last hold: no other record of the
/// partner names it, and the partner's repository entry is its only hold.
fn freed_by(
    meta: &MetaStore,
    partner: &str,
    sha: &Sha256Digest,
    leaving: &BTreeSet<u64>,
) -> MetaResult<Option<u64>> {
    if meta.partner_keeps_blob(partner, sha, leaving)?
        || meta.repository_entry(partner, sha)?.is_none()
    {
        return Ok(None);
    }
    Ok(meta
        .blob_record(sha)?
        .filter(|blob| blob.refcount == 1)
        .map(|blob| blob.length))
}

/// Walks the pool and deletes each chunk's candidates, counting into `run`.
fn run_once(
    meta: &MetaStore,
    partner: &str,
    policy: &RetentionPolicy,
    run: &mut RetentionRunRecord,
) -> MetaResult<()> {
    let now = now_ms();
    let mut ranks = Ranks::default();
    meta.for_each_pool_name(partner, |first, records| {
        let (candidates, kept) = split_candidates(ranks.judge(policy, now, first, records));
        run.kept += kept.len() as u64;
        if candidates.is_empty() {
            return Ok(());
        }
        let ids: Vec<u64> = candidates.iter().map(|(r, _)| r.id).collect();
        let deletion = meta.delete_pool_records(partner, &ids)?;
        run.deleted += deletion.deleted.len() as u64;
        run.kept += deletion.refused.len() as u64;
        run.kept_in_use += deletion.refused.len() as u64;
        run.bytes_freed += deletion.released.iter().map(|(_, len)| len).sum::<u64>();
        Ok(())
    })
}
