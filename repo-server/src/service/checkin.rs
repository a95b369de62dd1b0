//! Device check-in: a device reports what it runs and learns what to install next. This
//! gathers the facts (collection, device, target in effect, newest device-type images),
//! `domain::decide` decides, and the report and outcome are recorded on the device.

use std::collections::BTreeMap;

use super::devices::Target;
use super::{Service, ServiceError, ServiceResult};
use crate::domain::{
    decide, parse_versions, CollectionImageRecord, CollectionRecord, Decision, DeviceRecord,
    DomainError, ImageRecord, Offer, PoolRecordData,
};
use crate::meta::{now_ms, MetaError};

/// What the device reports; absent members leave what was known.
#[derive(Debug, Default)]
pub struct CheckinReport {
    pub versions: Option<BTreeMap<String, String>>,
    pub current_firmware_id: Option<String>,
    pub firmware_version: Option<String>,
}

/// The image to install.
#[derive(Debug)]
pub enum OfferedImage {
    Collection(CollectionImageRecord),
    DeviceType(ImageRecord, PoolRecordData),
}

#[derive(Debug)]
pub struct CheckinOutcome {
    pub image: Option<OfferedImage>,
    pub reason: String,
}

/// Check-ins recomputed because the device changed between reading and recording it.
const CHECKIN_ATTEMPTS: usize = 8;

/// Why a check-in was not recorded.
enum Recording {
    /// The device changed since the check-in read it (a PATCH, another check-in).
    Stale,
    Failed(MetaError),
}

impl From<MetaError> for Recording {
    fn from(error: MetaError) -> Self {
        Recording::Failed(error)
    }
}

impl Service {
    /// Records a device's report and answers what it should install. The decision is made
    /// from a read of the device; recording it is a read-modify-write under the writer lock
    /// that first checks the device is still as read, and starts over if not, so a PATCH
    /// landing in between is never overwritten with what the check-in read before it.
    pub async fn checkin(
        &self,
        partner: &str,
        collection_id: &str,
        device_id: &str,
        report: CheckinReport,
    ) -> ServiceResult<CheckinOutcome> {
        for _ in 0..CHECKIN_ATTEMPTS {
            if let Some(outcome) = self
                .checkin_once(partner, collection_id, device_id, &report)
                .await?
            {
                return Ok(outcome);
            }
        }
        Err(ServiceError::Unavailable(format!(
            "device {device_id} kept changing during its check-in; retry it"
        )))
    }

    /// One check-in attempt; `None` when the device changed before it could be recorded.
    async fn checkin_once(
        &self,
        partner: &str,
        collection_id: &str,
        device_id: &str,
        report: &CheckinReport,
    ) -> ServiceResult<Option<CheckinOutcome>> {
        let collection = self.collection_record(partner, collection_id).await?;
        let mut device = self
            .device_record(partner, collection_id, device_id)
            .await?;
        let as_read = device.clone();
        let images = self.list_collection_images(partner, collection_id).await?;

        // What the device runs: an image id beats a version string beats a pool-linked image
        // matched by the reported version numbers; without any, the last known stays.
        let reported_versions = match &report.versions {
            Some(raw) => Some(parse_versions(raw)?),
            None => None,
        };
        if let Some(versions) = &reported_versions {
            device.versions.extend(versions);
        }
        let current = if let Some(text) = report.current_firmware_id.as_deref() {
            let id = super::collections::parse_image_ref("currentFirmwareId", text)?;
            if id.is_some_and(|id| !images.iter().any(|i| i.id == id)) {
                return Err(DomainError::field(
                    "currentFirmwareId",
                    format!("names no image of collection {collection_id}"),
                )
                .into());
            }
            id
        } else if let Some(version) = report.firmware_version.as_deref() {
            images.iter().find(|i| i.version == version).map(|i| i.id)
        } else if let Some(versions) = &reported_versions {
            images
                .iter()
                .rev()
                .find(|i| {
                    i.pool
                        .is_some_and(|p| versions.get(&p.fw_type) == Some(&p.version_number))
                })
                .map(|i| i.id)
                // The last known image stays unless the report contradicts it (its type is
                // reported with another version number: the device moved on, e.g. rolled back).
                .or_else(|| {
                    device.current.filter(|id| {
                        let pool = images.iter().find(|i| i.id == *id).and_then(|i| i.pool);
                        !pool.is_some_and(|p| {
                            versions
                                .get(&p.fw_type)
                                .is_some_and(|n| *n != p.version_number)
                        })
                    })
                })
        } else {
            device.current
        };
        device.current = current;

        let decision = self.decide_for(&collection, &device, &images).await?;
        let state = decision.state(collection.management);

        let (owner, coll, id) = (
            partner.to_string(),
            collection_id.to_string(),
            device_id.to_string(),
        );
        let (versions, now) = (reported_versions, now_ms());
        let recorded = self
            .meta_call(move |m| {
                let written = m.update_device(&owner, &coll, &id, now, |_, record| {
                    if *record != as_read {
                        return Err(Recording::Stale);
                    }
                    if let Some(versions) = versions {
                        record.versions.extend(versions);
                    }
                    record.current = current;
                    record.state = Some(state);
                    record.last_checkin_ms = Some(now);
                    Ok(())
                });
                match written {
                    Ok(_) => Ok(true),
                    Err(Recording::Stale) => Ok(false),
                    Err(Recording::Failed(error)) => Err(error),
                }
            })
            .await?;
        if !recorded {
            return Ok(None);
        }

        let (image, reason) = self.offered_image(decision, images).await?;
        tracing::info!(
            device.id = device_id,
            collection.id = collection_id,
            offered = image.is_some(),
            reason = %reason,
            "device checked in"
        );
        Ok(Some(CheckinOutcome { image, reason }))
    }
}

impl Service {
    /// What `device` should install, by the check-in rule: the target in effect for the
    /// collection's management scope (even older), else the newest device-type image above
    /// the installed version (never a downgrade). Check-in and the DDI poll both ask this.
    pub(super) async fn decide_for(
        &self,
        collection: &CollectionRecord,
        device: &DeviceRecord,
        images: &[CollectionImageRecord],
    ) -> ServiceResult<Decision> {
        let explicit = match self.target_in_effect(collection, device).await? {
            Some((Target::CollectionImage(id), source)) => images
                .iter()
                .find(|i| i.id == id)
                .map(|i| (Offer::CollectionImage { id, pool: i.pool }, source)),
            Some((Target::DeviceTypeImage(id), source)) => {
                let image = self.meta_read(move |m| m.image(id)).await?;
                image.map(|i| {
                    (
                        Offer::DeviceTypeImage {
                            id,
                            fw_type: i.fw_type,
                            version_number: i.version_number,
                        },
                        source,
                    )
                })
            }
            None => None,
        };
        let newest = match (&explicit, &device.device_type) {
            (None, Some(device_type)) => {
                let (owner, dt) = (collection.partner.clone(), device_type.clone());
                let all = self
                    .meta_call(move |m| m.newest_image_per_type(&owner, &dt))
                    .await?;
                newest_per_type(&all)
            }
            _ => Vec::new(),
        };
        Ok(decide(
            collection.management,
            explicit,
            device.current,
            &device.versions,
            &newest,
        ))
    }

    /// The image a decision offers (with its pool record for an Afero image), and why.
    pub(super) async fn offered_image(
        &self,
        decision: Decision,
        images: Vec<CollectionImageRecord>,
    ) -> ServiceResult<(Option<OfferedImage>, String)> {
        Ok(match decision {
            Decision::None(reason) => (None, reason.to_string()),
            Decision::Update(Offer::CollectionImage { id, .. }, reason) => {
                let image = images
                    .into_iter()
                    .find(|i| i.id == id)
                    .ok_or(ServiceError::NotFound("firmware image"))?;
                (Some(OfferedImage::Collection(image)), reason)
            }
            Decision::Update(Offer::DeviceTypeImage { id, .. }, reason) => {
                let image = self
                    .meta_call(move |m| m.image(id))
                    .await?
                    .ok_or(ServiceError::NotFound("firmware image"))?;
                let pool_id = image.pool_id;
                let pool = self
                    .meta_call(move |m| m.pool_record(pool_id))
                    .await?
                    .ok_or(ServiceError::NotFound("pool record"))?;
                (Some(OfferedImage::DeviceType(image, pool)), reason)
            }
        })
    }
}

/// The newest image (highest version number) of each firmware type, in type order. `images`
/// comes in (type, versionNumber) order from the index.
fn newest_per_type(images: &[ImageRecord]) -> Vec<Offer> {
    let mut newest: BTreeMap<u16, &ImageRecord> = BTreeMap::new();
    for image in images {
        let slot = newest.entry(image.fw_type).or_insert(image);
        if image.version_number > slot.version_number {
            *slot = image;
        }
    }
    newest
        .into_values()
        .map(|i| Offer::DeviceTypeImage {
            id: i.id,
            fw_type: i.fw_type,
            version_number: i.version_number,
        })
        .collect()
}
