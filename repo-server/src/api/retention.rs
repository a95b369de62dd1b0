//! Retention (`admin` scope), under `/v1/ota/partners/{partnerId}/retention`: the policy, the
//! dry run and the runs. Handlers parse and map; `service::retention` decides.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use fwrepo_schemas as wire_types;
use fwrepo_schemas::{Page, PlannedRecord, RetentionPlan, RetentionRun};
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use super::wire;
use crate::domain::retention::{
    ExpireRule, RetentionPolicy, RetentionRunRecord, TagPattern, Trigger,
};
use crate::domain::usage::InUse;
use crate::domain::{PageRequest, PoolRecordData, Scope};
use crate::service::retention::{Kept, PlannedDeletion, RetentionPlan as Plan, PLAN_ENTRIES_SHOWN};
use crate::service::Service;

#[derive(Deserialize)]
pub struct ListParams {
    page: Option<String>,
    size: Option<String>,
}

pub async fn get_policy(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
) -> ApiResult<Json<wire_types::RetentionPolicy>> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    let policy = service.retention_policy(partner).await?;
    Ok(Json(policy_to_wire(&policy)))
}

pub async fn put_policy(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
    ApiJson(body): ApiJson<wire_types::RetentionPolicy>,
) -> ApiResult<Json<wire_types::RetentionPolicy>> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    let policy = service
        .put_retention_policy(partner, policy_from_wire(body)?)
        .await?;
    Ok(Json(policy_to_wire(&policy)))
}

pub async fn delete_policy(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    service.delete_retention_policy(partner).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn plan(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
) -> ApiResult<Json<RetentionPlan>> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    let plan = service.retention_plan(partner).await?;
    Ok(Json(plan_to_wire(plan)))
}

pub async fn run(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<RetentionRun>)> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    let run = service.run_retention(partner, Trigger::Manual).await?;
    Ok((StatusCode::CREATED, Json(run_to_wire(&run))))
}

pub async fn list_runs(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<RetentionRun>>> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    let request = PageRequest::parse(params.page.as_deref(), params.size.as_deref(), None)?;
    let (runs, total) = service.retention_runs(partner, &request).await?;
    let content = runs.iter().map(run_to_wire).collect();
    Ok(Json(wire::page(content, total, &request)))
}

fn policy_from_wire(body: wire_types::RetentionPolicy) -> ApiResult<RetentionPolicy> {
    let expire = body
        .expire
        .into_iter()
        .map(|rule| {
            let pattern = match (rule.tag, rule.tag_prefix) {
                (Some(tag), None) => TagPattern::Exact(tag),
                (None, Some(prefix)) => TagPattern::Prefix(prefix),
                _ => {
                    return Err(ApiError::Validation(
                        "expire: each rule names exactly one of tag and tagPrefix".into(),
                    ))
                }
            };
            Ok(ExpireRule {
                pattern,
                after_days: rule.after_days,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(RetentionPolicy {
        keep_newest: body.keep_newest,
        protected_tags: body.protected_tags,
        expire,
    })
}

fn policy_to_wire(policy: &RetentionPolicy) -> wire_types::RetentionPolicy {
    let expire = policy
        .expire
        .iter()
        .map(|rule| {
            let (tag, tag_prefix) = match &rule.pattern {
                TagPattern::Exact(tag) => (Some(tag.clone()), None),
                TagPattern::Prefix(prefix) => (None, Some(prefix.clone())),
            };
            wire_types::ExpireRule {
                tag,
                tag_prefix,
                after_days: rule.after_days,
            }
        })
        .collect();
    wire_types::RetentionPolicy {
        keep_newest: policy.keep_newest,
        protected_tags: policy.protected_tags.clone(),
        expire,
    }
}

fn planned_record(record: &PoolRecordData) -> PlannedRecord {
    PlannedRecord {
        id: record.id.to_string(),
        fw_type: i64::from(record.fw_type),
        version_number: record.version_number.to_string(),
        name: record.name.clone(),
        version: record.version.clone(),
        tags: record.tags.clone(),
        sha256: record.sha256.to_string(),
        length: record.length,
        created_timestamp: record.created_ms,
    }
}

fn uses_to_wire(uses: &InUse) -> Vec<wire_types::RecordUse> {
    uses.uses
        .iter()
        .map(|found| wire_types::RecordUse {
            kind: found.kind.as_str().to_string(),
            id: found.id.clone(),
            scope: found.scope.clone(),
        })
        .collect()
}

fn deletion_to_wire(deletion: &PlannedDeletion) -> wire_types::PlannedDeletion {
    let (reason, detail) = deletion.reason.describe();
    wire_types::PlannedDeletion {
        record: planned_record(&deletion.record),
        reason: reason.into(),
        detail,
        frees_bytes: deletion.frees_bytes,
    }
}

fn plan_to_wire(plan: Plan) -> RetentionPlan {
    let kept = plan
        .kept
        .iter()
        .map(|kept| {
            let record = planned_record(&kept.record);
            match &kept.why {
                Kept::Rule(reason) => {
                    let (reason, detail) = reason.describe();
                    wire_types::PlannedKeep {
                        record,
                        reason: reason.into(),
                        detail,
                        used_by: None,
                        used_by_total: None,
                    }
                }
                Kept::InUse(would, uses) => wire_types::PlannedKeep {
                    record,
                    reason: "in-use".into(),
                    detail: format!(
                        "would go ({}) but {}",
                        would.describe().1,
                        uses.summary("it")
                    ),
                    used_by: Some(uses_to_wire(uses)),
                    used_by_total: Some(uses.total),
                },
            }
        })
        .collect();
    RetentionPlan {
        generated_timestamp: plan.generated_ms,
        limit: PLAN_ENTRIES_SHOWN as u64,
        deletions_total: plan.deletions_total,
        kept_total: plan.kept_total,
        bytes_freed: plan.bytes_freed,
        deletions: plan.deletions.iter().map(deletion_to_wire).collect(),
        kept,
    }
}

fn run_to_wire(run: &RetentionRunRecord) -> RetentionRun {
    RetentionRun {
        run_id: run.id,
        trigger: run.trigger.as_str().into(),
        started_timestamp: run.started_ms,
        finished_timestamp: run.finished_ms,
        deleted: run.deleted,
        kept: run.kept,
        kept_in_use: run.kept_in_use,
        bytes_freed: run.bytes_freed,
        errors: run.errors.clone(),
    }
}
