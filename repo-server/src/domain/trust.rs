//! Signatures, trusted keys and provenance statements: what a well-formed minisign signature,
//! public key or in-toto statement is, their limits and stored records. No I/O here.

use serde::{Deserialize, Serialize};

use super::Sha256Digest;

/// Largest signature body accepted (a minisign signature is ~300 bytes plus its comments).
pub const MAX_SIGNATURE_BYTES: usize = 4 * 1024;
/// Most signatures kept per digest per partner (one per key id).
pub const MAX_SIGNATURES_PER_DIGEST: usize = 16;
/// Most trusted keys of one partner.
pub const MAX_TRUSTED_KEYS: usize = 64;
/// Largest provenance statement accepted; it is stored in the metadata store, so bounded.
pub const MAX_STATEMENT_BYTES: usize = 64 * 1024;
/// Most protected tags of one partner's policy.
pub const MAX_PROTECTED_TAGS: usize = 64;

/// The in-toto Statement v1 type and the SLSA provenance v1 predicate type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// A signature, key or statement that cannot be what it claims; the text is the client's.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TrustError {
    #[error("malformed minisign signature: {0}")]
    Signature(String),
    #[error("malformed minisign public key: {0}")]
    PublicKey(String),
    #[error("malformed provenance: {0}")]
    Provenance(String),
}

/// A minisign key id: 8 bytes, shown (as minisign does) as 16 uppercase hex digits of their
/// little-endian value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    fn from_slice(bytes: &[u8]) -> Option<KeyId> {
        bytes.try_into().ok().map(KeyId)
    }

    /// Parses the 16 hex digits minisign prints (either case).
    pub fn parse(text: &str) -> Option<KeyId> {
        if text.len() != 16 {
            return None;
        }
        let value = u64::from_str_radix(text, 16).ok()?;
        Some(KeyId(value.to_le_bytes()))
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

/// A parsed detached signature; `text` is its canonical minisign form (what is stored and
/// served, and what `minisign -V` reads).
pub struct ParsedSignature {
    pub key_id: KeyId,
    pub trusted_comment: String,
    pub text: String,
    pub signature: minisign::SignatureBox,
}

/// Parses a `.minisig` text. Only prehashed (`ED`) signatures are accepted: they verify by
/// streaming the data through BLAKE2b, where legacy ones would need the whole file in memory.
pub fn parse_signature(text: &str) -> Result<ParsedSignature, TrustError> {
    if text.len() > MAX_SIGNATURE_BYTES {
        return Err(TrustError::Signature(format!(
            "longer than {MAX_SIGNATURE_BYTES} bytes"
        )));
    }
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() != 4 {
        return Err(TrustError::Signature(format!(
            "expected 4 lines (untrusted comment, signature, trusted comment, global signature), found {}",
            lines.len()
        )));
    }
    let signature = minisign::SignatureBox::from_string(&lines.join("\n"))
        .map_err(|e| TrustError::Signature(e.to_string()))?;
    if !signature.is_prehashed() {
        return Err(TrustError::Signature(
            "legacy (non-prehashed) signatures are not accepted; minisign signs prehashed by default".into(),
        ));
    }
    let trusted_comment = signature
        .trusted_comment()
        .map_err(|e| TrustError::Signature(e.to_string()))?;
    let key_id = KeyId::from_slice(signature.keynum())
        .ok_or_else(|| TrustError::Signature("key id is not 8 bytes".into()))?;
    Ok(ParsedSignature {
        key_id,
        trusted_comment,
        text: signature.to_string(),
        signature,
    })
}

/// A parsed minisign public key.
pub struct ParsedKey {
    pub key_id: KeyId,
    /// The base64 form (`RW...`), as `minisign -P` takes it.
    pub base64: String,
    pub key: minisign::PublicKey,
}

/// Parses a public key given as its base64 string or as a `.pub` file's text (an untrusted
/// comment line, then the base64 line).
pub fn parse_public_key(text: &str) -> Result<ParsedKey, TrustError> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let encoded = match lines.as_slice() {
        [only] => *only,
        [comment, key] if comment.starts_with("untrusted comment:") => *key,
        _ => {
            return Err(TrustError::PublicKey(
                "expected the base64 key, or a minisign .pub file's two lines".into(),
            ))
        }
    };
    let key = minisign::PublicKey::from_base64(encoded)
        .map_err(|e| TrustError::PublicKey(e.to_string()))?;
    let key_id = KeyId::from_slice(key.keynum())
        .ok_or_else(|| TrustError::PublicKey("key id is not 8 bytes".into()))?;
    Ok(ParsedKey {
        key_id,
        base64: key.to_base64(),
        key,
    })
}

/// What the server reads out of a provenance statement it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementSummary {
    pub build_type: String,
    pub builder_id: String,
}

/// Checks that `statement` is an in-toto Statement v1 with a SLSA provenance v1 predicate
/// whose subjects include `sha256`. The full schema is the client's business (the tests
/// validate ours against the official definitions); this guards what the server relies on.
pub fn check_statement(
    statement: &str,
    sha256: &Sha256Digest,
) -> Result<StatementSummary, TrustError> {
    let bad = |reason: &str| TrustError::Provenance(reason.to_string());
    if statement.len() > MAX_STATEMENT_BYTES {
        return Err(bad(&format!(
            "the statement is longer than {MAX_STATEMENT_BYTES} bytes"
        )));
    }
    let value: serde_json::Value = serde_json::from_str(statement)
        .map_err(|e| bad(&format!("the statement is not JSON: {e}")))?;
    if value["_type"] != STATEMENT_TYPE {
        return Err(bad(&format!("_type must be {STATEMENT_TYPE}")));
    }
    if value["predicateType"] != SLSA_PROVENANCE_V1 {
        return Err(bad(&format!("predicateType must be {SLSA_PROVENANCE_V1}")));
    }
    let subjects = value["subject"]
        .as_array()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("subject must be a non-empty array"))?;
    let hex = sha256.to_hex();
    let names_digest = subjects.iter().any(|s| {
        s["digest"]["sha256"]
            .as_str()
            .is_some_and(|d| d.eq_ignore_ascii_case(&hex))
    });
    if !names_digest {
        return Err(bad(&format!("no subject has digest sha256 {hex}")));
    }
    let text_at = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or_else(|| bad(&format!("{pointer} must be a non-empty string")))
    };
    Ok(StatementSummary {
        build_type: text_at("/predicate/buildDefinition/buildType")?,
        builder_id: text_at("/predicate/runDetails/builder/id")?,
    })
}

/// A stored detached signature of one blob, by one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureRecord {
    pub key_id: String,
    /// The canonical `.minisig` text.
    pub signature: String,
    pub trusted_comment: String,
    pub created_ms: u64,
    /// The trusted key (base64) it was verified against on the server, and when.
    pub verified_key: Option<String>,
    pub verified_ms: Option<u64>,
}

/// A public key a partner trusts for its policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustedKeyRecord {
    pub key_id: String,
    pub public_key: String,
    pub description: Option<String>,
    pub created_ms: u64,
}

/// A partner's signing policy: records carrying any of these tags need a trusted signature.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SigningPolicyRecord {
    pub protected_tags: Vec<String>,
    pub updated_ms: u64,
}

/// The signed build provenance of one blob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvenanceRecord {
    /// The statement's bytes exactly as signed.
    pub statement: String,
    pub signature: String,
    pub key_id: String,
    pub build_type: String,
    pub builder_id: String,
    pub created_ms: u64,
    pub verified_key: Option<String>,
    pub verified_ms: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keypair() -> minisign::KeyPair {
        minisign::KeyPair::generate_unencrypted_keypair().unwrap()
    }

    fn sign(pair: &minisign::KeyPair, data: &[u8]) -> String {
        minisign::sign(Some(&pair.pk), &pair.sk, data, Some("file:x"), None)
            .unwrap()
            .to_string()
    }

    #[test]
    fn key_ids_print_as_minisign_does_and_parse_back() {
        let pair = keypair();
        let parsed = parse_public_key(&pair.pk.to_base64()).unwrap();
        let boxed = pair.pk.to_box().unwrap().into_string();
        assert!(boxed.contains(&parsed.key_id.to_string()), "{boxed}");
        assert_eq!(
            KeyId::parse(&parsed.key_id.to_string()),
            Some(parsed.key_id)
        );
        assert_eq!(parse_public_key(&boxed).unwrap().key_id, parsed.key_id);
    }

    #[test]
    fn a_signature_parses_with_its_key_id_and_comment() {
        let pair = keypair();
        let parsed = parse_signature(&sign(&pair, b"firmware")).unwrap();
        assert_eq!(parsed.key_id.0, pair.pk.keynum());
        assert_eq!(parsed.trusted_comment, "file:x");
        assert_eq!(parse_signature(&parsed.text).unwrap().text, parsed.text);
    }

    #[test]
    fn malformed_signatures_and_keys_are_refused() {
        for text in [
            "",
            "hello",
            "untrusted comment: x\nAAAA\ntrusted comment: y\nBBBB\n",
        ] {
            assert!(
                matches!(parse_signature(text), Err(TrustError::Signature(_))),
                "{text:?}"
            );
        }
        let long = "x".repeat(MAX_SIGNATURE_BYTES + 1);
        assert!(parse_signature(&long).is_err());
        assert!(matches!(
            parse_public_key("RWQnotakey"),
            Err(TrustError::PublicKey(_))
        ));
    }

    #[test]
    fn statements_must_name_the_digest_and_the_slsa_predicate() {
        let sha = Sha256Digest([7; 32]);
        let good = serde_json::json!({
            "_type": STATEMENT_TYPE,
            "subject": [{"name": "app.bin", "digest": {"sha256": sha.to_hex()}}],
            "predicateType": SLSA_PROVENANCE_V1,
            "predicate": {
                "buildDefinition": {"buildType": "https://fwrepo.dev/build/v1", "externalParameters": {}},
                "runDetails": {"builder": {"id": "https://ci.example/runner"}}
            }
        });
        let summary = check_statement(&good.to_string(), &sha).unwrap();
        assert_eq!(summary.builder_id, "https://ci.example/runner");
        assert!(check_statement(&good.to_string(), &Sha256Digest([8; 32])).is_err());
        let mut wrong = good.clone();
        wrong["predicateType"] = "https://slsa.dev/provenance/v0.2".into();
        assert!(check_statement(&wrong.to_string(), &sha).is_err());
        assert!(check_statement("{", &sha).is_err());
    }
}
