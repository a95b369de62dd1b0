//! What the web UI shows beyond the API's resources: the overview's figures, one name's
//! history, every device-type image, and which devices target or run a pool record.

use super::devices::Target;
use super::images::ImageView;
use super::{Service, ServiceError, ServiceResult};
use crate::domain::{FirmwareTypeRecord, ImageRecord, Offer, PoolLink, PoolRecordData};
use crate::meta::stats::PartnerStats;

/// The overview's figures.
pub struct Overview {
    pub types: usize,
    pub stats: PartnerStats,
    pub recent: Vec<PoolRecordData>,
}

/// A device of some collection, named by both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRef {
    pub collection: String,
    pub device: String,
}

/// Devices whose target in effect is a record (and that do not run it yet), and devices
/// that run it.
#[derive(Debug, Default)]
pub struct RecordUsage {
    pub targeted: Vec<DeviceRef>,
    pub running: Vec<DeviceRef>,
}

impl Service {
    pub async fn overview(&self, partner: &str, recent: usize) -> ServiceResult<Overview> {
        let owner = partner.to_string();
        self.meta_call(move |m| {
            Ok::<_, ServiceError>(Overview {
                types: m.list_types(&owner)?.len(),
                stats: m.partner_stats(&owner)?,
                recent: m.newest_pool_records(&owner, recent)?,
            })
        })
        .await
    }

    /// The types with the number of records of each.
    pub async fn types_with_counts(
        &self,
        partner: &str,
    ) -> ServiceResult<Vec<(FirmwareTypeRecord, u64)>> {
        let owner = partner.to_string();
        self.meta_call(move |m| {
            let mut out = Vec::new();
            for record in m.list_types(&owner)? {
                let count = m.type_record_count(&owner, record.fw_type)?;
                out.push((record, count));
            }
            Ok::<_, ServiceError>(out)
        })
        .await
    }

    /// The newest `limit` records of one name of one type (its history).
    pub async fn versions_of_name(
        &self,
        partner: &str,
        fw_type: u16,
        name: &str,
        limit: usize,
    ) -> ServiceResult<Vec<PoolRecordData>> {
        let (owner, name) = (partner.to_string(), name.to_string());
        self.meta_call(move |m| m.pool_records_of_name(&owner, fw_type, &name, limit))
            .await
    }

    /// Every device-type image of the partner with its pool record, by device type.
    pub async fn device_type_images(&self, partner: &str) -> ServiceResult<Vec<ImageView>> {
        let owner = partner.to_string();
        self.meta_call(move |m| {
            let mut views = Vec::new();
            for image in m.partner_images(&owner)? {
                let pool = m
                    .pool_record(image.pool_id)?
                    .ok_or(ServiceError::NotFound("pool record"))?;
                views.push((image, pool));
            }
            Ok::<_, ServiceError>(views)
        })
        .await
    }

    /// Which devices target or run a pool record: through a collection image made from it,
    /// or through an Afero push of one of its device-type images.
    pub async fn record_usage(
        &self,
        partner: &str,
        record: &PoolRecordData,
        images: &[ImageRecord],
    ) -> ServiceResult<RecordUsage> {
        let mut usage = RecordUsage::default();
        let link = PoolLink {
            pool_id: record.id,
            fw_type: record.fw_type,
            version_number: record.version_number,
        };
        for collection in self.list_collections(partner).await? {
            let collection = collection.record;
            let linked: Vec<u64> = self
                .list_collection_images(partner, &collection.id)
                .await?
                .into_iter()
                .filter(|image| image.pool.is_some_and(|p| p.pool_id == record.id))
                .map(|image| image.id)
                .collect();
            for view in self.list_devices(partner, &collection.id).await? {
                let device = view.record;
                let runs_offer =
                    |offer: &Offer| crate::domain::runs(device.current, &device.versions, offer);
                let runs = runs_offer(&Offer::DeviceTypeImage {
                    id: 0,
                    fw_type: record.fw_type,
                    version_number: record.version_number,
                }) || linked.iter().any(|id| {
                    runs_offer(&Offer::CollectionImage {
                        id: *id,
                        pool: Some(link),
                    })
                });
                let named = DeviceRef {
                    collection: collection.id.clone(),
                    device: device.id.clone(),
                };
                if runs {
                    usage.running.push(named);
                    continue;
                }
                let targets = match self.target_in_effect(&collection, &device).await? {
                    Some((Target::CollectionImage(id), _)) => linked.contains(&id),
                    Some((Target::DeviceTypeImage(id), _)) => images.iter().any(|i| i.id == id),
                    None => false,
                };
                if targets {
                    usage.targeted.push(named);
                }
            }
        }
        Ok(usage)
    }
}

/// Whether installing `target` on a device that runs `running` goes back in time: by semver
/// precedence when both versions are semver, otherwise by which image was created first.
pub fn is_rollback(
    target: &crate::domain::CollectionImageRecord,
    running: &crate::domain::CollectionImageRecord,
) -> bool {
    if target.id == running.id {
        return false;
    }
    match (
        semver::Version::parse(&target.version),
        semver::Version::parse(&running.version),
    ) {
        (Ok(t), Ok(r)) => t.cmp_precedence(&r).is_lt(),
        _ => target.created_ms < running.created_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CollectionImageRecord, Sha256Digest, Tags};

    fn image(id: u64, version: &str, created_ms: u64) -> CollectionImageRecord {
        CollectionImageRecord {
            id,
            partner: "p".into(),
            collection: "c".into(),
            version: version.into(),
            filename: "f".into(),
            sha256: Sha256Digest([0; 32]),
            length: 1,
            blake3: String::new(),
            tags: Tags::new(),
            pool: None,
            created_ms,
            updated_ms: created_ms,
        }
    }

    #[test]
    fn rollback_by_semver_then_by_age() {
        assert!(is_rollback(&image(1, "1.2.0", 9), &image(2, "1.10.0", 1)));
        assert!(!is_rollback(&image(2, "1.10.0", 1), &image(1, "1.2.0", 9)));
        assert!(is_rollback(
            &image(1, "build-a", 1),
            &image(2, "build-b", 2)
        ));
        assert!(!is_rollback(&image(1, "1.0.0", 1), &image(1, "1.0.0", 1)));
    }
}
