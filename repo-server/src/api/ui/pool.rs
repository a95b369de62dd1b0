//! Page 3, pool search: name, type, tags (all of), semver range, git commit, branch; sortable
//! columns and paging. The query lives in the URL (GET form), and runs through the same
//! parser and indexed pool listing as the JSON API.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::error::{UiError, UiResult};
use super::session::UiUser;
use super::view::{self, Ctx, Done, Facts};
use crate::api::pool::ListParams;
use crate::domain::{FirmwareTypeNumber, FirmwareTypeRecord, PoolRecordData, Scope};
use crate::service::Service;

/// Rows per page.
const PAGE_SIZE: u32 = 50;
/// Newest first unless a column header asks otherwise.
const DEFAULT_SORT: &str = "createdTimestamp,desc";

/// The search form's fields, as they stand in the URL.
#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct SearchForm {
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type")]
    pub fw_type: String,
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub version_req: String,
    #[serde(default)]
    pub commit: String,
    #[serde(default)]
    pub branch: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub page: String,
}

fn given(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

impl SearchForm {
    fn sort(&self) -> String {
        given(&self.sort).unwrap_or_else(|| DEFAULT_SORT.to_string())
    }

    /// The URL of this search with another sort or page (the rest of the query kept).
    fn url_with(&self, sort: &str, page: u32) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (key, value) in [
            ("name", &self.name),
            ("type", &self.fw_type),
            ("tags", &self.tags),
            ("versionReq", &self.version_req),
            ("commit", &self.commit),
            ("branch", &self.branch),
        ] {
            if let Some(value) = given(value) {
                pairs.push((key, value));
            }
        }
        if sort != DEFAULT_SORT {
            pairs.push(("sort", sort.to_string()));
        }
        if page > 0 {
            pairs.push(("page", page.to_string()));
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if query.is_empty() {
            "/ui/pool".into()
        } else {
            format!("/ui/pool?{query}")
        }
    }

    /// The API's list parameters for this search (a branch is the `branch:<name>` tag).
    fn list_params(&self) -> UiResult<(ListParams, Option<FirmwareTypeNumber>)> {
        let mut tags: Vec<String> = self.tags.split(',').filter_map(given).collect();
        if let Some(branch) = given(&self.branch) {
            tags.push(format!("branch:{branch}"));
        }
        let fw_type = given(&self.fw_type)
            .map(|t| FirmwareTypeNumber::parse(&t))
            .transpose()?;
        let params = ListParams {
            page: given(&self.page),
            size: Some(PAGE_SIZE.to_string()),
            sort: Some(self.sort()),
            tags: (!tags.is_empty()).then(|| tags.join(",")),
            name: given(&self.name),
            version_req: given(&self.version_req),
            commit: given(&self.commit),
            ..ListParams::default()
        };
        Ok((params, fw_type))
    }
}

pub struct Row {
    pub record: PoolRecordData,
    pub facts: Facts,
    pub created: String,
}

/// A sortable column header: its link and current state.
pub struct Column {
    pub label: &'static str,
    pub url: String,
    /// `ascending`, `descending` or `none` (for `aria-sort`).
    pub state: &'static str,
}

pub struct Results {
    pub rows: Vec<Row>,
    pub total: u64,
    pub page: u32,
    pub pages: u64,
    pub columns: Vec<Column>,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "ui/pool.html")]
struct PoolPage {
    ctx: Ctx,
    form: SearchForm,
    types: Vec<FirmwareTypeRecord>,
    results: Results,
}

const COLUMNS: [(&str, &str); 5] = [
    ("Name", "name"),
    ("Version", "version"),
    ("Type", "type"),
    ("Version number", "versionNumber"),
    ("Created", "createdTimestamp"),
];

fn columns(form: &SearchForm) -> Vec<Column> {
    let current = form.sort();
    let (field, direction) = current.split_once(',').unwrap_or((&current, "asc"));
    COLUMNS
        .iter()
        .map(|(label, key)| {
            let active = *key == field;
            let next = if active && direction.eq_ignore_ascii_case("asc") {
                "desc"
            } else if active {
                "asc"
            } else if *key == "createdTimestamp" || *key == "versionNumber" {
                "desc"
            } else {
                "asc"
            };
            Column {
                label,
                url: form.url_with(&format!("{key},{next}"), 0),
                state: match (active, direction.eq_ignore_ascii_case("asc")) {
                    (false, _) => "none",
                    (true, true) => "ascending",
                    (true, false) => "descending",
                },
            }
        })
        .collect()
}

async fn run(service: &Service, partner: &str, form: &SearchForm) -> UiResult<Results> {
    let (params, fw_type) = form.list_params()?;
    let query = params.into_query(fw_type)?;
    let request = query.page.clone();
    let page = service.list_pool(partner, query).await?;
    let pages = page.total.div_ceil(u64::from(request.size));
    let sort = form.sort();
    Ok(Results {
        rows: page
            .records
            .into_iter()
            .map(|record| Row {
                facts: Facts::from_tags(&record.tags),
                created: view::timestamp(record.created_ms),
                record,
            })
            .collect(),
        total: page.total,
        page: request.page,
        pages,
        columns: columns(form),
        prev: (request.page > 0).then(|| form.url_with(&sort, request.page - 1)),
        next: (u64::from(request.page) + 1 < pages).then(|| form.url_with(&sort, request.page + 1)),
        error: None,
    })
}

pub async fn search(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Query(form): Query<SearchForm>,
    Query(done): Query<Done>,
) -> UiResult<Response> {
    let partner = user.partner(Scope::Read)?;
    let types = service.list_types(partner).await?;
    let (status, results) = match run(&service, partner, &form).await {
        Ok(results) => (StatusCode::OK, results),
        // A query that does not parse is shown beside the form, not as an error page.
        Err(UiError::Invalid(message)) => (
            StatusCode::BAD_REQUEST,
            Results {
                rows: Vec::new(),
                total: 0,
                page: 0,
                pages: 0,
                columns: columns(&form),
                prev: None,
                next: None,
                error: Some(message),
            },
        ),
        Err(other) => return Err(other),
    };
    let page = PoolPage {
        ctx: Ctx::new(&user, "pool", &done),
        form,
        types,
        results,
    };
    let mut response = view::html(status, page.render());
    // A query that does not parse still replaces the results (with its message) under htmx.
    let headers = response.headers_mut();
    headers.insert("hx-retarget", HeaderValue::from_static("#results"));
    headers.insert("hx-reswap", HeaderValue::from_static("outerHTML"));
    Ok(response)
}
