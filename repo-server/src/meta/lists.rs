//! Pages of the Span lists (a partner's collections, a collection's images and devices) and of
//! device-type images: read off key order (skip, then take one page), records fetched with one
//! `multi_get`, totals from `counts`. No list is loaded whole.

use std::cmp::Ordering;

use rocksdb::Direction;
use serde::de::DeserializeOwned;

use super::counts::ListOf;
use super::keys::*;
use super::pool::{MAX_SORT_WINDOW, RECORD_CHUNK};
use super::{codec, MetaError, MetaResult, MetaStore};
use crate::domain::{
    version_order, CollectionImageRecord, CollectionRecord, DeviceRecord, ImageRecord, PageRequest,
    PoolRecordData, SortDirection, SortField,
};

/// One page of a list and how many entries the list holds in all.
#[derive(Debug)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// A device-type image with the pool record it is made from.
pub type ImageWithPool = (ImageRecord, PoolRecordData);

impl MetaStore {
    /// A page of a partner's collections, in key order.
    pub fn page_collections(
        &self,
        partner: &str,
        page: &PageRequest,
    ) -> MetaResult<ListPage<CollectionRecord>> {
        Ok(ListPage {
            items: self.page_of_values(CF_COLLECTIONS, &collections_of(partner), page)?,
            total: self.count(partner, ListOf::Collections)?,
        })
    }

    /// A page of a collection's images, in id (upload) order.
    pub fn page_collection_images(
        &self,
        partner: &str,
        collection: &str,
        page: &PageRequest,
    ) -> MetaResult<ListPage<CollectionImageRecord>> {
        let prefix = in_collection(partner, collection);
        Ok(ListPage {
            items: self.page_of_values(CF_COLLECTION_IMAGES, &prefix, page)?,
            total: self.count(partner, ListOf::CollectionImages(collection))?,
        })
    }

    /// A page of a collection's devices, in id order.
    pub fn page_devices(
        &self,
        partner: &str,
        collection: &str,
        page: &PageRequest,
    ) -> MetaResult<ListPage<DeviceRecord>> {
        let prefix = in_collection(partner, collection);
        Ok(ListPage {
            items: self.page_of_values(CF_DEVICES, &prefix, page)?,
            total: self.count(partner, ListOf::Devices(collection))?,
        })
    }

    /// The image every device of a collection runs, if they all run the same one: the first
    /// device's image, if as many devices run it as the collection has. Three reads.
    pub fn collection_current(&self, partner: &str, collection: &str) -> MetaResult<Option<u64>> {
        let Some(first) = self
            .scan_prefix(CF_DEVICES, &in_collection(partner, collection))
            .next()
        else {
            return Ok(None);
        };
        let device: DeviceRecord = codec::decode(CF_DEVICES, &first?.1)?;
        let Some(image) = device.current else {
            return Ok(None);
        };
        let running = self.count(partner, ListOf::Running(collection, image))?;
        let devices = self.count(partner, ListOf::Devices(collection))?;
        Ok((running == devices).then_some(image))
    }

    /// A page of every device-type image of a partner with its pool record, in (device type,
    /// type, versionNumber) order.
    pub fn page_partner_images(
        &self,
        partner: &str,
        page: &PageRequest,
    ) -> MetaResult<ListPage<ImageWithPool>> {
        let ids = self.page_of_index(
            CF_IMAGES_BY_DEVICE_TYPE,
            &partner_prefix(partner),
            true,
            Direction::Forward,
            page,
        )?;
        Ok(ListPage {
            items: self.images_with_pools(&ids)?,
            total: self.count(partner, ListOf::PartnerImages)?,
        })
    }

    /// A page of a device type's images (optionally of one type) carrying every tag of
    /// `tags`, sorted as `page` asks. Without tags, a sort by id, creation or versionNumber
    /// reads only the page off an index; otherwise the images are walked a chunk at a time
    /// and at most the best `page × size + size` (up to `MAX_SORT_WINDOW`) are kept.
    pub fn page_device_type_images(
        &self,
        partner: &str,
        device_type: &str,
        fw_type: Option<u16>,
        tags: &[String],
        page: &PageRequest,
    ) -> MetaResult<ListPage<ImageWithPool>> {
        let id_prefix = device_type_id_prefix(partner, device_type, fw_type.unwrap_or(ALL_TYPES));
        let direction = match page.direction {
            SortDirection::Asc => Direction::Forward,
            SortDirection::Desc => Direction::Reverse,
        };
        if tags.is_empty() {
            let ids = match page.sort {
                SortField::Id | SortField::CreatedTimestamp => Some(self.page_of_index(
                    CF_IMAGES_BY_DEVICE_TYPE_ID,
                    &id_prefix,
                    false,
                    direction,
                    page,
                )?),
                SortField::VersionNumber => {
                    let prefix = device_type_prefix(partner, device_type, fw_type);
                    Some(self.page_of_index(
                        CF_IMAGES_BY_DEVICE_TYPE,
                        &prefix,
                        true,
                        direction,
                        page,
                    )?)
                }
                _ => None,
            };
            if let Some(ids) = ids {
                return Ok(ListPage {
                    items: self.images_with_pools(&ids)?,
                    total: self.count(partner, ListOf::DeviceTypeImages(device_type, fw_type))?,
                });
            }
        }
        self.page_images_by_record_sort(&id_prefix, tags, page)
    }

    /// Tag filters and sorts by a pool field: walks the device type's images in id order a
    /// chunk at a time, keeping a bounded window of the best.
    fn page_images_by_record_sort(
        &self,
        id_prefix: &[u8],
        tags: &[String],
        page: &PageRequest,
    ) -> MetaResult<ListPage<ImageWithPool>> {
        let keep = page.page as usize * page.size as usize + page.size as usize;
        if keep > MAX_SORT_WINDOW {
            return Err(MetaError::Invalid(format!(
                "pages beyond the first {MAX_SORT_WINDOW} images of a tag filter or a sort by {} are not served: sort by id, createdTimestamp or versionNumber without tags",
                page.sort.as_str()
            )));
        }
        let order = |a: &ImageWithPool, b: &ImageWithPool| image_order(a, b, page);
        let (mut best, mut total) = (Vec::new(), 0u64);
        let mut ids = self
            .scan_prefix(CF_IMAGES_BY_DEVICE_TYPE_ID, id_prefix)
            .map(|item| item.map(|(key, _)| trailing_u64(&key)));
        loop {
            let chunk = ids
                .by_ref()
                .take(RECORD_CHUNK)
                .collect::<MetaResult<Vec<u64>>>()?;
            for view in self.images_with_pools(&chunk)? {
                if tags.iter().all(|t| view.1.tags.contains(t)) {
                    total += 1;
                    best.push(view);
                }
            }
            if best.len() > 2 * keep + RECORD_CHUNK {
                best.sort_by(order);
                best.truncate(keep);
            }
            if chunk.len() < RECORD_CHUNK {
                break;
            }
        }
        best.sort_by(order);
        best.truncate(keep);
        let window = page.window(best.len());
        Ok(ListPage {
            items: best.drain(window).collect(),
            total,
        })
    }

    /// The values of one page of the entries under `prefix`, in key order.
    fn page_of_values<T: DeserializeOwned>(
        &self,
        cf: &'static str,
        prefix: &[u8],
        page: &PageRequest,
    ) -> MetaResult<Vec<T>> {
        let (skip, take) = page_bounds(page);
        self.scan_prefix(cf, prefix)
            .skip(skip)
            .take(take)
            .map(|item| item.and_then(|(_, value)| codec::decode(cf, &value)))
            .collect()
    }

    /// The ids of one page of an index (in its values or at the end of its keys).
    fn page_of_index(
        &self,
        cf: &'static str,
        prefix: &[u8],
        ids_in_values: bool,
        direction: Direction,
        page: &PageRequest,
    ) -> MetaResult<Vec<u64>> {
        let (skip, take) = page_bounds(page);
        self.scan_prefix_directed(cf, prefix, direction)
            .skip(skip)
            .take(take)
            .map(|item| {
                let (key, value) = item?;
                if ids_in_values {
                    codec::decode_u64(cf, &value)
                } else {
                    Ok(trailing_u64(&key))
                }
            })
            .collect()
    }

    /// Images by id with their pool records: two `multi_get`s.
    fn images_with_pools(&self, ids: &[u64]) -> MetaResult<Vec<ImageWithPool>> {
        let images: Vec<ImageRecord> =
            self.get_many(CF_IMAGES, ids.iter().map(|id| image_key(*id)))?;
        let pools = self.load_records(&images.iter().map(|i| i.pool_id).collect::<Vec<_>>())?;
        Ok(images.into_iter().zip(pools).collect())
    }
}

/// How many entries a page skips and takes (never more than one page, whatever the counts say).
fn page_bounds(page: &PageRequest) -> (usize, usize) {
    let skip = (page.page as usize).saturating_mul(page.size as usize);
    (skip, page.size as usize)
}

/// The order of a device-type image list sorted by `page.sort` (ties by image id).
fn image_order((ia, pa): &ImageWithPool, (ib, pb): &ImageWithPool, page: &PageRequest) -> Ordering {
    let order = match page.sort {
        SortField::Id | SortField::CreatedTimestamp => ia.id.cmp(&ib.id),
        SortField::UpdatedTimestamp => ia.updated_ms.cmp(&ib.updated_ms),
        SortField::VersionNumber => {
            (ia.fw_type, ia.version_number).cmp(&(ib.fw_type, ib.version_number))
        }
        SortField::Name => pa.name.cmp(&pb.name),
        SortField::Version => version_order(
            (&pa.version, pa.version_number),
            (&pb.version, pb.version_number),
        ),
        SortField::Description => pa.description.cmp(&pb.description),
        SortField::Type => ia.fw_type.cmp(&ib.fw_type),
    }
    .then(ia.id.cmp(&ib.id));
    match page.direction {
        SortDirection::Asc => order,
        SortDirection::Desc => order.reverse(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::test_store;
    use super::*;
    use crate::domain::{Management, PoolRecordFields, Sha256Digest};
    use rocksdb::perf::{set_perf_stats, PerfContext, PerfMetric, PerfStatsLevel};

    /// Seeds `meta` with `n` devices in a new collection, `n` device-type images of device
    /// type "dt" (one pool record each) and `n` collections in all, of partner "acme";
    /// answers the devices' collection.
    pub(in crate::meta) fn seed(meta: &MetaStore, n: usize) -> String {
        let sha = Sha256Digest([7; 32]);
        meta.add_pending("acme", &sha, 10, "b3", 1, u64::MAX)
            .unwrap();
        meta.move_to_repository("acme", &sha, 2).unwrap();
        let new_collection = || {
            meta.create_collection("acme", Management::Device, Default::default(), 1)
                .unwrap()
                .id
        };
        let collection = new_collection();
        for i in 0..n {
            let id = Some(format!("dev{i:06}"));
            // Every device runs image 77: whether all run one image is a question of counts.
            meta.create_device::<MetaError>("acme", &collection, id, 1, |_, device| {
                device.current = Some(77);
                Ok(())
            })
            .unwrap();
            let fields = PoolRecordFields {
                fw_type: 101,
                name: "fw".into(),
                description: None,
                version: format!("1.0.{i}"),
                url: "u".into(),
                tags: vec!["main".into()],
                sha256: sha,
            };
            meta.create_pool_record_with_images("acme", fields, &["dt".into()], 1)
                .unwrap();
            if i + 1 < n {
                new_collection();
            }
        }
        collection
    }

    fn store_with(n: usize) -> (tempfile::TempDir, MetaStore, String) {
        let (dir, meta) = test_store();
        let collection = seed(&meta, n);
        (dir, meta, collection)
    }

    fn page(page: u32, size: u32, sort: &str) -> PageRequest {
        PageRequest::parse(Some(&page.to_string()), Some(&size.to_string()), Some(sort)).unwrap()
    }

    /// What `f` cost RocksDB on this thread: (bytes read by gets, multi-gets and iterators,
    /// from memtable or files; lookups, seeks and steps in the memtable plus blocks read).
    pub(crate) fn cost<T>(f: impl FnOnce() -> T) -> ((u64, u64), T) {
        let (steps, (read, blocks, out)) = crate::meta::pool::tests::work_done(|| {
            set_perf_stats(PerfStatsLevel::EnableCount);
            let mut context = PerfContext::default();
            context.reset();
            let out = f();
            let read = context.metric(PerfMetric::GetReadBytes)
                + context.metric(PerfMetric::MultigetReadBytes)
                + context.metric(PerfMetric::IterReadBytes);
            (read, context.metric(PerfMetric::BlockReadCount), out)
        });
        ((read, steps + blocks), out)
    }

    type Pages = Vec<(u64, Vec<String>)>;

    /// The pages every list answers, and what reading them cost.
    fn pages_of(meta: &MetaStore, collection: &str) -> ((u64, u64), Pages) {
        cost(|| {
            let devices = meta
                .page_devices("acme", collection, &page(1, 50, "id,asc"))
                .unwrap();
            let collections = meta
                .page_collections("acme", &page(0, 50, "id,asc"))
                .unwrap();
            let images = |p: PageRequest, fw_type: Option<u16>| {
                let found = meta
                    .page_device_type_images("acme", "dt", fw_type, &[], &p)
                    .unwrap();
                let ids = found
                    .items
                    .iter()
                    .map(|(i, p)| format!("{}:{}", i.id, p.version));
                (found.total, ids.collect())
            };
            let partner = meta
                .page_partner_images("acme", &page(0, 50, "id,asc"))
                .unwrap();
            let current = meta.collection_current("acme", collection).unwrap();
            vec![
                (
                    devices.total,
                    devices.items.iter().map(|d| d.id.clone()).collect(),
                ),
                (
                    collections.total,
                    collections.items.iter().map(|c| c.id.clone()).collect(),
                ),
                images(page(0, 50, "id,desc"), None),
                images(page(0, 50, "versionNumber,desc"), Some(101)),
                images(page(1, 50, "createdTimestamp,asc"), None),
                (
                    partner.total,
                    partner
                        .items
                        .iter()
                        .map(|(i, _)| i.id.to_string())
                        .collect(),
                ),
                (0, vec![format!("{current:?}")]),
            ]
        })
    }

    #[test]
    fn a_page_of_100_000_costs_a_page() {
        let (_few_dir, few, collection) = store_with(200);
        let ((few_bytes, few_steps), few_pages) = pages_of(&few, &collection);
        assert_eq!(few_pages[0].0, 200);
        assert_eq!(
            few_pages[0].1[0], "dev000050",
            "page 1 of 50 starts at the 51st device"
        );
        assert_eq!(few_pages[1].0, 200, "collections");
        assert_eq!(few_pages[2].0, 200);
        assert!(
            few_pages[2].1[0].ends_with(":1.0.199"),
            "{:?}",
            few_pages[2].1[0]
        );
        assert!(
            few_pages[3].1[0].ends_with(":1.0.199"),
            "{:?}",
            few_pages[3].1[0]
        );
        assert!(
            few_pages[4].1[0].ends_with(":1.0.50"),
            "{:?}",
            few_pages[4].1[0]
        );
        assert_eq!(few_pages[5].0, 200, "partner images");
        assert!(few_pages[..6].iter().all(|(_, items)| items.len() == 50));
        assert_eq!(few_pages[6].1, ["Some(77)"], "every device runs image 77");

        let (_many_dir, many, collection) = store_with(100_000);
        let ((many_bytes, many_steps), many_pages) = pages_of(&many, &collection);
        let totals: Vec<u64> = many_pages.iter().map(|(total, _)| *total).collect();
        assert_eq!(totals[..6], [100_000; 6]);
        assert_eq!(many_pages[6].1, ["Some(77)"]);
        assert!(many_pages[2].1[0].ends_with(":1.0.99999"));
        assert!(many_pages[..6].iter().all(|(_, items)| items.len() == 50));
        eprintln!(
            "the same six pages: {few_bytes} bytes read, {few_steps} steps of 200 entries per list; {many_bytes} bytes, {many_steps} steps of 100,000"
        );
        assert!(
            many_steps <= few_steps * 2,
            "the same pages took {many_steps} steps of 100,000 entries per list, {few_steps} of 200"
        );
        assert!(
            many_bytes <= few_bytes * 3 / 2,
            "the same pages read {many_bytes} bytes of 100,000 entries per list, {few_bytes} of 200"
        );
    }
}
