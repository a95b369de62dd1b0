//! Page 1, the overview: counts, uploaded vs stored bytes (the dedup ratio), and the last
//! publishes with their git/CI facts.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

use super::error::UiResult;
use super::session::UiUser;
use super::view::{self, Ctx, Done, Facts};
use crate::domain::{PoolRecordData, Scope};
use crate::service::Service;

/// How many publishes the overview lists.
const RECENT: usize = 20;

pub struct Publish {
    pub record: PoolRecordData,
    pub facts: Facts,
    pub ago: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "ui/overview.html")]
struct OverviewPage {
    ctx: Ctx,
    types: usize,
    records: u64,
    devices: u64,
    uploaded: String,
    stored: String,
    ratio: String,
    recent: Vec<Publish>,
}

pub async fn page(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Query(done): Query<Done>,
) -> UiResult<Response> {
    let partner = user.partner(Scope::Read)?;
    let overview = service.overview(partner, RECENT).await?;
    let stats = &overview.stats;
    let ratio = if stats.stored_bytes == 0 {
        "–".to_string()
    } else {
        format!(
            "{:.2}×",
            stats.uploaded_bytes as f64 / stats.stored_bytes as f64
        )
    };
    let recent = overview
        .recent
        .into_iter()
        .map(|record| Publish {
            facts: Facts::from_tags(&record.tags),
            ago: view::ago(record.created_ms),
            created: view::timestamp(record.created_ms),
            record,
        })
        .collect();
    Ok(view::page(OverviewPage {
        ctx: Ctx::new(&user, "overview", &done),
        types: overview.types,
        records: stats.records,
        devices: stats.devices,
        uploaded: view::bytes(stats.uploaded_bytes),
        stored: view::bytes(stats.stored_bytes),
        ratio,
        recent,
    }))
}
