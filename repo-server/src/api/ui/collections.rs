//! Page 7, the Span side: collections with their management scope, their images (add from
//! the pool or upload, edit, delete — refused with the reason while in use) and devices
//! (target, current, state, last check-in), and setting targets with a rollback notice.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::response::Response;
use serde::Deserialize;

use super::error::{UiError, UiResult};
use super::session::UiUser;
use super::view::{self, Ctx, Done, UiForm};
use crate::domain::{CollectionImageRecord, FirmwareState, Management, Scope, Tags};
use crate::service::browse::is_rollback;
use crate::service::collections::{parse_image_id, CollectionChanges, CollectionView};
use crate::service::devices::{DeviceChanges, DeviceView, Target};
use crate::service::Service;

fn management_label(management: Management) -> &'static str {
    match management {
        Management::Device => "device",
        Management::Collection => "collection",
        Management::Disabled => "disabled",
    }
}

fn parse_management(text: &str) -> UiResult<Management> {
    match text {
        "device" => Ok(Management::Device),
        "collection" => Ok(Management::Collection),
        "disabled" => Ok(Management::Disabled),
        other => Err(UiError::Invalid(format!(
            "Management scope must be device, collection or disabled, not '{other}'."
        ))),
    }
}

pub struct CollectionRow {
    pub view: CollectionView,
    pub management: &'static str,
    pub tags: String,
}

#[derive(Template)]
#[template(path = "ui/collections.html")]
struct CollectionsPage {
    ctx: Ctx,
    rows: Vec<CollectionRow>,
    pager: view::Pager,
}

/// `?page=N` of the collection list.
#[derive(Deserialize, Default)]
pub struct Paging {
    page: Option<String>,
}

/// `?images=N&devices=M`: the pages of a collection's images and devices.
#[derive(Deserialize, Default)]
pub struct CollectionPaging {
    images: Option<String>,
    devices: Option<String>,
}

fn tags_text(tags: &Tags) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn list(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Query(done): Query<Done>,
    Query(paging): Query<Paging>,
) -> UiResult<Response> {
    let partner = user.partner(Scope::Read)?;
    let page = view::ui_page(paging.page.as_deref());
    let (views, total) = service.list_collections(partner, &page).await?;
    let rows = views
        .into_iter()
        .map(|view| CollectionRow {
            management: management_label(view.record.management),
            tags: tags_text(&view.record.tags),
            view,
        })
        .collect();
    Ok(view::page(CollectionsPage {
        ctx: Ctx::new(&user, "collections", &done),
        rows,
        pager: view::Pager::new(page.page, total, |n| format!("/ui/collections?page={n}")),
    }))
}

/// `name=value, name2=value2` (a name with an empty value removes that tag on edit).
fn parse_tags(text: &str) -> UiResult<Option<Tags>> {
    let mut tags = Tags::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, value) = item.split_once('=').ok_or_else(|| {
            UiError::Invalid(format!("Tags are name=value pairs; '{item}' has no '='."))
        })?;
        tags.insert(name.trim().to_string(), value.trim().to_string());
    }
    Ok((!tags.is_empty()).then_some(tags))
}

#[derive(Deserialize)]
pub struct CreateForm {
    management: String,
    #[serde(default)]
    tags: String,
}

pub async fn create(
    State(service): State<Arc<Service>>,
    user: UiUser,
    UiForm(form): UiForm<CreateForm>,
) -> UiResult<Response> {
    let partner = view::require_write(&user)?;
    let changes = CollectionChanges {
        management: Some(parse_management(&form.management)?),
        target: None,
        tags: parse_tags(&form.tags)?,
    };
    let view = service.create_collection(partner, changes).await?;
    Ok(view::see_other(
        &format!("/ui/collections/{}", view.record.id),
        "collection-created",
    ))
}

pub struct ImageRow {
    pub record: CollectionImageRecord,
    pub size: String,
    pub tags: String,
    pub short_sha: String,
}

/// A choice of target for a device, marked when it would roll the device back.
pub struct TargetChoice {
    pub id: u64,
    pub label: String,
    pub selected: bool,
    pub rollback: bool,
}

pub struct DeviceRow {
    pub view: DeviceView,
    pub target: String,
    pub current: String,
    pub state: &'static str,
    pub last_checkin: String,
    /// The open hawkBit deployment: "action 7 · proceeding", or empty.
    pub deployment: String,
    pub choices: Vec<TargetChoice>,
}

#[derive(Template)]
#[template(path = "ui/collection.html")]
struct CollectionPage {
    ctx: Ctx,
    id: String,
    management: &'static str,
    tags: String,
    target: Option<u64>,
    current: Option<u64>,
    images: Vec<ImageRow>,
    devices: Vec<DeviceRow>,
    images_pager: view::Pager,
    devices_pager: view::Pager,
    /// Target choices for the collection, marked against what its devices all run.
    choices: Vec<TargetChoice>,
}

fn image_label(images: &[CollectionImageRecord], id: Option<u64>) -> String {
    match id {
        None => "none".into(),
        Some(id) => images.iter().find(|i| i.id == id).map_or_else(
            || format!("image {id}"),
            |i| format!("{} (image {id})", i.version),
        ),
    }
}

fn choices(
    images: &[CollectionImageRecord],
    selected: Option<u64>,
    running: Option<u64>,
) -> Vec<TargetChoice> {
    let running = running.and_then(|id| images.iter().find(|i| i.id == id));
    images
        .iter()
        .map(|image| {
            let rollback = running.is_some_and(|r| is_rollback(image, r));
            TargetChoice {
                id: image.id,
                label: format!("{} · {}", image.version, image.filename),
                selected: selected == Some(image.id),
                rollback,
            }
        })
        .collect()
}

fn state_label(state: Option<FirmwareState>) -> &'static str {
    match state {
        Some(FirmwareState::Current) => "current",
        Some(FirmwareState::Pending) => "pending",
        Some(FirmwareState::Unmanaged) => "unmanaged",
        None => "never checked in",
    }
}

pub async fn page(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path(collection): Path<String>,
    Query(done): Query<Done>,
    Query(paging): Query<CollectionPaging>,
) -> UiResult<Response> {
    let partner = user.partner(Scope::Read)?;
    let view = service.collection(partner, &collection).await?;
    let images_page = view::ui_page(paging.images.as_deref());
    let devices_page = view::ui_page(paging.devices.as_deref());
    let (images, images_total) = service
        .page_collection_images(partner, &collection, &images_page)
        .await?;
    let (devices, devices_total) = service
        .list_devices(partner, &collection, &devices_page)
        .await?;
    let url = |images: u32, devices: u32| {
        format!("/ui/collections/{collection}?images={images}&devices={devices}")
    };
    let images_pager = view::Pager::new(images_page.page, images_total, |n| {
        url(n, devices_page.page)
    });
    let devices_pager = view::Pager::new(devices_page.page, devices_total, |n| {
        url(images_page.page, n)
    });
    // One point read per device of the page.
    let mut deployments = Vec::with_capacity(devices.len());
    for device in &devices {
        let open = service.open_deployment(partner, &device.record.id).await?;
        deployments.push(open.map_or_else(String::new, |action| {
            format!("action {} · {}", action.id, action.state.as_str())
        }));
    }
    let device_rows = devices
        .into_iter()
        .zip(deployments)
        .map(|(device, deployment)| {
            let own = device.own_target;
            let target = match own {
                Some(Target::CollectionImage(id)) => image_label(&images, Some(id)),
                Some(Target::DeviceTypeImage(id)) => format!("pushed image {id}"),
                None => "none".into(),
            };
            let selected = match own {
                Some(Target::CollectionImage(id)) => Some(id),
                _ => None,
            };
            DeviceRow {
                target,
                current: image_label(&images, device.record.current),
                state: state_label(device.record.state),
                last_checkin: device
                    .record
                    .last_checkin_ms
                    .map_or_else(|| "never".into(), view::ago),
                choices: choices(&images, selected, device.record.current),
                deployment,
                view: device,
            }
        })
        .collect();
    let image_rows = images
        .iter()
        .map(|record| ImageRow {
            size: view::bytes(record.length),
            tags: tags_text(&record.tags),
            short_sha: record.sha256.to_hex()[..12].to_string(),
            record: record.clone(),
        })
        .collect();
    Ok(view::page(CollectionPage {
        ctx: Ctx::new(&user, "collections", &done),
        management: management_label(view.record.management),
        tags: tags_text(&view.record.tags),
        target: view.record.target,
        current: view.current,
        choices: choices(&images, view.record.target, view.current),
        images: image_rows,
        devices: device_rows,
        images_pager,
        devices_pager,
        id: view.record.id,
    }))
}

#[derive(Deserialize)]
pub struct SettingsForm {
    management: String,
    #[serde(default)]
    target: String,
}

pub async fn settings(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path(collection): Path<String>,
    UiForm(form): UiForm<SettingsForm>,
) -> UiResult<Response> {
    let partner = view::require_write(&user)?;
    let changes = CollectionChanges {
        management: Some(parse_management(&form.management)?),
        target: Some(form.target.trim().to_string()),
        tags: None,
    };
    let view = service
        .update_collection(partner, &collection, changes)
        .await?;
    let rollback = rollback_of(
        &service,
        partner,
        &collection,
        view.record.target,
        view.current,
    )
    .await?;
    Ok(view::see_other(
        &format!("/ui/collections/{collection}"),
        if rollback {
            "target-rollback"
        } else {
            "settings-saved"
        },
    ))
}

/// Whether targeting `target` rolls back devices running `running`.
async fn rollback_of(
    service: &Service,
    partner: &str,
    collection: &str,
    target: Option<u64>,
    running: Option<u64>,
) -> UiResult<bool> {
    let (Some(target), Some(running)) = (target, running) else {
        return Ok(false);
    };
    let target = service
        .collection_image(partner, collection, target)
        .await?;
    let running = service
        .collection_image(partner, collection, running)
        .await?;
    Ok(is_rollback(&target, &running))
}

#[derive(Deserialize)]
pub struct AddImageForm {
    #[serde(rename = "type")]
    fw_type: String,
    version_number: String,
}

/// Adds an image made from a pool record (no bytes move).
pub async fn add_image(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path(collection): Path<String>,
    UiForm(form): UiForm<AddImageForm>,
) -> UiResult<Response> {
    let partner = view::require_write(&user)?;
    let fw_type: i64 = form
        .fw_type
        .trim()
        .parse()
        .map_err(|_| UiError::Invalid("The firmware type is a number.".into()))?;
    service
        .add_pool_image(
            partner,
            &collection,
            fw_type,
            form.version_number.trim(),
            None,
            None,
            None,
        )
        .await?;
    Ok(view::see_other(
        &format!("/ui/collections/{collection}"),
        "image-added",
    ))
}

#[derive(Deserialize)]
pub struct UploadParams {
    #[serde(default)]
    filename: String,
}

/// Uploads a file as a new image (the raw file as the XHR body, CSRF header checked).
pub async fn upload_image(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path(collection): Path<String>,
    Query(params): Query<UploadParams>,
    request: Request,
) -> Response {
    let stored = async {
        let partner = view::require_write(&user)?;
        service.collection(partner, &collection).await?;
        let limit = service.config().max_upload_bytes;
        let request = crate::api::binaries::refuse_declared_oversize(request, limit).await?;
        let mut upload = service.begin_upload(Default::default()).await?;
        if let Err(error) = crate::api::binaries::stream_raw(&mut upload, request).await {
            upload.abort().await;
            return Err(UiError::from(error));
        }
        let held = upload.finish(partner).await?;
        service
            .add_image_from_upload(partner, &collection, held, params.filename)
            .await?;
        Ok::<_, UiError>(())
    }
    .await;
    match stored {
        Ok(()) => view::see_other(&format!("/ui/collections/{collection}"), "image-added"),
        Err(error) => error.into_fragment(),
    }
}

#[derive(Deserialize)]
pub struct EditImageForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    tags: String,
}

pub async fn edit_image(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path((collection, image)): Path<(String, String)>,
    UiForm(form): UiForm<EditImageForm>,
) -> UiResult<Response> {
    let partner = view::require_write(&user)?;
    let image = parse_image_id(&image)?;
    let version = form.version.trim();
    service
        .update_collection_image(
            partner,
            &collection,
            image,
            (!version.is_empty()).then(|| version.to_string()),
            parse_tags(&form.tags)?,
        )
        .await?;
    Ok(view::see_other(
        &format!("/ui/collections/{collection}"),
        "image-saved",
    ))
}

pub async fn delete_image(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path((collection, image)): Path<(String, String)>,
) -> UiResult<Response> {
    let partner = view::require_write(&user)?;
    let image = parse_image_id(&image)?;
    service
        .delete_collection_image(partner, &collection, image)
        .await?;
    Ok(view::see_other(
        &format!("/ui/collections/{collection}"),
        "image-deleted",
    ))
}

#[derive(Deserialize)]
pub struct AddDeviceForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    device_type: String,
}

pub async fn add_device(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path(collection): Path<String>,
    UiForm(form): UiForm<AddDeviceForm>,
) -> UiResult<Response> {
    let partner = view::require_write(&user)?;
    let id = form.id.trim();
    let device_type = form.device_type.trim();
    let changes = DeviceChanges {
        device_type: (!device_type.is_empty()).then(|| device_type.to_string()),
        ..DeviceChanges::default()
    };
    service
        .create_device(
            partner,
            &collection,
            (!id.is_empty()).then(|| id.to_string()),
            changes,
        )
        .await?;
    Ok(view::see_other(
        &format!("/ui/collections/{collection}"),
        "device-added",
    ))
}

#[derive(Deserialize)]
pub struct TargetForm {
    #[serde(default)]
    target: String,
}

pub async fn device_target(
    State(service): State<Arc<Service>>,
    user: UiUser,
    Path((collection, device)): Path<(String, String)>,
    UiForm(form): UiForm<TargetForm>,
) -> UiResult<Response> {
    let partner = view::require_write(&user)?;
    let changes = DeviceChanges {
        target: Some(form.target.trim().to_string()),
        ..DeviceChanges::default()
    };
    let view = service
        .update_device(partner, &collection, &device, changes)
        .await?;
    let rollback = rollback_of(
        &service,
        partner,
        &collection,
        view.record.target,
        view.record.current,
    )
    .await?;
    Ok(view::see_other(
        &format!("/ui/collections/{collection}"),
        if rollback {
            "target-rollback"
        } else {
            "target-set"
        },
    ))
}
