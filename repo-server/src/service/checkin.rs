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
use crate::meta::{now_ms, MetaError, MetaStore};

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

        // What the device runs: an image id beats a version string beats a pool-linked image
        // matched by the reported version numbers; without any, the last known stays. Each
        // is a point lookup, whatever the number of images in the collection.
        let reported_versions = match &report.versions {
            Some(raw) => Some(parse_versions(raw)?),
            None => None,
        };
        if let Some(versions) = &reported_versions {
            device.versions.extend(versions);
        }
        let (owner, coll) = (partner.to_string(), collection_id.to_string());
        let current = if let Some(text) = report.current_firmware_id.as_deref() {
            let id = super::collections::parse_image_ref("currentFirmwareId", text)?;
            if let Some(id) = id {
                let found = self
                    .meta_call(move |m| m.collection_image(&owner, &coll, id))
                    .await?;
                if found.is_none() {
                    return Err(DomainError::field(
                        "currentFirmwareId",
                        format!("names no image of collection {collection_id}"),
                    )
                    .into());
                }
            }
            id
        } else if let Some(version) = report.firmware_version.clone() {
            self.meta_call(move |m| m.collection_image_by_version(&owner, &coll, &version))
                .await?
                .map(|i| i.id)
        } else if let Some(versions) = reported_versions.clone() {
            let known = device.current;
            self.meta_call(move |m| current_from_versions(m, &owner, &coll, &versions, known))
                .await?
        } else {
            device.current
        };
        device.current = current;

        let decision = self.decide_for(&collection, &device).await?;
        let state = decision.state(collection.management);

        let (owner, coll, id) = (
            partner.to_string(),
            collection_id.to_string(),
            device_id.to_string(),
        );
        let (versions, now) = (reported_versions, now_ms());
        let recorded = self
            .meta_write(move |m| {
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

        let (image, reason) = self.offered_image(&collection, decision).await?;
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
    ) -> ServiceResult<Decision> {
        let explicit = match self.target_in_effect(collection, device).await? {
            Some((Target::CollectionImage(id), source)) => {
                let (owner, coll) = (collection.partner.clone(), collection.id.clone());
                self.meta_call(move |m| m.collection_image(&owner, &coll, id))
                    .await?
                    .map(|i| (Offer::CollectionImage { id, pool: i.pool }, source))
            }
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
        collection: &CollectionRecord,
        decision: Decision,
    ) -> ServiceResult<(Option<OfferedImage>, String)> {
        Ok(match decision {
            Decision::None(reason) => (None, reason.to_string()),
            Decision::Update(Offer::CollectionImage { id, .. }, reason) => {
                let image = self
                    .collection_image(&collection.partner, &collection.id, id)
                    .await?;
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

/// The collection image the reported version numbers name (the newest if several do), else
/// the last known image unless the report contradicts it (its type is reported with another
/// version number: the device moved on, e.g. rolled back).
fn current_from_versions(
    meta: &MetaStore,
    partner: &str,
    collection: &str,
    versions: &BTreeMap<u16, u64>,
    known: Option<u64>,
) -> Result<Option<u64>, MetaError> {
    let mut linked = None;
    for (fw_type, version_number) in versions {
        let image =
            meta.collection_image_of_pool_record(partner, collection, *fw_type, *version_number)?;
        linked = linked.max(image.map(|i| i.id));
    }
    if linked.is_some() {
        return Ok(linked);
    }
    let Some(id) = known else {
        return Ok(None);
    };
    let pool = meta
        .collection_image(partner, collection, id)?
        .and_then(|i| i.pool);
    let contradicted = pool.is_some_and(|p| {
        versions
            .get(&p.fw_type)
            .is_some_and(|n| *n != p.version_number)
    });
    Ok((!contradicted).then_some(id))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Management, PoolLink, PoolRecordFields, Sha256Digest};
    use crate::meta::collections::NewCollectionImage;

    /// A collection of `n` images, each made from its own pool record of type 101 (version
    /// numbers 1..=n); answers the collection id.
    fn collection_of(meta: &MetaStore, n: usize) -> String {
        let collection = meta
            .create_collection("acme", Management::Device, Default::default(), 1)
            .unwrap()
            .id;
        for i in 0..n {
            let mut bytes = [9u8; 32];
            bytes[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let sha = Sha256Digest(bytes);
            meta.add_pending("acme", &sha, 1, "b3", 1, u64::MAX)
                .unwrap();
            meta.move_to_repository("acme", &sha, 1).unwrap();
            let fields = PoolRecordFields {
                fw_type: 101,
                name: "fw".into(),
                description: None,
                version: format!("1.0.{i}"),
                url: "u".into(),
                tags: vec![],
                sha256: sha,
            };
            let pool = meta.create_pool_record("acme", fields, 1).unwrap();
            let image = NewCollectionImage {
                version: pool.version.clone(),
                filename: "fw.bin".into(),
                sha256: sha,
                length: 1,
                blake3: "b3".into(),
                tags: Default::default(),
                pool: Some(PoolLink {
                    pool_id: pool.id,
                    fw_type: 101,
                    version_number: pool.version_number,
                }),
            };
            meta.create_collection_image("acme", &collection, image, 1)
                .unwrap();
        }
        collection
    }

    /// Issue 11 item 7: a check-in finds the image a device runs by point lookups, not by
    /// loading the collection's images: the cost does not grow with their number.
    #[test]
    fn the_running_image_costs_the_same_among_2000_images_as_among_20() {
        let run = |n: usize| {
            let (_dir, meta) = crate::meta::test_store();
            let collection = collection_of(&meta, n);
            let versions = BTreeMap::from([(101u16, 3u64)]);
            let (work, found) = crate::meta::lists::tests::cost(|| {
                current_from_versions(&meta, "acme", &collection, &versions, None).unwrap()
            });
            let image = meta
                .collection_image_by_version("acme", &collection, "1.0.2")
                .unwrap()
                .unwrap();
            assert_eq!(found, Some(image.id), "versionNumber 3 is the third record");
            let moved_on = BTreeMap::from([(101u16, 1_000_000u64)]);
            let kept = current_from_versions(&meta, "acme", &collection, &moved_on, found);
            assert_eq!(
                kept.unwrap(),
                None,
                "a report of another version number contradicts it"
            );
            work
        };
        let (few_bytes, few_steps) = run(20);
        let (many_bytes, many_steps) = run(2000);
        assert!(
            many_steps <= few_steps * 2 && many_bytes <= few_bytes * 2,
            "among 2000 images: {many_bytes} bytes, {many_steps} steps; among 20: {few_bytes}, {few_steps}"
        );
    }
}
