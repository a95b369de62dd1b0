//! The retention page (admins): the partner's policy, what a run would delete now (the dry
//! run) and why, "Run now", and the last runs with their outcomes.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

use super::error::UiResult;
use super::session::UiUser;
use super::view::{self, Ctx, Done, UiForm};
use crate::domain::retention::{RetentionPolicy, RetentionRunRecord, Trigger};
use crate::domain::{PageRequest, Scope};
use crate::service::retention::RetentionPlan;
use crate::service::{Service, ServiceError};

/// Planned deletions listed on the page (the plan's totals count them all).
const SHOWN: usize = 50;
/// Runs listed on the page.
const RUNS: u32 = 20;

pub struct RunRow {
    pub id: u64,
    pub started: String,
    pub record: RetentionRunRecord,
}

#[derive(Template)]
#[template(path = "ui/retention.html")]
struct RetentionPage {
    ctx: Ctx,
    policy: Option<RetentionPolicy>,
    expiry: Vec<String>,
    plan: Option<RetentionPlan>,
    freed: String,
    shown: usize,
    runs: Vec<RunRow>,
}

pub async fn page(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Query(done): Query<Done>,
) -> UiResult<Response> {
    let partner = user.partner(Scope::Admin)?;
    let policy = match service.retention_policy(partner).await {
        Ok(policy) => Some(policy),
        Err(ServiceError::NotFound(_)) => None,
        Err(other) => return Err(other.into()),
    };
    let plan = match policy {
        Some(_) => Some(service.retention_plan(partner).await?),
        None => None,
    };
    let request = PageRequest::parse(None, Some(&RUNS.to_string()), None)?;
    let (runs, _) = service.retention_runs(partner, &request).await?;
    let expiry = policy
        .iter()
        .flat_map(|p| &p.expire)
        .map(|rule| format!("{} after {} days", rule.pattern.describe(), rule.after_days))
        .collect();
    Ok(view::page(RetentionPage {
        ctx: Ctx::new(&user, "retention", &done),
        freed: view::bytes(plan.as_ref().map_or(0, |p| p.bytes_freed)),
        policy,
        expiry,
        plan,
        shown: SHOWN,
        runs: runs
            .into_iter()
            .map(|record| RunRow {
                id: record.id,
                started: view::timestamp(record.started_ms),
                record,
            })
            .collect(),
    }))
}

/// Runs the policy now (as the API's `POST .../retention/runs` does).
pub async fn run(
    State(service): State<Arc<Service>>,
    user: UiUser,
    UiForm(_csrf_only): UiForm<serde::de::IgnoredAny>,
) -> UiResult<Response> {
    let partner = user.partner(Scope::Admin)?;
    service.run_retention(partner, Trigger::Manual).await?;
    Ok(view::see_other("/ui/retention", "retention-run"))
}
