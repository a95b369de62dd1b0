//! How many entries each pageable list holds (a partner's collections, a collection's images
//! and devices, a device type's images), kept in the counters CF in the same WriteBatch as
//! the entries, so a page's total costs one read instead of a walk of the list.

use rocksdb::WriteBatch;

use super::keys::*;
use super::{count_underflow, MetaResult, MetaStore};

/// A pageable list whose length is counted.
#[derive(Debug, Clone, Copy)]
pub enum ListOf<'a> {
    /// A partner's collections.
    Collections,
    /// One collection's images.
    CollectionImages(&'a str),
    /// One collection's devices.
    Devices(&'a str),
    /// One device type's images, of one type or (`None`) of all.
    DeviceTypeImages(&'a str, Option<u16>),
    /// Every device-type image of the partner.
    PartnerImages,
    /// The devices of a collection that run one image (whose `current` it is).
    Running(&'a str, u64),
}

impl ListOf<'_> {
    pub(super) fn key(self, partner: &str) -> Vec<u8> {
        match self {
            ListOf::Collections => list_count("collections", partner, "", ALL_TYPES),
            ListOf::CollectionImages(c) => list_count("collection_images", partner, c, ALL_TYPES),
            ListOf::Devices(c) => list_count("devices", partner, c, ALL_TYPES),
            ListOf::DeviceTypeImages(dt, t) => {
                list_count("device_type_images", partner, dt, t.unwrap_or(ALL_TYPES))
            }
            ListOf::PartnerImages => list_count("partner_images", partner, "", ALL_TYPES),
            ListOf::Running(c, image) => running_count(partner, c, image),
        }
    }
}

/// What a count that reaches zero becomes: kept (a list's count, read as the list's size) or
/// deleted (a tag's count, whose keys name the tags in use).
#[derive(Clone, Copy)]
pub(super) enum AtZero {
    Keep,
    Delete,
}

impl MetaStore {
    /// Stages `delta` on a list's count; call under the writer lock and commit with the
    /// change it counts. A count that would go below zero refuses the commit.
    pub(super) fn stage_count(
        &self,
        batch: &mut WriteBatch,
        partner: &str,
        list: ListOf<'_>,
        delta: i64,
    ) -> MetaResult<()> {
        let key = list.key(partner);
        let what = || format!("{list:?}");
        self.stage_delta(batch, CF_COUNTERS, &key, delta, what, AtZero::Keep)
    }

    /// Adds `delta` to the count at `key` of `cf`: going below zero is corruption, and refuses
    /// the commit (`what` names the count in that error; built only then).
    pub(super) fn stage_delta(
        &self,
        batch: &mut WriteBatch,
        cf: &'static str,
        key: &[u8],
        delta: i64,
        what: impl FnOnce() -> String,
        at_zero: AtZero,
    ) -> MetaResult<()> {
        let current = self.get_u64(cf, key)?.unwrap_or(0);
        let next = current
            .checked_add_signed(delta)
            .ok_or_else(|| count_underflow(cf, &what(), current, delta))?;
        match (next, at_zero) {
            (0, AtZero::Delete) => self.delete(batch, cf, key),
            _ => self.put_u64(batch, cf, key, next),
        }
        Ok(())
    }

    /// Stages a device's running image changing from `before` to `after` in its collection's
    /// per-image counts (which tell, without a walk, whether every device runs one image).
    pub(super) fn stage_running(
        &self,
        batch: &mut WriteBatch,
        partner: &str,
        collection: &str,
        before: Option<u64>,
        after: Option<u64>,
    ) -> MetaResult<()> {
        if before == after {
            return Ok(());
        }
        if let Some(image) = before {
            self.stage_count(batch, partner, ListOf::Running(collection, image), -1)?;
        }
        if let Some(image) = after {
            self.stage_count(batch, partner, ListOf::Running(collection, image), 1)?;
        }
        Ok(())
    }

    /// How many entries a list holds.
    pub fn count(&self, partner: &str, list: ListOf<'_>) -> MetaResult<u64> {
        Ok(self.get_u64(CF_COUNTERS, &list.key(partner))?.unwrap_or(0))
    }
}
