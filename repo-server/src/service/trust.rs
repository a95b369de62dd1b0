//! Signatures, provenance, trusted keys and the protected-tag policy. A signature by a key
//! the partner trusts is verified against the blob (streamed from the store on the blocking
//! pool) before it is stored; records carrying a protected tag need one such signature.

use std::io::{Read, Seek, SeekFrom};

use super::{Service, ServiceError, ServiceResult};
use crate::domain::trust::{
    check_statement, parse_public_key, parse_signature, KeyId, ParsedSignature, ProvenanceRecord,
    SignatureRecord, SigningPolicyRecord, TrustedKeyRecord, MAX_PROTECTED_TAGS,
};
use crate::domain::{normalize_tags, ConflictKind, DomainError, PoolRecordFields, Sha256Digest};
use crate::meta::now_ms;
use crate::meta::signatures::SignatureStored;

/// A stored signature and whether it was verified by a key the partner trusts now.
pub struct SignatureView {
    pub record: SignatureRecord,
    pub trusted: bool,
}

/// A stored provenance and whether its signature was verified by a key trusted now.
pub struct ProvenanceView {
    pub record: ProvenanceRecord,
    pub trusted: bool,
}

/// `minisign::verify` wants `Seek` only to echo the data (which we never ask for); the blob
/// stream cannot seek, so this says so if it ever were asked.
struct Unseekable<R>(R);

impl<R: Read> Read for Unseekable<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R> Seek for Unseekable<R> {
    fn seek(&mut self, _: SeekFrom) -> std::io::Result<u64> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "a blob stream cannot seek",
        ))
    }
}

/// Checks `signature` over `data` with `key` (base64); `Ok(false)` when it does not verify.
fn verifies(key: &str, signature: &ParsedSignature, data: impl Read) -> ServiceResult<bool> {
    let key = parse_public_key(key)
        .map_err(|e| ServiceError::Internal(format!("stored trusted key: {e}").into()))?;
    match minisign::verify(
        &key.key,
        &signature.signature,
        Unseekable(data),
        true,
        false,
        false,
    ) {
        Ok(()) => Ok(true),
        Err(e) if matches!(e.kind(), minisign::ErrorKind::Verify) => Ok(false),
        Err(e) => Err(ServiceError::Internal(Box::new(e))),
    }
}

/// Whether a stored signature counts: verified against the key trusted now under its id.
fn verified_by_trusted(
    verified_key: Option<&str>,
    key_id: &str,
    keys: &[TrustedKeyRecord],
) -> bool {
    keys.iter()
        .any(|k| k.key_id == key_id && verified_key == Some(k.public_key.as_str()))
}

impl Service {
    /// The partner's repository entry for `sha256`; another partner's blob is "not found".
    async fn held_length(&self, partner: &str, sha256: Sha256Digest) -> ServiceResult<u64> {
        let owner = partner.to_string();
        self.meta_read(move |m| m.repository_entry(&owner, &sha256))
            .await?
            .map(|entry| entry.length)
            .ok_or(ServiceError::NotFound("binary"))
    }

    async fn trusted_key_of(
        &self,
        partner: &str,
        key_id: KeyId,
    ) -> ServiceResult<Option<TrustedKeyRecord>> {
        let owner = partner.to_string();
        self.meta_read(move |m| m.trusted_key(&owner, &key_id.0))
            .await
    }

    /// Streams the blob through the signature check on the blocking pool (minisign hashes
    /// prehashed signatures with BLAKE2b as it reads: nothing is buffered whole).
    async fn blob_verifies(
        &self,
        partner: &str,
        sha256: Sha256Digest,
        key: &str,
        signature: ParsedSignature,
    ) -> ServiceResult<bool> {
        let length = self.held_length(partner, sha256).await?;
        let blob = self.open_blob(sha256, length, None).await?;
        let reader = tokio_util::io::SyncIoBridge::new(blob.reader);
        let key = key.to_string();
        tokio::task::spawn_blocking(move || verifies(&key, &signature, reader))
            .await
            .map_err(|e| ServiceError::Internal(Box::new(e)))?
    }

    /// Stores a detached signature of a blob the partner holds. A signature by a trusted key
    /// must verify against the blob; others are stored unverified.
    pub async fn add_signature(
        &self,
        partner: &str,
        sha256: Sha256Digest,
        text: &str,
    ) -> ServiceResult<(SignatureView, bool)> {
        let parsed = parse_signature(text)?;
        self.held_length(partner, sha256).await?;
        let key_id = parsed.key_id;
        let mut record = SignatureRecord {
            key_id: key_id.to_string(),
            signature: parsed.text.clone(),
            trusted_comment: parsed.trusted_comment.clone(),
            created_ms: now_ms(),
            verified_key: None,
            verified_ms: None,
        };
        let trusted = self.trusted_key_of(partner, key_id).await?;
        if let Some(key) = &trusted {
            if !self
                .blob_verifies(partner, sha256, &key.public_key, parsed)
                .await?
            {
                return Err(ServiceError::SignatureMismatch(format!(
                    "the signature by trusted key {key_id} does not verify against binary {sha256}"
                )));
            }
            record.verified_key = Some(key.public_key.clone());
            record.verified_ms = Some(now_ms());
        }
        let owner = partner.to_string();
        let stored = record.clone();
        let outcome = self
            .meta_write(move |m| m.put_signature(&owner, &sha256, &key_id.0, &stored))
            .await?;
        tracing::info!(blob.sha256 = %sha256, key.id = %key_id, verified = trusted.is_some(), "signature stored");
        let view = SignatureView {
            trusted: trusted.is_some(),
            record,
        };
        Ok((view, outcome == SignatureStored::Created))
    }

    /// Every signature of a blob the partner holds.
    pub async fn signatures(
        &self,
        partner: &str,
        sha256: Sha256Digest,
    ) -> ServiceResult<Vec<SignatureView>> {
        self.held_length(partner, sha256).await?;
        let owner = partner.to_string();
        let (records, keys) = self
            .meta_call(move |m| {
                Ok::<_, crate::meta::MetaError>((
                    m.signatures(&owner, &sha256)?,
                    m.trusted_keys(&owner)?,
                ))
            })
            .await?;
        Ok(records
            .into_iter()
            .map(|record| SignatureView {
                trusted: verified_by_trusted(record.verified_key.as_deref(), &record.key_id, &keys),
                record,
            })
            .collect())
    }

    /// One signature's `.minisig` text, by key id.
    pub async fn signature_text(
        &self,
        partner: &str,
        sha256: Sha256Digest,
        key_id: &str,
    ) -> ServiceResult<String> {
        self.held_length(partner, sha256).await?;
        let key_id = KeyId::parse(key_id).ok_or(ServiceError::NotFound("signature"))?;
        let owner = partner.to_string();
        self.meta_read(move |m| m.signature(&owner, &sha256, &key_id.0))
            .await?
            .map(|record| record.signature)
            .ok_or(ServiceError::NotFound("signature"))
    }

    /// Stores the signed provenance statement of a blob the partner holds. The statement must
    /// name the blob as a subject; a signature by a trusted key must verify over its bytes.
    pub async fn add_provenance(
        &self,
        partner: &str,
        sha256: Sha256Digest,
        statement: String,
        signature: &str,
    ) -> ServiceResult<(ProvenanceView, bool)> {
        let summary = check_statement(&statement, &sha256)?;
        let parsed = parse_signature(signature)?;
        self.held_length(partner, sha256).await?;
        let key_id = parsed.key_id;
        let mut record = ProvenanceRecord {
            signature: parsed.text.clone(),
            key_id: key_id.to_string(),
            build_type: summary.build_type,
            builder_id: summary.builder_id,
            created_ms: now_ms(),
            verified_key: None,
            verified_ms: None,
            statement,
        };
        let trusted = self.trusted_key_of(partner, key_id).await?;
        if let Some(key) = &trusted {
            // Bounded by MAX_STATEMENT_BYTES, so checked in memory.
            if !verifies(&key.public_key, &parsed, record.statement.as_bytes())? {
                return Err(ServiceError::SignatureMismatch(format!(
                    "the provenance signature by trusted key {key_id} does not verify over the statement"
                )));
            }
            record.verified_key = Some(key.public_key.clone());
            record.verified_ms = Some(now_ms());
        }
        let owner = partner.to_string();
        let stored = record.clone();
        let created = self
            .meta_write(move |m| m.put_provenance(&owner, &sha256, &stored))
            .await?;
        let view = ProvenanceView {
            trusted: trusted.is_some(),
            record,
        };
        Ok((view, created))
    }

    pub async fn provenance(
        &self,
        partner: &str,
        sha256: Sha256Digest,
    ) -> ServiceResult<ProvenanceView> {
        self.held_length(partner, sha256).await?;
        let owner = partner.to_string();
        let (record, keys) = self
            .meta_call(move |m| {
                Ok::<_, crate::meta::MetaError>((
                    m.provenance(&owner, &sha256)?,
                    m.trusted_keys(&owner)?,
                ))
            })
            .await?;
        let record = record.ok_or(ServiceError::NotFound("provenance"))?;
        Ok(ProvenanceView {
            trusted: verified_by_trusted(record.verified_key.as_deref(), &record.key_id, &keys),
            record,
        })
    }

    /// Trusts a minisign public key (base64, or a `.pub` file's text) for the partner.
    pub async fn add_trusted_key(
        &self,
        partner: &str,
        public_key: &str,
        description: Option<String>,
    ) -> ServiceResult<TrustedKeyRecord> {
        let parsed = parse_public_key(public_key)?;
        crate::domain::validate_description(description.as_deref())?;
        let record = TrustedKeyRecord {
            key_id: parsed.key_id.to_string(),
            public_key: parsed.base64,
            description,
            created_ms: now_ms(),
        };
        let owner = partner.to_string();
        let stored = record.clone();
        self.meta_write(move |m| m.add_trusted_key(&owner, &parsed.key_id.0, &stored))
            .await?;
        tracing::info!(key.id = %record.key_id, "trusted key added");
        Ok(record)
    }

    pub async fn trusted_keys(&self, partner: &str) -> ServiceResult<Vec<TrustedKeyRecord>> {
        let owner = partner.to_string();
        self.meta_call(move |m| m.trusted_keys(&owner)).await
    }

    pub async fn remove_trusted_key(&self, partner: &str, key_id: &str) -> ServiceResult<()> {
        let key_id = KeyId::parse(key_id).ok_or(ServiceError::NotFound("trusted key"))?;
        let owner = partner.to_string();
        self.meta_write(move |m| m.remove_trusted_key(&owner, &key_id.0))
            .await?;
        tracing::info!(key.id = %key_id, "trusted key removed");
        Ok(())
    }

    pub async fn signing_policy(&self, partner: &str) -> ServiceResult<SigningPolicyRecord> {
        let owner = partner.to_string();
        self.meta_read(move |m| m.signing_policy(&owner)).await
    }

    pub async fn set_signing_policy(
        &self,
        partner: &str,
        protected_tags: &[String],
    ) -> ServiceResult<SigningPolicyRecord> {
        let protected_tags = normalize_tags(protected_tags)?;
        if protected_tags.len() > MAX_PROTECTED_TAGS {
            return Err(DomainError::field(
                "protectedTags",
                format!("at most {MAX_PROTECTED_TAGS} tags"),
            )
            .into());
        }
        let policy = SigningPolicyRecord {
            protected_tags,
            updated_ms: now_ms(),
        };
        let owner = partner.to_string();
        let stored = policy.clone();
        self.meta_write(move |m| m.put_signing_policy(&owner, &stored))
            .await?;
        Ok(policy)
    }

    /// The protected-tag policy: a record carrying a protected tag needs a signature of its
    /// binary by a key the partner trusts. A signature stored before its key became trusted
    /// is verified now (and remembered).
    pub(super) async fn require_trusted_signature(
        &self,
        partner: &str,
        fields: &PoolRecordFields,
    ) -> ServiceResult<()> {
        let policy = self.signing_policy(partner).await?;
        let Some(tag) = fields
            .tags
            .iter()
            .find(|t| policy.protected_tags.contains(t))
        else {
            return Ok(());
        };
        let sha256 = fields.sha256;
        let keys = self.trusted_keys(partner).await?;
        let owner = partner.to_string();
        let signatures = self
            .meta_call(move |m| m.signatures(&owner, &sha256))
            .await?;
        for signature in &signatures {
            if verified_by_trusted(signature.verified_key.as_deref(), &signature.key_id, &keys) {
                return Ok(());
            }
        }
        for signature in signatures {
            let Some(key) = keys.iter().find(|k| k.key_id == signature.key_id) else {
                continue;
            };
            if self.verify_stored(partner, sha256, key, &signature).await? {
                return Ok(());
            }
        }
        Err(ServiceError::StateConflict(
            ConflictKind::UnsignedProtectedRecord,
            format!(
                "tag '{tag}' is protected: binary {sha256} needs a signature verified by one of the partner's {} trusted keys before a record may carry it",
                keys.len()
            ),
        ))
    }

    /// Verifies a stored, unverified signature by a key trusted now; remembers success.
    async fn verify_stored(
        &self,
        partner: &str,
        sha256: Sha256Digest,
        key: &TrustedKeyRecord,
        signature: &SignatureRecord,
    ) -> ServiceResult<bool> {
        let Ok(parsed) = parse_signature(&signature.signature) else {
            return Ok(false);
        };
        let key_id = parsed.key_id;
        if !self
            .blob_verifies(partner, sha256, &key.public_key, parsed)
            .await?
        {
            return Ok(false);
        }
        let (owner, text, public_key) = (
            partner.to_string(),
            signature.signature.clone(),
            key.public_key.clone(),
        );
        self.meta_write(move |m| {
            m.mark_signature_verified(&owner, &sha256, &key_id.0, &text, &public_key, now_ms())
        })
        .await?;
        Ok(true)
    }
}
