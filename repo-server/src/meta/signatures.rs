//! Detached signatures and provenance of a partner's blobs: one signature per key id per
//! digest, one provenance per digest. Written only while the partner holds the blob.

use rocksdb::WriteBatch;

use super::keys::*;
use super::{MetaError, MetaResult, MetaStore};
use crate::domain::trust::{ProvenanceRecord, SignatureRecord, MAX_SIGNATURES_PER_DIGEST};
use crate::domain::Sha256Digest;

/// What storing a signature did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureStored {
    Created,
    /// The digest had a signature by that key already; it was replaced.
    Replaced,
}

impl MetaStore {
    /// Stores `record` as the signature of `sha256` by its key id, replacing one by the same
    /// key. The partner must hold the blob in its repository (checked under the lock).
    pub fn put_signature(
        &self,
        partner: &str,
        sha256: &Sha256Digest,
        key_id: &[u8; 8],
        record: &SignatureRecord,
    ) -> MetaResult<SignatureStored> {
        let guard = self.lock();
        self.require_repository_entry(partner, sha256)?;
        let key = signature_key(partner, sha256, key_id);
        let outcome = if self.exists(CF_SIGNATURES, &key)? {
            SignatureStored::Replaced
        } else {
            let count = self
                .scan_prefix(CF_SIGNATURES, &digest_signatures(partner, sha256))
                .count();
            if count >= MAX_SIGNATURES_PER_DIGEST {
                return Err(MetaError::Conflict(format!(
                    "binary {sha256} has {count} signatures already, the most kept per binary"
                )));
            }
            SignatureStored::Created
        };
        let mut batch = WriteBatch::default();
        self.put(&mut batch, CF_SIGNATURES, &key, record);
        self.commit(guard, batch)?;
        Ok(outcome)
    }

    /// Records that the stored signature `signature` (unchanged since it was read) verified
    /// against `verified_key`.
    pub fn mark_signature_verified(
        &self,
        partner: &str,
        sha256: &Sha256Digest,
        key_id: &[u8; 8],
        signature: &str,
        verified_key: &str,
        now_ms: u64,
    ) -> MetaResult<()> {
        let guard = self.lock();
        let key = signature_key(partner, sha256, key_id);
        let Some(mut record) = self.get::<SignatureRecord>(CF_SIGNATURES, &key)? else {
            return Ok(());
        };
        if record.signature != signature {
            return Ok(());
        }
        record.verified_key = Some(verified_key.to_string());
        record.verified_ms = Some(now_ms);
        let mut batch = WriteBatch::default();
        self.put(&mut batch, CF_SIGNATURES, &key, &record);
        self.commit(guard, batch)
    }

    /// Every signature of a partner's blob, in key-id byte order.
    pub fn signatures(
        &self,
        partner: &str,
        sha256: &Sha256Digest,
    ) -> MetaResult<Vec<SignatureRecord>> {
        self.scan_values(CF_SIGNATURES, &digest_signatures(partner, sha256))
    }

    pub fn signature(
        &self,
        partner: &str,
        sha256: &Sha256Digest,
        key_id: &[u8; 8],
    ) -> MetaResult<Option<SignatureRecord>> {
        self.get(CF_SIGNATURES, &signature_key(partner, sha256, key_id))
    }

    /// Stores (or replaces) the provenance of a blob the partner holds.
    pub fn put_provenance(
        &self,
        partner: &str,
        sha256: &Sha256Digest,
        record: &ProvenanceRecord,
    ) -> MetaResult<bool> {
        let guard = self.lock();
        self.require_repository_entry(partner, sha256)?;
        let key = provenance_key(partner, sha256);
        let created = !self.exists(CF_PROVENANCE, &key)?;
        let mut batch = WriteBatch::default();
        self.put(&mut batch, CF_PROVENANCE, &key, record);
        self.commit(guard, batch)?;
        Ok(created)
    }

    pub fn provenance(
        &self,
        partner: &str,
        sha256: &Sha256Digest,
    ) -> MetaResult<Option<ProvenanceRecord>> {
        self.get(CF_PROVENANCE, &provenance_key(partner, sha256))
    }

    /// Stages the removal of the blob's signatures and provenance, in the batch that drops
    /// the partner's repository entry: they attest to a binary the partner no longer holds.
    pub(super) fn stage_attestations_removal(
        &self,
        batch: &mut WriteBatch,
        partner: &str,
        sha256: &Sha256Digest,
    ) -> MetaResult<()> {
        let signatures: Vec<Box<[u8]>> = self
            .scan_prefix(CF_SIGNATURES, &digest_signatures(partner, sha256))
            .map(|item| item.map(|(key, _)| key))
            .collect::<MetaResult<_>>()?;
        for key in signatures {
            self.delete(batch, CF_SIGNATURES, &key);
        }
        self.delete(batch, CF_PROVENANCE, &provenance_key(partner, sha256));
        Ok(())
    }

    fn require_repository_entry(&self, partner: &str, sha256: &Sha256Digest) -> MetaResult<()> {
        if self.exists(CF_REPOSITORY, &repository_key(partner, sha256))? {
            Ok(())
        } else {
            Err(MetaError::NotFound("binary"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_store;
    use super::*;

    fn record(key_id: &str, text: &str) -> SignatureRecord {
        SignatureRecord {
            key_id: key_id.into(),
            signature: text.into(),
            trusted_comment: String::new(),
            created_ms: 1,
            verified_key: None,
            verified_ms: None,
        }
    }

    fn held_blob(meta: &MetaStore, partner: &str, byte: u8) -> Sha256Digest {
        let sha = Sha256Digest([byte; 32]);
        meta.add_pending(partner, &sha, 3, "b3", 1, 100).unwrap();
        meta.move_to_repository(partner, &sha, 2).unwrap();
        sha
    }

    #[test]
    fn one_signature_per_key_and_only_on_held_blobs() {
        let (_dir, meta) = test_store();
        let sha = held_blob(&meta, "a", 1);
        assert_eq!(
            meta.put_signature("a", &sha, &[1; 8], &record("K1", "s1"))
                .unwrap(),
            SignatureStored::Created
        );
        assert_eq!(
            meta.put_signature("a", &sha, &[1; 8], &record("K1", "s2"))
                .unwrap(),
            SignatureStored::Replaced
        );
        meta.put_signature("a", &sha, &[2; 8], &record("K2", "s3"))
            .unwrap();
        let texts: Vec<String> = meta
            .signatures("a", &sha)
            .unwrap()
            .into_iter()
            .map(|r| r.signature)
            .collect();
        assert_eq!(texts, ["s2", "s3"]);
        assert!(matches!(
            meta.put_signature("b", &sha, &[1; 8], &record("K1", "s1")),
            Err(MetaError::NotFound(_))
        ));
        assert!(meta.signatures("b", &sha).unwrap().is_empty());
    }

    #[test]
    fn deleting_the_last_record_of_a_blob_drops_its_attestations() {
        let (_dir, meta) = test_store();
        let sha = held_blob(&meta, "a", 1);
        let other = held_blob(&meta, "a", 2);
        for digest in [&sha, &other] {
            meta.put_signature("a", digest, &[1; 8], &record("K1", "s1"))
                .unwrap();
        }
        let provenance = ProvenanceRecord {
            statement: "{}".into(),
            signature: "sig".into(),
            key_id: "K1".into(),
            build_type: "b".into(),
            builder_id: "c".into(),
            created_ms: 1,
            verified_key: None,
            verified_ms: None,
        };
        meta.put_provenance("a", &sha, &provenance).unwrap();
        meta.create_type("a", 101, "fw", None, 1).unwrap();
        let fields = crate::domain::PoolRecordFields {
            fw_type: 101,
            name: "fw".into(),
            description: None,
            version: "1.0.0".into(),
            url: "u".into(),
            tags: vec![],
            sha256: sha,
        };
        let created = meta.create_pool_record("a", fields, 1).unwrap();
        meta.delete_pool_record("a", 101, created.version_number)
            .unwrap();
        assert!(meta.signatures("a", &sha).unwrap().is_empty());
        assert!(meta.provenance("a", &sha).unwrap().is_none());
        assert_eq!(
            meta.signatures("a", &other).unwrap().len(),
            1,
            "others stay"
        );
    }

    #[test]
    fn signatures_per_digest_are_bounded() {
        let (_dir, meta) = test_store();
        let sha = held_blob(&meta, "a", 1);
        for n in 0..MAX_SIGNATURES_PER_DIGEST as u8 {
            meta.put_signature("a", &sha, &[n; 8], &record("K", "s"))
                .unwrap();
        }
        assert!(matches!(
            meta.put_signature("a", &sha, &[200; 8], &record("K", "s")),
            Err(MetaError::Conflict(_))
        ));
    }
}
