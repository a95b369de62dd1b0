//! Page 6, device types: each device type's associated images per firmware type, with
//! dissociate.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::error::{UiError, UiResult};
use super::session::UiUser;
use super::view::{self, Ctx, Done, UiForm};
use crate::domain::{ImageRecord, PoolRecordData, Scope};
use crate::service::images::parse_version_number;
use crate::service::Service;

pub struct DeviceTypeGroup {
    pub device_type: String,
    /// (firmware type, its images newest first).
    pub by_type: Vec<(u16, Vec<(ImageRecord, PoolRecordData)>)>,
}

#[derive(Template)]
#[template(path = "ui/device_types.html")]
struct DeviceTypesPage {
    ctx: Ctx,
    groups: Vec<DeviceTypeGroup>,
    pager: view::Pager,
}

/// `?page=N` of the device-type image list.
#[derive(Deserialize, Default)]
pub struct Paging {
    page: Option<String>,
}

/// Groups (device type, type, versionNumber)-ordered images by device type, then type.
fn group(views: Vec<(ImageRecord, PoolRecordData)>) -> Vec<DeviceTypeGroup> {
    let mut groups: Vec<DeviceTypeGroup> = Vec::new();
    for (image, pool) in views {
        if groups
            .last()
            .is_none_or(|g| g.device_type != image.device_type)
        {
            groups.push(DeviceTypeGroup {
                device_type: image.device_type.clone(),
                by_type: Vec::new(),
            });
        }
        let group = groups.last_mut().expect("pushed above");
        if group
            .by_type
            .last()
            .is_none_or(|(t, _)| *t != image.fw_type)
        {
            group.by_type.push((image.fw_type, Vec::new()));
        }
        group
            .by_type
            .last_mut()
            .expect("pushed above")
            .1
            .insert(0, (image, pool));
    }
    groups
}

pub async fn list(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Query(done): Query<Done>,
    Query(paging): Query<Paging>,
) -> UiResult<Response> {
    let partner = user.partner(Scope::Read)?;
    let page = view::ui_page(paging.page.as_deref());
    let (views, total) = service.device_type_images(partner, &page).await?;
    Ok(view::page(DeviceTypesPage {
        ctx: Ctx::new(&user, "device-types", &done),
        groups: group(views),
        pager: view::Pager::new(page.page, total, |n| format!("/ui/device-types?page={n}")),
    }))
}

#[derive(Deserialize)]
pub struct DissociateForm {
    #[serde(rename = "type")]
    fw_type: String,
    version_number: String,
}

pub async fn dissociate(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path(device_type): Path<String>,
    UiForm(form): UiForm<DissociateForm>,
) -> UiResult<Response> {
    let partner = view::require_write(&user)?;
    let fw_type = super::types::parse_type(&form.fw_type)?;
    let version_number = parse_version_number(&form.version_number)
        .map_err(|_| UiError::NotFound("Firmware image not found.".into()))?;
    service
        .delete_image(partner, &device_type, fw_type, version_number)
        .await?;
    Ok(view::see_other("/ui/device-types", "dissociated"))
}
