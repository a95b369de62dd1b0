//! Indexes and counts added after data was written: on open, each one missing from a data
//! directory is built once from the records, and a marker key in the counters CF says so.

use std::collections::HashMap;

use rocksdb::WriteBatch;

use super::counts::ListOf;
use super::keys::*;
use super::{codec, MetaResult, MetaStore};
use crate::domain::{
    BlobRecord, CollectionImageRecord, CollectionRecord, DeviceRecord, ImageRecord, PendingUpload,
    PoolRecordData, TokenRecord,
};

/// Most index puts one backfill batch holds.
const BACKFILL_BATCH: usize = 10_000;

/// A backfill: its marker name and what it builds.
type Backfill = (&'static str, fn(&MetaStore) -> MetaResult<()>);

const BACKFILLS: &[Backfill] = &[
    (CF_POOL_BY_NAME_SEMVER, MetaStore::build_name_semver_index),
    ("list-counts-v1", MetaStore::backfill_list_counts),
    ("sweep-indexes-v1", MetaStore::backfill_sweep_indexes),
    ("running-counts-v1", MetaStore::backfill_running_counts),
    (CF_TAG_TYPE_COUNTS, MetaStore::backfill_tag_type_counts),
];

impl MetaStore {
    /// Builds every index this data directory lacks; called once by `open`.
    pub(super) fn backfill_missing_indexes(&self) -> MetaResult<()> {
        for (name, build) in BACKFILLS {
            if self.exists(CF_COUNTERS, &index_built_marker(name))? {
                continue;
            }
            tracing::info!(
                index = name,
                "building an index missing from this data directory"
            );
            build(self)?;
            let mut batch = WriteBatch::default();
            batch.put_cf(self.cf(CF_COUNTERS), index_built_marker(name), []);
            self.commit_alone(batch)?;
        }
        Ok(())
    }

    /// The expiry indexes of pending uploads and tokens and the unheld-blob index, so the
    /// sweeper finds what an older data directory holds.
    fn backfill_sweep_indexes(&self) -> MetaResult<()> {
        let mut batch = WriteBatch::default();
        for item in self.scan_prefix(CF_PENDING, &[]) {
            let (key, value) = item?;
            let pending: PendingUpload = codec::decode(CF_PENDING, &value)?;
            let index = pending_by_expiry(pending.expires_ms, &key);
            batch.put_cf(self.cf(CF_PENDING_BY_EXPIRY), index, []);
            self.commit_full_batch(&mut batch)?;
        }
        for item in self.scan_prefix(CF_TOKENS, &[]) {
            let (key, value) = item?;
            let token: TokenRecord = codec::decode(CF_TOKENS, &value)?;
            let hash = trailing_session_hash(&key).ok_or(super::MetaError::Corrupt {
                cf: CF_TOKENS,
                reason: "malformed key".into(),
            })?;
            let index = token_by_expiry(token.expires_ms, &hash);
            batch.put_cf(self.cf(CF_TOKENS_BY_EXPIRY), index, []);
            self.commit_full_batch(&mut batch)?;
        }
        for item in self.scan_prefix(CF_BLOBS, &[]) {
            let (key, value) = item?;
            let blob: BlobRecord = codec::decode(CF_BLOBS, &value)?;
            if let (0, Some(sha)) = (blob.refcount, leading_digest(&key)) {
                let index = blob_unheld(blob.last_uploaded_ms(), &sha);
                batch.put_cf(self.cf(CF_BLOBS_UNHELD), index, []);
                self.commit_full_batch(&mut batch)?;
            }
        }
        self.commit_alone(batch)
    }

    /// How many devices of each collection run each image (`ListOf::Running`).
    fn backfill_running_counts(&self) -> MetaResult<()> {
        let mut counts: HashMap<Vec<u8>, u64> = HashMap::new();
        for item in self.scan_prefix(CF_DEVICES, &[]) {
            let device: DeviceRecord = codec::decode(CF_DEVICES, &item?.1)?;
            if let Some(image) = device.current {
                let key = ListOf::Running(&device.collection, image).key(&device.partner);
                *counts.entry(key).or_default() += 1;
            }
        }
        self.put_counts(CF_COUNTERS, counts)
    }

    /// Records per (partner, tag, type), from the records. Counts are set, not added, so a
    /// backfill cut short by a crash is simply run again.
    fn backfill_tag_type_counts(&self) -> MetaResult<()> {
        let mut counts: HashMap<Vec<u8>, u64> = HashMap::new();
        for item in self.scan_prefix(CF_POOL, &[]) {
            let record: PoolRecordData = codec::decode(CF_POOL, &item?.1)?;
            for tag in &record.tags {
                let key = tag_type_count(&record.partner, tag, record.fw_type);
                *counts.entry(key).or_default() += 1;
            }
        }
        self.put_counts(CF_TAG_TYPE_COUNTS, counts)
    }

    /// Writes backfilled counts, a bounded batch at a time.
    fn put_counts(&self, cf: &'static str, counts: HashMap<Vec<u8>, u64>) -> MetaResult<()> {
        let mut batch = WriteBatch::default();
        for (key, count) in counts {
            self.put_u64(&mut batch, cf, &key, count);
            self.commit_full_batch(&mut batch)?;
        }
        self.commit_alone(batch)
    }

    /// Commits `batch` once it holds `BACKFILL_BATCH` entries.
    pub(super) fn commit_full_batch(&self, batch: &mut WriteBatch) -> MetaResult<()> {
        if batch.len() >= BACKFILL_BATCH {
            self.commit_alone(std::mem::take(batch))?;
        }
        Ok(())
    }

    /// The list counts of `counts` and the id-order index of device-type images. Counts are
    /// set, not added, so a backfill cut short by a crash is simply run again.
    fn backfill_list_counts(&self) -> MetaResult<()> {
        let mut counts: HashMap<Vec<u8>, u64> = HashMap::new();
        let mut bump =
            |partner: &str, list: ListOf<'_>| *counts.entry(list.key(partner)).or_default() += 1;
        for item in self.scan_prefix(CF_COLLECTIONS, &[]) {
            let record: CollectionRecord = codec::decode(CF_COLLECTIONS, &item?.1)?;
            bump(&record.partner, ListOf::Collections);
        }
        for item in self.scan_prefix(CF_COLLECTION_IMAGES, &[]) {
            let record: CollectionImageRecord = codec::decode(CF_COLLECTION_IMAGES, &item?.1)?;
            bump(
                &record.partner,
                ListOf::CollectionImages(&record.collection),
            );
        }
        for item in self.scan_prefix(CF_DEVICES, &[]) {
            let record: DeviceRecord = codec::decode(CF_DEVICES, &item?.1)?;
            bump(&record.partner, ListOf::Devices(&record.collection));
        }
        let mut batch = WriteBatch::default();
        for item in self.scan_prefix(CF_IMAGES, &[]) {
            let image: ImageRecord = codec::decode(CF_IMAGES, &item?.1)?;
            let (partner, dt) = (image.partner.as_str(), image.device_type.as_str());
            bump(partner, ListOf::PartnerImages);
            bump(partner, ListOf::DeviceTypeImages(dt, None));
            bump(partner, ListOf::DeviceTypeImages(dt, Some(image.fw_type)));
            for fw_type in [image.fw_type, ALL_TYPES] {
                let key = image_by_device_type_id(partner, dt, fw_type, image.id);
                batch.put_cf(self.cf(CF_IMAGES_BY_DEVICE_TYPE_ID), key, []);
            }
            self.commit_full_batch(&mut batch)?;
        }
        for (key, count) in counts {
            self.put_u64(&mut batch, CF_COUNTERS, &key, count);
        }
        self.commit_alone(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PageRequest;

    /// Forgets what `list-counts-v1` builds, as in a data directory written before it.
    fn forget_list_counts(meta: &MetaStore) {
        let mut batch = WriteBatch::default();
        for cf in [CF_COUNTERS, CF_IMAGES_BY_DEVICE_TYPE_ID] {
            for item in meta.scan_prefix(cf, &[]) {
                let (key, _) = item.unwrap();
                let count = key.starts_with(&Key::new().str("count").build());
                if cf == CF_IMAGES_BY_DEVICE_TYPE_ID || count || key.starts_with(b"index-built") {
                    batch.delete_cf(meta.cf(cf), key);
                }
            }
        }
        meta.commit_alone(batch).unwrap();
    }

    #[test]
    fn an_old_data_directory_gets_its_counts_and_id_index_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let meta = MetaStore::open(&path, false).unwrap();
        let collection = crate::meta::lists::tests::seed(&meta, 3);
        forget_list_counts(&meta);
        let page = PageRequest::default();
        assert_eq!(
            meta.page_devices("acme", &collection, &page).unwrap().total,
            0
        );
        drop(meta);

        let meta = MetaStore::open(&path, false).unwrap();
        let devices = meta.page_devices("acme", &collection, &page).unwrap();
        assert_eq!((devices.total, devices.items.len()), (3, 3));
        assert_eq!(meta.page_collections("acme", &page).unwrap().total, 3);
        let images = meta
            .page_device_type_images("acme", "dt", Some(101), &[], &page)
            .unwrap();
        assert_eq!(
            (images.total, images.items.len()),
            (3, 3),
            "counts and the id index are back"
        );
        assert_eq!(meta.count("acme", ListOf::PartnerImages).unwrap(), 3);
        assert_eq!(
            meta.collection_current("acme", &collection).unwrap(),
            Some(77),
            "the running counts are back"
        );

        // Built once: the marker stops a second build (which would restore the count).
        let mut batch = WriteBatch::default();
        meta.put_u64(
            &mut batch,
            CF_COUNTERS,
            &ListOf::PartnerImages.key("acme"),
            7,
        );
        meta.commit_alone(batch).unwrap();
        drop(meta);
        let meta = MetaStore::open(&path, false).unwrap();
        assert_eq!(meta.count("acme", ListOf::PartnerImages).unwrap(), 7);
    }
}
