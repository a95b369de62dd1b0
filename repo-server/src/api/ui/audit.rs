//! The audit log page (admins): the partner's entries newest first, narrowed by actor,
//! method, record and outcome, a page at a time ("Older entries" follows the cursor).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::error::{UiError, UiResult};
use super::session::UiUser;
use super::view::{self, Ctx, Done, UI_PAGE_SIZE};
use crate::domain::audit::{entry_id, parse_entry_id, AuditEntry, AuditFilter, AuditOutcome};
use crate::domain::Scope;
use crate::service::Service;

const METHODS: [&str; 4] = ["POST", "PUT", "PATCH", "DELETE"];
const OUTCOMES: [&str; 3] = ["applied", "refused", "failed"];

/// The query string of the page: the filter form's fields and the cursor.
#[derive(Deserialize, Serialize, Default)]
pub struct AuditForm {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    record: String,
    #[serde(default)]
    outcome: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    cursor: String,
}

impl AuditForm {
    pub fn is_filtered(&self) -> bool {
        [&self.actor, &self.method, &self.record, &self.outcome]
            .iter()
            .any(|field| !field.is_empty())
    }

    fn filter(&self) -> UiResult<AuditFilter> {
        let given = |field: &String| (!field.trim().is_empty()).then(|| field.trim().to_string());
        let outcome = match given(&self.outcome) {
            None => None,
            Some(text) => Some(AuditOutcome::parse(&text).ok_or_else(|| {
                UiError::Invalid("Outcome must be applied, refused or failed.".into())
            })?),
        };
        Ok(AuditFilter {
            actor: given(&self.actor),
            operation: given(&self.method),
            record: given(&self.record),
            outcome,
            since_ms: None,
            until_ms: None,
        })
    }

    /// The page's address with the same filters, from `cursor` on.
    fn url_from(&self, cursor: String) -> String {
        let query = serde_urlencoded::to_string(AuditForm {
            cursor,
            actor: self.actor.clone(),
            method: self.method.clone(),
            record: self.record.clone(),
            outcome: self.outcome.clone(),
        })
        .expect("strings encode");
        format!("/ui/audit?{query}")
    }
}

pub struct AuditRow {
    pub time: String,
    pub actor: String,
    pub method: String,
    pub target: String,
    pub created: String,
    pub outcome: &'static str,
    pub status: Option<u16>,
    pub remote: String,
}

fn row(entry: AuditEntry) -> AuditRow {
    let method = entry
        .operation
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    AuditRow {
        time: view::timestamp_seconds(entry.at_ms),
        actor: entry.actor,
        method,
        target: entry.target,
        created: entry.created.unwrap_or_default(),
        outcome: entry.outcome.as_str(),
        status: entry.status,
        remote: entry.remote.unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "ui/audit.html")]
struct AuditPage {
    ctx: Ctx,
    form: AuditForm,
    methods: [&'static str; 4],
    outcomes: [&'static str; 3],
    rows: Vec<AuditRow>,
    older: Option<String>,
}

pub async fn page(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Query(done): Query<Done>,
    Query(form): Query<AuditForm>,
) -> UiResult<Response> {
    let partner = user.partner(Scope::Admin)?;
    let filter = form.filter()?;
    let cursor = match form.cursor.as_str() {
        "" => None,
        text => Some(
            parse_entry_id(text)
                .ok_or_else(|| UiError::Invalid("That page of the log does not exist.".into()))?,
        ),
    };
    let page = service
        .audit_page(partner, filter, cursor, UI_PAGE_SIZE as usize)
        .await?;
    let older = page.next.map(|next| form.url_from(entry_id(next)));
    Ok(view::page(AuditPage {
        ctx: Ctx::new(&user, "audit", &done),
        form,
        methods: METHODS,
        outcomes: OUTCOMES,
        rows: page.entries.into_iter().map(row).collect(),
        older,
    }))
}
