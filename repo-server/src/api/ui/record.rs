//! Page 4, a pool record: every field, tags (promote, remove), git/CI facts as links,
//! download and copyable commands, signatures, device-type associations, pushes, the devices
//! that target or run it, the other versions of its name, and delete.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use serde::Deserialize;

use super::error::{UiError, UiResult};
use super::session::UiUser;
use super::types::parse_type;
use super::view::{self, Ctx, Done, Facts, UiForm};
use crate::domain::{FirmwareTypeNumber, ImageRecord, PoolRecordData, Scope};
use crate::service::browse::RecordUsage;
use crate::service::images::parse_version_number;
use crate::service::pool::PoolRecordInput;
use crate::service::trust::SignatureView;
use crate::service::Service;

/// Versions of the same name listed on the page.
const HISTORY: usize = 20;

#[derive(Template)]
#[template(path = "ui/record.html")]
struct RecordPage {
    ctx: Ctx,
    record: PoolRecordData,
    facts: Facts,
    created: String,
    updated: String,
    size: String,
    images: Vec<ImageRecord>,
    usage: RecordUsage,
    history: Vec<PoolRecordData>,
    curl: String,
    pull: String,
    base: String,
    /// Already carries the `released` tag (no promote button).
    released: bool,
    signatures: Vec<SignatureView>,
}

/// (type, versionNumber) of a record path; malformed parts name no record.
fn record_path(fw_type: &str, version_number: &str) -> UiResult<(FirmwareTypeNumber, u64)> {
    let fw_type = parse_type(fw_type)?;
    let version_number = parse_version_number(version_number)
        .map_err(|_| UiError::NotFound("Pool record not found.".into()))?;
    Ok((fw_type, version_number))
}

fn record_url(record: &PoolRecordData) -> String {
    format!("/ui/pool/{}/{}", record.fw_type, record.version_number)
}

/// A file name safe to paste into a shell command (the one DDI derives for such a record).
fn file_name(record: &PoolRecordData) -> String {
    crate::domain::ddi::derived_filename(&record.name, &record.version)
}

pub async fn page(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path((fw_type, version_number)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> UiResult<Response> {
    let partner = user.partner(Scope::Read)?;
    let (fw_type, version_number) = record_path(&fw_type, &version_number)?;
    let (record, images) = service
        .associations(partner, fw_type, version_number)
        .await?;
    let usage = service.record_usage(partner, &record, &images).await?;
    let signatures = service.signatures(partner, record.sha256).await?;
    let history = service
        .versions_of_name(partner, record.fw_type, &record.name, HISTORY)
        .await?;
    let file = file_name(&record);
    let curl = format!(
        "curl -fSL -H \"Authorization: Bearer $FWREPO_TOKEN\" -o {file} {}",
        record.url
    );
    let pull = format!(
        "fwrepo pull --type {} --version-number {} -o {file}",
        record.fw_type, record.version_number
    );
    Ok(view::page(RecordPage {
        ctx: Ctx::new(&user, "pool", &done),
        facts: Facts::from_tags(&record.tags),
        created: view::timestamp(record.created_ms),
        updated: view::timestamp(record.updated_ms),
        size: view::bytes(record.length),
        base: record_url(&record),
        released: record.tags.iter().any(|t| t == "released"),
        record,
        images,
        usage,
        history,
        curl,
        pull,
        signatures,
    }))
}

#[derive(Deserialize)]
pub struct DeleteForm {
    /// The confirmation checkbox: a delete cannot be undone.
    confirm: Option<String>,
}

/// Deletes the record, unless something uses it (a 409 page naming the uses).
pub async fn delete(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path((fw_type, version_number)): Path<(String, String)>,
    UiForm(form): UiForm<DeleteForm>,
) -> UiResult<Response> {
    let partner = view::require_write(&user)?;
    let (fw_type, version_number) = record_path(&fw_type, &version_number)?;
    if form.confirm.is_none() {
        return Err(UiError::Invalid(
            "Tick the box to confirm: a deleted record cannot be restored.".into(),
        ));
    }
    service
        .delete_pool_record(partner, fw_type, version_number)
        .await?;
    Ok(view::see_other(
        &format!("/ui/pool?type={}", fw_type.get()),
        "record-deleted",
    ))
}

/// The binary, for the browser (the JSON API's download wants a bearer token).
pub async fn download(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path((fw_type, version_number)): Path<(String, String)>,
    request: axum::extract::Request,
) -> UiResult<Response> {
    let partner = user.partner(Scope::Read)?;
    let (fw_type, version_number) = record_path(&fw_type, &version_number)?;
    let record = service
        .pool_record(partner, fw_type, version_number)
        .await?;
    let request = crate::api::repository::BlobRequest::of(&request, false);
    let mut response =
        crate::api::repository::serve_repository_blob(&service, request, partner, record.sha256)
            .await?;
    let disposition = format!("attachment; filename=\"{}\"", file_name(&record));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[derive(Deserialize)]
pub struct TagForm {
    tag: String,
}

/// Rewrites the record with changed tags, through the same update as the API's PUT.
async fn change_tags(
    service: &Service,
    user: &UiUser,
    fw_type: &str,
    version_number: &str,
    change: impl FnOnce(&mut Vec<String>),
) -> UiResult<PoolRecordData> {
    let partner = view::require_write(user)?;
    let (fw_type, version_number) = record_path(fw_type, version_number)?;
    let record = service
        .pool_record(partner, fw_type, version_number)
        .await?;
    let mut tags = record.tags.clone();
    change(&mut tags);
    let input = PoolRecordInput {
        fw_type: i64::from(record.fw_type),
        name: record.name.clone(),
        description: record.description.clone(),
        version: record.version.clone(),
        url: record.url.clone(),
        sha256: record.sha256,
        tags,
    };
    Ok(service
        .update_pool_record(partner, fw_type, version_number, input)
        .await?)
}

pub async fn add_tag(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path((fw_type, version_number)): Path<(String, String)>,
    UiForm(form): UiForm<TagForm>,
) -> UiResult<Response> {
    let tag = form.tag.trim().to_string();
    if tag.is_empty() {
        return Err(UiError::Invalid("Enter a tag to add.".into()));
    }
    let record = change_tags(&service, &user, &fw_type, &version_number, |tags| {
        tags.push(tag)
    })
    .await?;
    Ok(view::see_other(&record_url(&record), "tag-added"))
}

pub async fn remove_tag(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path((fw_type, version_number)): Path<(String, String)>,
    UiForm(form): UiForm<TagForm>,
) -> UiResult<Response> {
    let record = change_tags(&service, &user, &fw_type, &version_number, |tags| {
        tags.retain(|t| *t != form.tag)
    })
    .await?;
    Ok(view::see_other(&record_url(&record), "tag-removed"))
}

#[derive(Deserialize)]
pub struct DeviceTypeForm {
    device_type: String,
}

pub async fn associate(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path((fw_type, version_number)): Path<(String, String)>,
    UiForm(form): UiForm<DeviceTypeForm>,
) -> UiResult<Response> {
    let partner = view::require_write(&user)?;
    let (fw_type, version_number) = record_path(&fw_type, &version_number)?;
    let record = service
        .pool_record(partner, fw_type, version_number)
        .await?;
    let input = crate::service::images::ImageInput {
        fw_type: i64::from(record.fw_type),
        version_number: record.version_number.to_string(),
        name: record.name.clone(),
        url: record.url.clone(),
        version: None,
    };
    service
        .create_image(partner, form.device_type.trim(), input)
        .await?;
    Ok(view::see_other(&record_url(&record), "associated"))
}

pub async fn dissociate(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path((fw_type, version_number)): Path<(String, String)>,
    UiForm(form): UiForm<DeviceTypeForm>,
) -> UiResult<Response> {
    let partner = view::require_write(&user)?;
    let (fw_type, version_number) = record_path(&fw_type, &version_number)?;
    service
        .delete_image(partner, &form.device_type, fw_type, version_number)
        .await?;
    Ok(view::see_other(
        &format!("/ui/pool/{}/{version_number}", fw_type.get()),
        "dissociated",
    ))
}

#[derive(Deserialize)]
pub struct PushForm {
    device_type: String,
    devices: String,
}

pub async fn push(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path((fw_type, version_number)): Path<(String, String)>,
    UiForm(form): UiForm<PushForm>,
) -> UiResult<Response> {
    let partner = view::require_write(&user)?;
    let (fw_type, version_number) = record_path(&fw_type, &version_number)?;
    let (image, _) = service
        .image(partner, &form.device_type, fw_type, version_number)
        .await?;
    let devices: Vec<&str> = form
        .devices
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|d| !d.is_empty())
        .collect();
    if devices.is_empty() {
        return Err(UiError::Invalid("Enter at least one device id.".into()));
    }
    for device in devices {
        service
            .push_image(partner, &form.device_type, &image.id.to_string(), device)
            .await?;
    }
    Ok(view::see_other(
        &format!("/ui/pool/{}/{version_number}", fw_type.get()),
        "pushed",
    ))
}
