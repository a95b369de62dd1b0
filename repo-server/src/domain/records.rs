//! The records the metadata layer persists. They carry their own ids and timestamps
//! (milliseconds since the epoch); the API layer maps them to wire types.

use serde::{Deserialize, Serialize};

use super::Sha256Digest;

/// A partner's firmware type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirmwareTypeRecord {
    pub id: u64,
    pub partner: String,
    pub fw_type: u16,
    pub name: String,
    pub description: Option<String>,
    pub created_ms: u64,
    pub updated_ms: u64,
}

/// A firmware pool record: metadata about one binary in the repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolRecordData {
    pub id: u64,
    pub partner: String,
    pub fw_type: u16,
    pub version_number: u64,
    pub name: String,
    pub description: Option<String>,
    pub version: String,
    pub url: String,
    pub tags: Vec<String>,
    pub sha256: Sha256Digest,
    pub blake3: String,
    pub length: u64,
    pub created_ms: u64,
    pub updated_ms: u64,
}

/// The editable fields of a pool record, as validated from a create or update body.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolRecordFields {
    pub fw_type: u16,
    pub name: String,
    pub description: Option<String>,
    pub version: String,
    pub url: String,
    pub tags: Vec<String>,
    pub sha256: Sha256Digest,
}

/// A pool record associated with a device type (an Afero firmware image).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    pub id: u64,
    pub partner: String,
    pub device_type: String,
    pub pool_id: u64,
    pub fw_type: u16,
    pub version_number: u64,
    pub created_ms: u64,
    pub updated_ms: u64,
}

/// A device's pending push: the firmware image it should install next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRecord {
    pub image_id: u64,
    pub device_type: String,
    pub pushed_ms: u64,
}

/// A stored blob and how many holds (pending uploads, repository entries) keep it alive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlobRecord {
    pub refcount: u64,
    pub length: u64,
    pub blake3: String,
    pub created_ms: u64,
    /// When the bytes were last uploaded (the sweeper's grace runs from it). Absent in
    /// records written before it was kept: read through [`BlobRecord::last_uploaded_ms`].
    #[serde(default)]
    pub last_uploaded_ms: u64,
}

impl BlobRecord {
    /// The last upload, never earlier than the first (a record without the field was last
    /// uploaded no earlier than it was created).
    pub fn last_uploaded_ms(&self) -> u64 {
        self.last_uploaded_ms.max(self.created_ms)
    }
}

/// An upload not yet moved to the repository; swept after `expires_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingUpload {
    pub length: u64,
    pub uploaded_ms: u64,
    pub expires_ms: u64,
}

/// A blob moved into a partner's repository: its download URL is valid from then on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepositoryEntry {
    pub length: u64,
    pub blake3: String,
    pub moved_ms: u64,
}

/// What an OAuth client may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "ota:read")]
    Read,
    #[serde(rename = "ota:write")]
    Write,
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    pub fn parse(text: &str) -> Option<Scope> {
        match text {
            "ota:read" => Some(Scope::Read),
            "ota:write" => Some(Scope::Write),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "ota:read",
            Scope::Write => "ota:write",
            Scope::Admin => "admin",
        }
    }

    /// `admin` implies write, write implies read.
    pub fn grants(held: &[Scope], needed: Scope) -> bool {
        held.iter().any(|s| {
            *s == needed || *s == Scope::Admin || (*s == Scope::Write && needed == Scope::Read)
        })
    }
}

/// An OAuth client; the secret is stored only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRecord {
    pub client_id: String,
    pub secret_sha256: [u8; 32],
    pub partner: String,
    pub scopes: Vec<Scope>,
    pub created_ms: u64,
    pub revoked: bool,
    /// What the client is for, as its creator described it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// An issued access token, stored under the SHA-256 of the token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub client_id: String,
    pub partner: String,
    pub scopes: Vec<Scope>,
    pub expires_ms: u64,
}
