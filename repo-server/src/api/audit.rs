//! The audit log at the edge: the middleware that gives every state-changing request its
//! entry (`AuditScope`: operation, target path, peer, request id; the actor is named when its
//! credentials resolve), and `GET .../audit` (scope `admin`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use axum::Json;
use fwrepo_schemas::{AuditEntry, AuditOutcome, AuditPage};
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiPath, ApiQuery, Caller};
use super::AppState;
use crate::domain::audit::{self, parse_entry_id, AuditFilter, MAX_AUDIT_PAGE};
use crate::domain::Scope;
use crate::service::{AuditScope, Service};

/// Entries per page when the request names no `limit`.
const DEFAULT_LIMIT: usize = 100;

/// Runs a state-changing request inside its audit scope, and records how it ended when no
/// commit carried the entry. Reads pass through untouched.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let scope = scope_of(&request);
    let response = scope.clone().run(next.run(request)).await;
    state
        .service
        .record_answered(&scope, response.status().as_u16())
        .await;
    response
}

fn scope_of(request: &Request) -> AuditScope {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str());
    let remote = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.to_string());
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    AuditScope::request(
        format!("{} {route}", request.method()),
        request.uri().path().to_string(),
        remote,
        request_id,
    )
}

#[derive(Deserialize)]
pub struct AuditParams {
    actor: Option<String>,
    operation: Option<String>,
    record: Option<String>,
    outcome: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// `GET .../audit`: a page of the partner's log, newest first.
pub async fn list(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> ApiResult<Json<AuditPage>> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    let limit = parse_limit(params.limit.as_deref())?;
    let cursor = params
        .cursor
        .as_deref()
        .map(|c| parse_entry_id(c).ok_or_else(|| invalid("cursor", "is not a nextCursor")))
        .transpose()?;
    let filter = AuditFilter {
        actor: params.actor,
        operation: params.operation,
        record: params.record,
        outcome: params.outcome.as_deref().map(parse_outcome).transpose()?,
        since_ms: params
            .since
            .as_deref()
            .map(|t| parse_time("since", t))
            .transpose()?,
        until_ms: params
            .until
            .as_deref()
            .map(|t| parse_time("until", t))
            .transpose()?,
    };
    let page = service.audit_page(partner, filter, cursor, limit).await?;
    Ok(Json(AuditPage {
        entries: page.entries.iter().map(wire_entry).collect(),
        next_cursor: page.next.map(audit::entry_id),
    }))
}

fn invalid(field: &str, reason: &str) -> ApiError {
    ApiError::InvalidQuery(format!("{field} {reason}"))
}

fn parse_limit(text: Option<&str>) -> ApiResult<usize> {
    match text {
        None => Ok(DEFAULT_LIMIT),
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_AUDIT_PAGE).contains(n))
            .ok_or_else(|| invalid("limit", "must be a number from 1 to 1000")),
    }
}

fn parse_outcome(text: &str) -> ApiResult<audit::AuditOutcome> {
    audit::AuditOutcome::parse(text)
        .ok_or_else(|| invalid("outcome", "must be applied, refused or failed"))
}

fn parse_time(field: &str, text: &str) -> ApiResult<u64> {
    audit::parse_time(text).ok_or_else(|| {
        invalid(
            field,
            "must be RFC 3339 (2026-11-30T08:00:00Z) or milliseconds since the epoch",
        )
    })
}

fn wire_entry(entry: &audit::AuditEntry) -> AuditEntry {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(entry.at_ms);
    AuditEntry {
        id: entry.id(),
        timestamp: entry.at_ms,
        time: humantime::format_rfc3339_millis(at).to_string(),
        actor: entry.actor.clone(),
        operation: entry.operation.clone(),
        target: entry.target.clone(),
        remote: entry.remote.clone(),
        request_id: entry.request_id.clone(),
        created: entry.created.clone(),
        outcome: match entry.outcome {
            audit::AuditOutcome::Applied => AuditOutcome::Applied,
            audit::AuditOutcome::Refused => AuditOutcome::Refused,
            audit::AuditOutcome::Failed => AuditOutcome::Failed,
        },
        status: entry.status,
    }
}
