//! Per-partner counters for the overview (devices, uploaded and stored bytes), kept in the
//! same WriteBatch as the change they count, so reading them never scans anything. The record
//! count is the pool's own: version numbers allocated minus records deleted, per type.

use rocksdb::WriteBatch;

use super::keys::*;
use super::{MetaResult, MetaStore};

/// What a partner's counters count.
#[derive(Debug, Clone, Copy)]
pub enum Stat {
    /// Devices registered (created minus deleted).
    Devices,
    /// Bytes of every upload, re-uploads of the same binary included.
    UploadedBytes,
    /// Bytes of the distinct binaries in the partner's repository.
    StoredBytes,
}

impl Stat {
    fn key_part(self) -> &'static str {
        match self {
            Stat::Devices => "devices",
            Stat::UploadedBytes => "uploaded_bytes",
            Stat::StoredBytes => "stored_bytes",
        }
    }
}

/// A partner's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerStats {
    pub records: u64,
    pub devices: u64,
    pub uploaded_bytes: u64,
    pub stored_bytes: u64,
}

impl MetaStore {
    /// Stages `delta` on a counter; call under the writer lock, commit with the change.
    pub(super) fn stage_stat(
        &self,
        batch: &mut WriteBatch,
        partner: &str,
        stat: Stat,
        delta: i64,
    ) -> MetaResult<()> {
        let key = stats_counter(partner, stat.key_part());
        let current = self.get_u64(CF_COUNTERS, &key)?.unwrap_or(0);
        self.put_u64(
            batch,
            CF_COUNTERS,
            &key,
            current.saturating_add_signed(delta),
        );
        Ok(())
    }

    pub fn partner_stats(&self, partner: &str) -> MetaResult<PartnerStats> {
        let read = |stat: Stat| -> MetaResult<u64> {
            Ok(self
                .get_u64(CF_COUNTERS, &stats_counter(partner, stat.key_part()))?
                .unwrap_or(0))
        };
        Ok(PartnerStats {
            records: self.partner_record_count(partner)?,
            devices: read(Stat::Devices)?,
            uploaded_bytes: read(Stat::UploadedBytes)?,
            stored_bytes: read(Stat::StoredBytes)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_move_with_their_commits() {
        let (_dir, meta) = super::super::test_store();
        let mut batch = WriteBatch::default();
        meta.stage_stat(&mut batch, "acme", Stat::Devices, 2)
            .unwrap();
        meta.commit_alone(batch).unwrap();
        let mut batch = WriteBatch::default();
        meta.stage_stat(&mut batch, "acme", Stat::Devices, -1)
            .unwrap();
        meta.stage_stat(&mut batch, "acme", Stat::StoredBytes, 10)
            .unwrap();
        meta.commit_alone(batch).unwrap();
        let stats = meta.partner_stats("acme").unwrap();
        assert_eq!((stats.devices, stats.stored_bytes), (1, 10));
        assert_eq!(
            meta.partner_stats("other").unwrap(),
            PartnerStats::default()
        );
    }
}
