//! What uses pool records or a collection image: every stored reference that would dangle or
//! that a device depends on. Read under the writer lock by the deletes that it refuses.

use std::collections::{BTreeMap, HashMap};

use super::keys::*;
use super::{MetaResult, MetaStore};
use crate::domain::ddi::{ActionImageKind, ActionRecord};
use crate::domain::usage::{InUse, RecordUse, UseKind};
use crate::domain::{
    runs, CollectionImageRecord, CollectionRecord, DeviceRecord, Offer, PoolRecordData, PushRecord,
};

/// Images made from the records being checked, by image id → the record's id.
#[derive(Default)]
struct Derived {
    afero: HashMap<u64, u64>,
    collection: HashMap<u64, u64>,
}

impl MetaStore {
    /// The uses of each of `records` (all of `partner`), keyed by record id; an unused
    /// record has no entry. One pass over the partner's collections, pushes, devices and
    /// open DDI actions, whatever the number of records.
    pub(super) fn pool_record_uses(
        &self,
        partner: &str,
        records: &[PoolRecordData],
    ) -> MetaResult<BTreeMap<u64, InUse>> {
        let mut uses = BTreeMap::<u64, InUse>::new();
        let mut add = |record: u64, found: RecordUse| uses.entry(record).or_default().add(found);
        let mut derived = Derived::default();
        for record in records {
            for image in self.images_of_pool_record(record.id)? {
                derived.afero.insert(image.id, record.id);
                let found = RecordUse::new(
                    UseKind::DeviceTypeAssociation,
                    image.id,
                    Some(&image.device_type),
                );
                add(record.id, found);
            }
        }
        let collections: Vec<CollectionRecord> =
            self.scan_values(CF_COLLECTIONS, &partner_prefix(partner))?;
        for collection in &collections {
            for record in records {
                if let Some(image) = self.linked_image(partner, &collection.id, record)? {
                    derived.collection.insert(image.id, record.id);
                    let found =
                        RecordUse::new(UseKind::CollectionImage, image.id, Some(&collection.id));
                    add(record.id, found);
                    if collection.target == Some(image.id) {
                        add(
                            record.id,
                            RecordUse::new(UseKind::CollectionTarget, &collection.id, None),
                        );
                    }
                }
            }
        }
        if !derived.afero.is_empty() {
            for item in self.scan_prefix(CF_PUSHES, &partner_prefix(partner)) {
                let (key, value) = item?;
                let push: PushRecord = super::codec::decode(CF_PUSHES, &value)?;
                if let Some(record) = derived.afero.get(&push.image_id) {
                    let device = last_key_part(&key);
                    add(*record, RecordUse::new(UseKind::Push, device, None));
                }
            }
        }
        let by_version: HashMap<(u16, u64), u64> = records
            .iter()
            .map(|r| ((r.fw_type, r.version_number), r.id))
            .collect();
        for item in self.scan_prefix(CF_DEVICES, &partner_prefix(partner)) {
            let (_, value) = item?;
            let device: DeviceRecord = super::codec::decode(CF_DEVICES, &value)?;
            let scope = Some(device.collection.as_str());
            let reported = device
                .versions
                .iter()
                .filter_map(|(t, vn)| by_version.get(&(*t, *vn)));
            let current = device.current.and_then(|id| derived.collection.get(&id));
            for record in reported.chain(current) {
                add(
                    *record,
                    RecordUse::new(UseKind::DeviceCurrent, &device.id, scope),
                );
            }
            if let Some(record) = device.target.and_then(|id| derived.collection.get(&id)) {
                add(
                    *record,
                    RecordUse::new(UseKind::DeviceTarget, &device.id, scope),
                );
            }
        }
        for action in self.open_actions_of(partner)? {
            let image = &action.image;
            let record = match image.kind {
                ActionImageKind::Collection => derived.collection.get(&image.id),
                _ => derived.afero.get(&image.id),
            }
            .copied()
            .or_else(|| {
                image
                    .pool
                    .map(|p| p.pool_id)
                    .filter(|id| records.iter().any(|r| r.id == *id))
            });
            if let Some(record) = record {
                let found =
                    RecordUse::new(UseKind::DdiAction, action.id, Some(action.device.as_str()));
                add(record, found);
            }
        }
        Ok(uses)
    }

    /// The uses of one collection image: the collection's target, its devices' targets and
    /// what they run, its devices' open DDI actions.
    pub(super) fn collection_image_uses(
        &self,
        collection: &CollectionRecord,
        image: &CollectionImageRecord,
        devices: &[DeviceRecord],
    ) -> MetaResult<InUse> {
        let mut uses = InUse::default();
        if collection.target == Some(image.id) {
            uses.add(RecordUse::new(
                UseKind::CollectionTarget,
                &collection.id,
                None,
            ));
        }
        let offer = Offer::CollectionImage {
            id: image.id,
            pool: image.pool,
        };
        let scope = Some(collection.id.as_str());
        for device in devices {
            if device.target == Some(image.id) {
                uses.add(RecordUse::new(UseKind::DeviceTarget, &device.id, scope));
            }
            if runs(device.current, &device.versions, &offer) {
                uses.add(RecordUse::new(UseKind::DeviceCurrent, &device.id, scope));
            }
            let action = self.open_action(&collection.partner, &device.id)?;
            if let Some(action) = action
                .filter(|a| a.image.kind == ActionImageKind::Collection && a.image.id == image.id)
            {
                let found = RecordUse::new(UseKind::DdiAction, action.id, Some(&device.id));
                uses.add(found);
            }
        }
        Ok(uses)
    }

    /// The collection's image linked to `record`, found by the record's digest (one image
    /// per digest in a collection).
    fn linked_image(
        &self,
        partner: &str,
        collection: &str,
        record: &PoolRecordData,
    ) -> MetaResult<Option<CollectionImageRecord>> {
        let by_sha = collection_image_by_sha(partner, collection, &record.sha256);
        let Some(id) = self.get_u64(CF_COLLECTION_IMAGES_BY_SHA, &by_sha)? else {
            return Ok(None);
        };
        Ok(self
            .collection_image(partner, collection, id)?
            .filter(|image| image.pool.is_some_and(|p| p.pool_id == record.id)))
    }

    /// Every open DDI action of the partner's devices.
    fn open_actions_of(&self, partner: &str) -> MetaResult<Vec<ActionRecord>> {
        let mut actions = Vec::new();
        for item in self.scan_prefix(CF_DDI_OPEN_ACTIONS, &partner_prefix(partner)) {
            let (key, value) = item?;
            let id = super::codec::decode_u64(CF_DDI_OPEN_ACTIONS, &value)?;
            let device = last_key_part(&key);
            actions.extend(self.action(partner, &device, id)?);
        }
        Ok(actions)
    }
}

/// The last NUL-terminated string of a key (a device id after the partner).
fn last_key_part(key: &[u8]) -> String {
    let body = key.strip_suffix(&[0]).unwrap_or(key);
    let start = body.iter().rposition(|b| *b == 0).map_or(0, |i| i + 1);
    String::from_utf8_lossy(&body[start..]).into_owned()
}
