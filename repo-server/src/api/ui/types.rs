//! Page 2, firmware types: the list (number, name, class, version attribute id, records),
//! create, and edit. An empty repository leads to "create your first type".

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::error::{UiError, UiResult};
use super::session::UiUser;
use super::view::{self, Ctx, Done, UiForm};
use crate::domain::{FirmwareTypeNumber, FirmwareTypeRecord, Scope};
use crate::service::Service;

pub struct TypeRow {
    pub record: FirmwareTypeRecord,
    pub class: &'static str,
    pub attribute_id: i64,
    pub records: u64,
}

#[derive(Template)]
#[template(path = "ui/types.html")]
struct TypesPage {
    ctx: Ctx,
    rows: Vec<TypeRow>,
}

#[derive(Template)]
#[template(path = "ui/type_edit.html")]
struct TypeEditPage {
    ctx: Ctx,
    row: TypeRow,
}

fn class(fw_type: u16) -> &'static str {
    if fw_type <= 100 {
        "Platform"
    } else {
        "MCU"
    }
}

fn row(record: FirmwareTypeRecord, records: u64) -> TypeRow {
    TypeRow {
        class: class(record.fw_type),
        attribute_id: 2000 + i64::from(record.fw_type),
        records,
        record,
    }
}

pub async fn list(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Query(done): Query<Done>,
) -> UiResult<Response> {
    let partner = user.partner(Scope::Read)?;
    let rows = service
        .types_with_counts(partner)
        .await?
        .into_iter()
        .map(|(record, count)| row(record, count))
        .collect();
    Ok(view::page(TypesPage {
        ctx: Ctx::new(&user, "types", &done),
        rows,
    }))
}

#[derive(Deserialize)]
pub struct TypeForm {
    #[serde(default)]
    number: String,
    name: String,
    #[serde(default)]
    description: String,
}

fn description(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

pub async fn create(
    State(service): State<Arc<Service>>,
    user: UiUser,
    UiForm(form): UiForm<TypeForm>,
) -> UiResult<Response> {
    let partner = view::require_write(&user)?;
    let number = FirmwareTypeNumber::parse(form.number.trim())?;
    service
        .create_type(
            partner,
            number,
            form.name.trim().to_string(),
            description(&form.description),
        )
        .await?;
    Ok(view::see_other("/ui/types", "type-created"))
}

pub async fn edit(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path(fw_type): Path<String>,
    Query(done): Query<Done>,
) -> UiResult<Response> {
    let partner = user.partner(Scope::Read)?;
    let number = parse_type(&fw_type)?;
    let record = service.get_type(partner, number).await?;
    let records = service
        .types_with_counts(partner)
        .await?
        .into_iter()
        .find(|(t, _)| t.fw_type == record.fw_type)
        .map_or(0, |(_, n)| n);
    Ok(view::page(TypeEditPage {
        ctx: Ctx::new(&user, "types", &done),
        row: row(record, records),
    }))
}

pub async fn update(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path(fw_type): Path<String>,
    UiForm(form): UiForm<TypeForm>,
) -> UiResult<Response> {
    let partner = view::require_write(&user)?;
    let number = parse_type(&fw_type)?;
    service
        .update_type(
            partner,
            number,
            form.name.trim().to_string(),
            description(&form.description),
        )
        .await?;
    Ok(view::see_other(
        &format!("/ui/types/{}", number.get()),
        "type-updated",
    ))
}

/// A type number of a path: a malformed one names no page.
pub fn parse_type(text: &str) -> UiResult<FirmwareTypeNumber> {
    FirmwareTypeNumber::parse(text)
        .map_err(|_| UiError::NotFound(format!("There is no firmware type {text}.")))
}
