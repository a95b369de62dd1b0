//! Devices of collections, and which target is in effect for one: the collection's (scope
//! `collection`), or the device's own — the newer of its `targetFirmwareId` and an Afero push
//! (scope `device`) — or none (scope `disabled`).

use std::collections::BTreeMap;

use super::collections::{parse_image_ref, require_image};
use super::{Service, ServiceError, ServiceResult};
use crate::domain::{
    merge_tags, validate_id, validate_tag_map, CollectionRecord, DeviceRecord, Management,
    PageRequest, Tags, TargetSource,
};
use crate::meta::now_ms;

pub use crate::domain::Target;

/// A device with its own target (device target or a newer push).
#[derive(Debug, Clone)]
pub struct DeviceView {
    pub record: DeviceRecord,
    pub own_target: Option<Target>,
}

/// Fields of a device create or PATCH; `None` leaves a field as it is, `Some("")` clears.
#[derive(Debug, Default)]
pub struct DeviceChanges {
    pub device_type: Option<String>,
    pub target: Option<String>,
    pub current: Option<String>,
    /// Afero versions map (attribute id → versionNumber), merged.
    pub versions: Option<BTreeMap<String, String>>,
    pub tags: Option<Tags>,
}

/// Applies validated changes to a device under the writer lock.
fn apply(
    meta: &crate::meta::MetaStore,
    device: &mut DeviceRecord,
    changes: &DeviceChanges,
    now: u64,
) -> ServiceResult<()> {
    let (partner, collection) = (device.partner.clone(), device.collection.clone());
    if let Some(device_type) = &changes.device_type {
        if device_type.is_empty() {
            device.device_type = None;
        } else {
            validate_id("deviceTypeId", device_type)?;
            device.device_type = Some(device_type.clone());
        }
    }
    if let Some(text) = &changes.target {
        let target = parse_image_ref("firmware.targetFirmwareId", text)?;
        // A GET answer sent back shows an Afero push in effect as the target: an echo of it
        // changes nothing (it names an Afero image, not one of the collection's).
        let push_in_effect = meta
            .push_for_device(&partner, &device.id)?
            .filter(|push| push.pushed_ms > device.target_set_ms);
        if target.is_some() && push_in_effect.is_some_and(|push| Some(push.image_id) == target) {
            return apply_rest(meta, device, changes);
        }
        require_image(
            meta,
            &partner,
            &collection,
            "firmware.targetFirmwareId",
            target,
        )?;
        device.target = target;
        device.target_set_ms = now;
    }
    apply_rest(meta, device, changes)
}

/// The members of a device PATCH other than its target.
fn apply_rest(
    meta: &crate::meta::MetaStore,
    device: &mut DeviceRecord,
    changes: &DeviceChanges,
) -> ServiceResult<()> {
    let (partner, collection) = (device.partner.clone(), device.collection.clone());
    if let Some(text) = &changes.current {
        let current = parse_image_ref("firmware.currentFirmwareId", text)?;
        require_image(
            meta,
            &partner,
            &collection,
            "firmware.currentFirmwareId",
            current,
        )?;
        device.current = current;
    }
    if let Some(raw) = &changes.versions {
        device.versions.extend(crate::domain::parse_versions(raw)?);
    }
    if let Some(tags) = &changes.tags {
        merge_tags(&mut device.tags, tags)?;
    }
    Ok(())
}

impl Service {
    /// The device's own target: its `targetFirmwareId`, unless an Afero push (of an image
    /// that still exists) is newer.
    pub(super) async fn own_target(
        &self,
        device: &DeviceRecord,
    ) -> ServiceResult<Option<(Target, TargetSource)>> {
        let (owner, id) = (device.partner.clone(), device.id.clone());
        let push = self
            .meta_write(move |m| m.push_for_device(&owner, &id))
            .await?;
        if let Some(push) = push.filter(|p| p.pushed_ms > device.target_set_ms) {
            let image_id = push.image_id;
            let image = self.meta_read(move |m| m.image(image_id)).await?;
            if image.is_some_and(|i| i.partner == device.partner) {
                return Ok(Some((
                    Target::DeviceTypeImage(image_id),
                    TargetSource::Push,
                )));
            }
        }
        Ok(device
            .target
            .map(|id| (Target::CollectionImage(id), TargetSource::Device)))
    }

    /// The target in effect under the collection's management scope.
    pub(super) async fn target_in_effect(
        &self,
        collection: &CollectionRecord,
        device: &DeviceRecord,
    ) -> ServiceResult<Option<(Target, TargetSource)>> {
        Ok(match collection.management {
            Management::Disabled => None,
            Management::Collection => collection
                .target
                .map(|id| (Target::CollectionImage(id), TargetSource::Collection)),
            Management::Device => self.own_target(device).await?,
        })
    }

    async fn device_view(&self, record: DeviceRecord) -> ServiceResult<DeviceView> {
        let own_target = self.own_target(&record).await?.map(|(t, _)| t);
        Ok(DeviceView { record, own_target })
    }

    pub async fn create_device(
        &self,
        partner: &str,
        collection: &str,
        id: Option<String>,
        changes: DeviceChanges,
    ) -> ServiceResult<DeviceView> {
        if let Some(id) = &id {
            validate_id("deviceId", id)?;
        }
        if let Some(tags) = &changes.tags {
            validate_tag_map(tags, false)?;
        }
        let (owner, coll) = (partner.to_string(), collection.to_string());
        let record = self
            .meta_write(move |meta| {
                let now = now_ms();
                meta.create_device(&owner, &coll, id, now, |m, device| {
                    apply(m, device, &changes, now)
                })
            })
            .await?;
        self.device_view(record).await
    }

    pub async fn device(
        &self,
        partner: &str,
        collection: &str,
        device: &str,
    ) -> ServiceResult<DeviceView> {
        let record = self.device_record(partner, collection, device).await?;
        self.device_view(record).await
    }

    pub(super) async fn device_record(
        &self,
        partner: &str,
        collection: &str,
        device: &str,
    ) -> ServiceResult<DeviceRecord> {
        let (owner, coll, id) = (
            partner.to_string(),
            collection.to_string(),
            device.to_string(),
        );
        self.meta_call(move |m| m.device(&owner, &coll, &id))
            .await?
            .ok_or(ServiceError::NotFound("device"))
    }

    /// One page of a collection's devices and how many it has.
    pub async fn list_devices(
        &self,
        partner: &str,
        collection: &str,
        page: &PageRequest,
    ) -> ServiceResult<(Vec<DeviceView>, u64)> {
        self.collection_record(partner, collection).await?;
        let (owner, coll, page) = (partner.to_string(), collection.to_string(), page.clone());
        let found = self
            .meta_call(move |m| m.page_devices(&owner, &coll, &page))
            .await?;
        let mut views = Vec::with_capacity(found.items.len());
        for record in found.items {
            views.push(self.device_view(record).await?);
        }
        Ok((views, found.total))
    }

    pub async fn update_device(
        &self,
        partner: &str,
        collection: &str,
        device: &str,
        changes: DeviceChanges,
    ) -> ServiceResult<DeviceView> {
        let (owner, coll, id) = (
            partner.to_string(),
            collection.to_string(),
            device.to_string(),
        );
        let record = self
            .meta_write(move |meta| {
                let now = now_ms();
                meta.update_device(&owner, &coll, &id, now, |m, device| {
                    apply(m, device, &changes, now)
                })
            })
            .await?;
        self.device_view(record).await
    }

    pub async fn delete_device(
        &self,
        partner: &str,
        collection: &str,
        device: &str,
    ) -> ServiceResult<()> {
        let (owner, coll, id) = (
            partner.to_string(),
            collection.to_string(),
            device.to_string(),
        );
        self.meta_write(move |m| m.delete_device(&owner, &coll, &id))
            .await
    }
}
