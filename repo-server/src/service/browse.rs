//! What the web UI shows beyond the API's resources: the overview's figures, one name's
//! history, every device-type image, and which devices target or run a pool record.

use super::devices::Target;
use super::images::ImageView;
use super::{Service, ServiceError, ServiceResult};
use crate::domain::{
    FirmwareTypeRecord, ImageRecord, Offer, PageRequest, PoolLink, PoolRecordData,
};
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
    /// More devices than `USAGE_SHOWN` of a kind: the lists name the first ones.
    pub more: bool,
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

    /// One page of the partner's device-type images with their pool records, by device
    /// type, and how many there are.
    pub async fn device_type_images(
        &self,
        partner: &str,
        page: &PageRequest,
    ) -> ServiceResult<(Vec<ImageView>, u64)> {
        let (owner, page) = (partner.to_string(), page.clone());
        let found = self
            .meta_call(move |m| m.page_partner_images(&owner, &page))
            .await?;
        Ok((found.items, found.total))
    }

    /// Which devices target or run a pool record: through a collection image made from it,
    /// or through an Afero push of one of its device-type images. Walks collections, images
    /// and devices a page at a time and names at most `USAGE_SHOWN` devices of each kind.
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
        let mut collections = walk_pages();
        while let Some(page) = collections.next() {
            let (found, _) = self.list_collections(partner, &page).await?;
            collections.seen(found.len());
            for collection in found {
                let collection = collection.record;
                let linked = self
                    .images_linked_to(partner, &collection.id, record.id)
                    .await?;
                let mut devices = walk_pages();
                while let Some(page) = devices.next() {
                    let (views, _) = self.list_devices(partner, &collection.id, &page).await?;
                    devices.seen(views.len());
                    for view in views {
                        let device = view.record;
                        let runs_offer = |offer: &Offer| {
                            crate::domain::runs(device.current, &device.versions, offer)
                        };
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
                            push_bounded(&mut usage.running, named);
                            continue;
                        }
                        let targets = match self.target_in_effect(&collection, &device).await? {
                            Some((Target::CollectionImage(id), _)) => linked.contains(&id),
                            Some((Target::DeviceTypeImage(id), _)) => {
                                images.iter().any(|i| i.id == id)
                            }
                            None => false,
                        };
                        if targets {
                            push_bounded(&mut usage.targeted, named);
                        }
                    }
                }
            }
        }
        usage.more = usage.running.len() > USAGE_SHOWN || usage.targeted.len() > USAGE_SHOWN;
        usage.running.truncate(USAGE_SHOWN);
        usage.targeted.truncate(USAGE_SHOWN);
        Ok(usage)
    }

    /// The ids of a collection's images made from one pool record, a page at a time.
    async fn images_linked_to(
        &self,
        partner: &str,
        collection: &str,
        pool_id: u64,
    ) -> ServiceResult<Vec<u64>> {
        let mut linked = Vec::new();
        let mut pages = walk_pages();
        while let Some(page) = pages.next() {
            let (images, _) = self
                .page_collection_images(partner, collection, &page)
                .await?;
            pages.seen(images.len());
            linked.extend(
                images
                    .iter()
                    .filter(|image| image.pool.is_some_and(|p| p.pool_id == pool_id))
                    .map(|image| image.id),
            );
        }
        Ok(linked)
    }
}

/// Most devices of each kind the record page names.
pub const USAGE_SHOWN: usize = 100;

/// Keeps one device past `USAGE_SHOWN`, so the page can say there are more.
fn push_bounded(list: &mut Vec<DeviceRef>, device: DeviceRef) {
    if list.len() <= USAGE_SHOWN {
        list.push(device);
    }
}

/// Pages of the largest size, from the first until one comes back short.
struct PageWalk {
    next: Option<PageRequest>,
}

fn walk_pages() -> PageWalk {
    PageWalk {
        next: Some(PageRequest {
            size: fwrepo_schemas::MAX_PAGE_SIZE,
            ..PageRequest::default()
        }),
    }
}

impl PageWalk {
    fn next(&mut self) -> Option<PageRequest> {
        self.next.clone()
    }

    /// Records that the page just asked for held `len` entries.
    fn seen(&mut self, len: usize) {
        self.next = match self.next.take() {
            Some(page) if len == page.size as usize => Some(PageRequest {
                page: page.page + 1,
                ..page
            }),
            _ => None,
        };
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
