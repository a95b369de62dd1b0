//! A partner's trusted keys (by key id) and signing policy (its protected tags).

use rocksdb::WriteBatch;

use super::keys::*;
use super::{MetaError, MetaResult, MetaStore};
use crate::domain::trust::{SigningPolicyRecord, TrustedKeyRecord, MAX_TRUSTED_KEYS};

impl MetaStore {
    /// Adds a trusted key; a key id the partner trusts already is a conflict.
    pub fn add_trusted_key(
        &self,
        partner: &str,
        key_id: &[u8; 8],
        record: &TrustedKeyRecord,
    ) -> MetaResult<()> {
        let guard = self.lock();
        let key = trusted_key(partner, key_id);
        if self.exists(CF_TRUSTED_KEYS, &key)? {
            return Err(MetaError::Conflict(format!(
                "key {} is trusted already",
                record.key_id
            )));
        }
        let count = self
            .scan_prefix(CF_TRUSTED_KEYS, &partner_prefix(partner))
            .count();
        if count >= MAX_TRUSTED_KEYS {
            return Err(MetaError::Conflict(format!(
                "the partner trusts {count} keys, the most allowed"
            )));
        }
        let mut batch = WriteBatch::default();
        self.put(&mut batch, CF_TRUSTED_KEYS, &key, record);
        self.commit(guard, batch)
    }

    pub fn remove_trusted_key(&self, partner: &str, key_id: &[u8; 8]) -> MetaResult<()> {
        let guard = self.lock();
        let key = trusted_key(partner, key_id);
        if !self.exists(CF_TRUSTED_KEYS, &key)? {
            return Err(MetaError::NotFound("trusted key"));
        }
        let mut batch = WriteBatch::default();
        self.delete(&mut batch, CF_TRUSTED_KEYS, &key);
        self.commit(guard, batch)
    }

    pub fn trusted_key(
        &self,
        partner: &str,
        key_id: &[u8; 8],
    ) -> MetaResult<Option<TrustedKeyRecord>> {
        self.get(CF_TRUSTED_KEYS, &trusted_key(partner, key_id))
    }

    /// The partner's trusted keys (at most [`MAX_TRUSTED_KEYS`]), in key-id byte order.
    pub fn trusted_keys(&self, partner: &str) -> MetaResult<Vec<TrustedKeyRecord>> {
        self.scan_values(CF_TRUSTED_KEYS, &partner_prefix(partner))
    }

    /// The partner's signing policy (no protected tags when never set).
    pub fn signing_policy(&self, partner: &str) -> MetaResult<SigningPolicyRecord> {
        Ok(self
            .get(CF_SIGNING_POLICY, &signing_policy_key(partner))?
            .unwrap_or_default())
    }

    pub fn put_signing_policy(
        &self,
        partner: &str,
        policy: &SigningPolicyRecord,
    ) -> MetaResult<()> {
        let mut batch = WriteBatch::default();
        self.put(
            &mut batch,
            CF_SIGNING_POLICY,
            &signing_policy_key(partner),
            policy,
        );
        self.commit_alone(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_store;
    use super::*;

    fn key(id: &str) -> TrustedKeyRecord {
        TrustedKeyRecord {
            key_id: id.into(),
            public_key: "RW".into(),
            description: None,
            created_ms: 1,
        }
    }

    #[test]
    fn keys_are_per_partner_and_unique_by_id() {
        let (_dir, meta) = test_store();
        meta.add_trusted_key("a", &[1; 8], &key("K1")).unwrap();
        assert!(matches!(
            meta.add_trusted_key("a", &[1; 8], &key("K1")),
            Err(MetaError::Conflict(_))
        ));
        meta.add_trusted_key("ab", &[2; 8], &key("K2")).unwrap();
        assert_eq!(meta.trusted_keys("a").unwrap(), vec![key("K1")]);
        assert!(meta.trusted_key("ab", &[1; 8]).unwrap().is_none());
        meta.remove_trusted_key("a", &[1; 8]).unwrap();
        assert!(meta.trusted_keys("a").unwrap().is_empty());
        assert!(matches!(
            meta.remove_trusted_key("a", &[1; 8]),
            Err(MetaError::NotFound(_))
        ));
    }

    #[test]
    fn a_policy_defaults_to_no_protected_tags() {
        let (_dir, meta) = test_store();
        assert!(meta.signing_policy("a").unwrap().protected_tags.is_empty());
        let policy = SigningPolicyRecord {
            protected_tags: vec!["released".into()],
            updated_ms: 5,
        };
        meta.put_signing_policy("a", &policy).unwrap();
        assert_eq!(meta.signing_policy("a").unwrap(), policy);
        assert!(meta.signing_policy("b").unwrap().protected_tags.is_empty());
    }
}
