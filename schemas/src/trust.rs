//! Signatures, provenance and the signing policy: detached minisign signatures of a binary,
//! its signed in-toto/SLSA provenance, and (scope `admin`) a partner's trusted keys and
//! protected tags. Paths under `/v1/ota/partners/{partnerId}/repository/sha256/{sha256}`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A detached signature of a binary (`GET .../signatures`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Signature {
    /// The signing key's id, 16 hex digits as minisign prints it.
    pub key_id: String,
    /// The signature's trusted (signed) comment.
    pub trusted_comment: String,
    /// Milliseconds since the Unix epoch.
    pub created_timestamp: u64,
    /// True when the server verified it against the binary with a key the partner trusts now.
    pub verified: bool,
    /// When it was verified, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_timestamp: Option<u64>,
    /// The `.minisig` text, which `minisign -V` reads.
    pub signature: String,
    /// Where the `.minisig` text alone is served (`text/plain`).
    pub url: String,
}

/// Body of `POST .../admin/trustedKeys`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustedKeyCreate {
    /// A minisign public key: the base64 string (`RW...`) or a `.pub` file's text.
    pub public_key: String,
    /// What the key is for (at most 2000 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A public key the partner trusts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustedKey {
    pub key_id: String,
    /// The base64 key, as `minisign -P` takes it.
    pub public_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_timestamp: u64,
}

/// A partner's signing policy (`GET|PUT .../admin/signingPolicy`): a pool record carrying any
/// of these tags needs a signature of its binary verified by a trusted key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SigningPolicy {
    /// At most 64 tags.
    pub protected_tags: Vec<String>,
}

/// Body of `POST .../provenance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProvenanceCreate {
    /// The in-toto Statement v1 (SLSA provenance v1 predicate), its JSON text exactly as
    /// signed; at most 64 KiB.
    pub statement: String,
    /// The `.minisig` text of a minisign signature over the statement's bytes.
    pub signature: String,
}

/// A binary's signed build provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Provenance {
    /// The statement's JSON text exactly as signed.
    pub statement: String,
    pub signature: String,
    pub key_id: String,
    /// `predicate.buildDefinition.buildType` of the statement.
    pub build_type: String,
    /// `predicate.runDetails.builder.id` of the statement.
    pub builder_id: String,
    pub created_timestamp: u64,
    /// True when the server verified the signature with a key the partner trusts now.
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_timestamp: Option<u64>,
}
