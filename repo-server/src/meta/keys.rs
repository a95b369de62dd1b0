//! Every RocksDB key is built here. Numbers are big-endian so range scans come out ordered;
//! string parts end with a NUL (validation forbids NUL inside them) so prefixes never collide.

use crate::domain::Sha256Digest;

pub const CF_TYPES: &str = "types";
pub const CF_POOL: &str = "pool";
pub const CF_POOL_BY_PARTNER: &str = "pool_by_partner";
pub const CF_POOL_BY_TYPE: &str = "pool_by_type";
pub const CF_POOL_BY_NAME: &str = "pool_by_name";
pub const CF_POOL_BY_TAG: &str = "pool_by_tag";
pub const CF_POOL_BY_TAG_TYPE: &str = "pool_by_tag_type";
pub const CF_POOL_BY_SHA: &str = "pool_by_sha";
pub const CF_POOL_BY_SEMVER: &str = "pool_by_semver";
pub const CF_POOL_BY_NAME_SEMVER: &str = "pool_by_name_semver";
/// Records per (partner, tag, type): the total of a type + tag listing without a walk, and,
/// summed over the tag's types, the tag's own count.
pub const CF_TAG_TYPE_COUNTS: &str = "tag_type_counts";
pub const CF_IMAGES: &str = "images";
pub const CF_IMAGES_BY_DEVICE_TYPE: &str = "images_by_device_type";
pub const CF_IMAGES_BY_POOL: &str = "images_by_pool";
pub const CF_IMAGES_BY_DEVICE_TYPE_ID: &str = "images_by_device_type_id";
pub const CF_PUSHES: &str = "pushes";
pub const CF_BLOBS: &str = "blobs";
pub const CF_PENDING: &str = "pending_uploads";
pub const CF_PENDING_BY_EXPIRY: &str = "pending_uploads_by_expiry";
pub const CF_BLOBS_UNHELD: &str = "blobs_unheld";
pub const CF_TOKENS_BY_EXPIRY: &str = "oauth_tokens_by_expiry";
pub const CF_REPOSITORY: &str = "repository";
pub const CF_CLIENTS: &str = "oauth_clients";
pub const CF_TOKENS: &str = "oauth_tokens";
pub const CF_USERS: &str = "users";
pub const CF_USERS_BY_PARTNER: &str = "users_by_partner";
pub const CF_SESSIONS: &str = "sessions";
pub const CF_SESSIONS_BY_USER: &str = "sessions_by_user";
pub const CF_SESSIONS_BY_EXPIRY: &str = "sessions_by_expiry";
pub const CF_COUNTERS: &str = "counters";
pub const CF_COLLECTIONS: &str = "collections";
pub const CF_COLLECTION_IMAGES: &str = "collection_images";
pub const CF_COLLECTION_IMAGES_BY_SHA: &str = "collection_images_by_sha";
pub const CF_COLLECTION_IMAGES_BY_VERSION: &str = "collection_images_by_version";
pub const CF_COLLECTION_HOLDS: &str = "collection_image_holds";
pub const CF_DEVICES: &str = "devices";
pub const CF_DEVICES_BY_ID: &str = "devices_by_id";
pub const CF_DDI_ACTIONS: &str = "ddi_actions";
pub const CF_DDI_OPEN_ACTIONS: &str = "ddi_open_actions";
pub const CF_DDI_TARGET_TOKENS: &str = "ddi_target_tokens";
pub const CF_DDI_DEVICE_TOKENS: &str = "ddi_device_tokens";
pub const CF_DDI_GATEWAY_TOKENS: &str = "ddi_gateway_tokens";
pub const CF_DDI_GATEWAY_BY_PARTNER: &str = "ddi_gateway_by_partner";
pub const CF_DDI_SETTINGS: &str = "ddi_settings";
pub const CF_DDI_DEVICES: &str = "ddi_devices";
pub const CF_BLOB_LEGACY_DIGESTS: &str = "blob_legacy_digests";
// The audit log.
pub const CF_AUDIT: &str = "audit";
// Retention: a partner's policy, and its runs in id order.
pub const CF_RETENTION_POLICIES: &str = "retention_policies";
pub const CF_RETENTION_RUNS: &str = "retention_runs";
// Signatures and provenance (issue 12): per partner and digest; trusted keys and policy.
pub const CF_SIGNATURES: &str = "signatures";
pub const CF_PROVENANCE: &str = "provenance";
pub const CF_TRUSTED_KEYS: &str = "trusted_keys";
pub const CF_SIGNING_POLICY: &str = "signing_policy";

pub const ALL_CFS: &[&str] = &[
    CF_TYPES,
    CF_POOL,
    CF_POOL_BY_PARTNER,
    CF_POOL_BY_TYPE,
    CF_POOL_BY_NAME,
    CF_POOL_BY_TAG,
    CF_POOL_BY_TAG_TYPE,
    CF_POOL_BY_SHA,
    CF_POOL_BY_SEMVER,
    CF_POOL_BY_NAME_SEMVER,
    CF_TAG_TYPE_COUNTS,
    CF_IMAGES,
    CF_IMAGES_BY_DEVICE_TYPE,
    CF_IMAGES_BY_POOL,
    CF_IMAGES_BY_DEVICE_TYPE_ID,
    CF_PUSHES,
    CF_BLOBS,
    CF_PENDING,
    CF_PENDING_BY_EXPIRY,
    CF_BLOBS_UNHELD,
    CF_TOKENS_BY_EXPIRY,
    CF_REPOSITORY,
    CF_CLIENTS,
    CF_TOKENS,
    CF_USERS,
    CF_USERS_BY_PARTNER,
    CF_SESSIONS,
    CF_SESSIONS_BY_USER,
    CF_SESSIONS_BY_EXPIRY,
    CF_COUNTERS,
    CF_COLLECTIONS,
    CF_COLLECTION_IMAGES,
    CF_COLLECTION_IMAGES_BY_SHA,
    CF_COLLECTION_IMAGES_BY_VERSION,
    CF_COLLECTION_HOLDS,
    CF_DEVICES,
    CF_DEVICES_BY_ID,
    CF_DDI_ACTIONS,
    CF_DDI_OPEN_ACTIONS,
    CF_DDI_TARGET_TOKENS,
    CF_DDI_DEVICE_TOKENS,
    CF_DDI_GATEWAY_TOKENS,
    CF_DDI_GATEWAY_BY_PARTNER,
    CF_DDI_SETTINGS,
    CF_DDI_DEVICES,
    CF_BLOB_LEGACY_DIGESTS,
    // The audit log.
    CF_AUDIT,
    // Retention.
    CF_RETENTION_POLICIES,
    CF_RETENTION_RUNS,
    // Signatures and provenance.
    CF_SIGNATURES,
    CF_PROVENANCE,
    CF_TRUSTED_KEYS,
    CF_SIGNING_POLICY,
];

/// Builds a key part by part.
#[derive(Default)]
pub struct Key(Vec<u8>);

impl Key {
    pub fn new() -> Self {
        Key(Vec::with_capacity(64))
    }
    /// A string part, NUL-terminated.
    pub fn str(mut self, part: &str) -> Self {
        self.0.extend_from_slice(part.as_bytes());
        self.0.push(0);
        self
    }
    /// A string part without terminator: for prefix scans over a string's beginning.
    pub fn str_prefix(mut self, part: &str) -> Self {
        self.0.extend_from_slice(part.as_bytes());
        self
    }
    pub fn u16(mut self, n: u16) -> Self {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }
    pub fn u64(mut self, n: u64) -> Self {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }
    pub fn digest(mut self, d: &Sha256Digest) -> Self {
        self.0.extend_from_slice(&d.0);
        self
    }
    pub fn bytes(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    pub fn build(self) -> Vec<u8> {
        self.0
    }
}

/// An audit entry of a partner (audit): time order, then the entry's sequence number.
pub fn audit_key(partner: &str, at_ms: u64, seq: u64) -> Vec<u8> {
    Key::new().str(partner).u64(at_ms).u64(seq).build()
}
/// Every key of a partner in a family whose keys start with the partner.
pub fn partner_prefix(partner: &str) -> Vec<u8> {
    Key::new().str(partner).build()
}
/// A partner's keys of one firmware type (types, pool_by_type, pool_by_semver).
pub fn partner_type_prefix(partner: &str, fw_type: u16) -> Vec<u8> {
    Key::new().str(partner).u16(fw_type).build()
}
/// A partner's records carrying `tag` (pool_by_tag), optionally of one type (pool_by_tag_type).
pub fn tag_prefix(partner: &str, tag: &str, fw_type: Option<u16>) -> Vec<u8> {
    match fw_type {
        Some(t) => Key::new().str(partner).str(tag).u16(t).build(),
        None => Key::new().str(partner).str(tag).build(),
    }
}
/// A partner's records tagged `git:<sha>` for every sha starting with `commit` (pool_by_tag).
pub fn commit_tag_prefix(partner: &str, commit: &str) -> Vec<u8> {
    Key::new()
        .str(partner)
        .str_prefix(&format!("git:{commit}"))
        .build()
}
/// The records holding one binary (pool_by_sha).
pub fn sha_prefix(sha256: &Sha256Digest) -> Vec<u8> {
    Key::new().digest(sha256).build()
}
/// A device type's images, optionally of one firmware type (images_by_device_type).
pub fn device_type_prefix(partner: &str, device_type: &str, fw_type: Option<u16>) -> Vec<u8> {
    match fw_type {
        Some(t) => Key::new().str(partner).str(device_type).u16(t).build(),
        None => Key::new().str(partner).str(device_type).build(),
    }
}
/// The images made from one pool record (images_by_pool).
pub fn pool_images_prefix(pool_id: u64) -> Vec<u8> {
    Key::new().u64(pool_id).build()
}
/// The versions of one name of one type (pool_by_name).
pub fn pool_name_prefix(partner: &str, fw_type: u16, name: &str) -> Vec<u8> {
    pool_name_key(partner, fw_type, name).build()
}
fn pool_name_key(partner: &str, fw_type: u16, name: &str) -> Key {
    Key::new().str(partner).u16(fw_type).str(name)
}
/// (partner, type, name, version) of a pool_by_name key.
pub fn parse_pool_by_name(key: &[u8]) -> Option<(&str, u16, &str, &str)> {
    let (partner, rest) = split_str(key)?;
    let fw_type = u16::from_be_bytes(rest.get(..2)?.try_into().ok()?);
    let (name, rest) = split_str(rest.get(2..)?)?;
    let (version, rest) = split_str(rest)?;
    rest.is_empty().then_some((partner, fw_type, name, version))
}
/// A NUL-terminated string part and what follows it.
fn split_str(key: &[u8]) -> Option<(&str, &[u8])> {
    let end = key.iter().position(|b| *b == 0)?;
    Some((std::str::from_utf8(&key[..end]).ok()?, &key[end + 1..]))
}
/// The version string of a pool_by_name key under [`pool_name_prefix`].
pub fn version_of_name_key(prefix_len: usize, key: &[u8]) -> Option<&str> {
    std::str::from_utf8(key.get(prefix_len..key.len().checked_sub(1)?)?).ok()
}
/// The tag of a tag_type_counts key under `partner_prefix(partner)`: what lies between the
/// prefix and the tag's NUL and type number.
pub fn tag_of_count_key<'k>(prefix_len: usize, key: &'k [u8]) -> Option<&'k [u8]> {
    key.get(prefix_len..key.len().checked_sub(3)?)
}
/// The digest a key starts with (blobs, pool_by_sha, collection holds).
pub fn leading_digest(key: &[u8]) -> Option<Sha256Digest> {
    key.get(..32)?.try_into().ok().map(Sha256Digest)
}
/// The digest a key ends with (pending_uploads, repository).
pub fn trailing_digest(key: &[u8]) -> Option<Sha256Digest> {
    key.get(key.len().checked_sub(32)?..)?
        .try_into()
        .ok()
        .map(Sha256Digest)
}
/// The (major, minor, patch, release) group of a pool_by_semver key.
pub fn semver_group(prefix_len: usize, key: &[u8]) -> Option<&[u8]> {
    key.get(prefix_len..prefix_len + 25)
}

/// Reads the big-endian u64 at the end of a key (the record id of most index keys).
pub fn trailing_u64(key: &[u8]) -> u64 {
    let start = key.len() - 8;
    u64::from_be_bytes(key[start..].try_into().expect("8 bytes"))
}

pub fn type_key(partner: &str, fw_type: u16) -> Vec<u8> {
    Key::new().str(partner).u16(fw_type).build()
}
pub fn pool_key(id: u64) -> Vec<u8> {
    Key::new().u64(id).build()
}
pub fn pool_by_partner(partner: &str, id: u64) -> Vec<u8> {
    Key::new().str(partner).u64(id).build()
}
pub fn pool_by_type(partner: &str, fw_type: u16, version_number: u64) -> Vec<u8> {
    Key::new()
        .str(partner)
        .u16(fw_type)
        .u64(version_number)
        .build()
}
pub fn pool_by_name(partner: &str, fw_type: u16, name: &str, version: &str) -> Vec<u8> {
    Key::new()
        .str(partner)
        .u16(fw_type)
        .str(name)
        .str(version)
        .build()
}
pub fn pool_by_tag(partner: &str, tag: &str, id: u64) -> Vec<u8> {
    Key::new().str(partner).str(tag).u64(id).build()
}
pub fn pool_by_tag_type(partner: &str, tag: &str, fw_type: u16, id: u64) -> Vec<u8> {
    Key::new()
        .str(partner)
        .str(tag)
        .u16(fw_type)
        .u64(id)
        .build()
}
pub fn pool_by_sha(sha256: &Sha256Digest, id: u64) -> Vec<u8> {
    Key::new().digest(sha256).u64(id).build()
}
/// Records of a type whose version is semver, in precedence order of (major, minor, patch,
/// release after pre-release); pre-release identifiers follow (ordered exactly in memory).
pub fn pool_by_semver(partner: &str, fw_type: u16, version: &semver::Version, id: u64) -> Vec<u8> {
    with_semver(Key::new().str(partner).u16(fw_type), version, id)
}
/// A record under its name in version order (pool_by_name_semver): the versions of one name
/// that a requirement can match are one key range.
pub fn pool_by_name_semver(
    partner: &str,
    fw_type: u16,
    name: &str,
    version: &semver::Version,
    id: u64,
) -> Vec<u8> {
    with_semver(pool_name_key(partner, fw_type, name), version, id)
}
/// The start of (major, minor, patch) `triple` under a semver index prefix.
pub fn semver_floor(prefix: &[u8], triple: (u64, u64, u64)) -> Vec<u8> {
    Key::new()
        .bytes(prefix)
        .u64(triple.0)
        .u64(triple.1)
        .u64(triple.2)
        .build()
}
/// Version order: (major, minor, patch), releases after pre-releases, the pre-release text
/// (its exact precedence is settled in memory), then the record id.
fn with_semver(key: Key, version: &semver::Version, id: u64) -> Vec<u8> {
    let release = u8::from(version.pre.is_empty());
    key.u64(version.major)
        .u64(version.minor)
        .u64(version.patch)
        .bytes(&[release])
        .str(version.pre.as_str())
        .u64(id)
        .build()
}

/// The precedence-relevant version and the record id of a [`pool_by_semver`] key.
pub fn parse_pool_by_semver(prefix_len: usize, key: &[u8]) -> Option<(semver::Version, u64)> {
    let rest = key.get(prefix_len..)?;
    let number = |i: usize| {
        rest.get(i * 8..i * 8 + 8)
            .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")))
    };
    let (major, minor, patch) = (number(0)?, number(1)?, number(2)?);
    let pre_bytes = rest.get(25..rest.len().checked_sub(9)?)?;
    let mut version = semver::Version::new(major, minor, patch);
    if !pre_bytes.is_empty() {
        version.pre = semver::Prerelease::new(std::str::from_utf8(pre_bytes).ok()?).ok()?;
    }
    Some((version, trailing_u64(key)))
}

/// The prefix of a tag's tag_type_counts keys: its count in every type.
pub fn tag_counts_prefix(partner: &str, tag: &str) -> Vec<u8> {
    Key::new().str(partner).str(tag).build()
}
pub fn tag_type_count(partner: &str, tag: &str, fw_type: u16) -> Vec<u8> {
    Key::new().str(partner).str(tag).u16(fw_type).build()
}
pub fn image_key(id: u64) -> Vec<u8> {
    Key::new().u64(id).build()
}
pub fn image_by_device_type(
    partner: &str,
    device_type: &str,
    fw_type: u16,
    version_number: u64,
) -> Vec<u8> {
    Key::new()
        .str(partner)
        .str(device_type)
        .u16(fw_type)
        .u64(version_number)
        .build()
}
/// A device type's image in id order (images_by_device_type_id): under `fw_type` and under
/// [`ALL_TYPES`], so the id order of one type and of all types are both a prefix.
pub fn image_by_device_type_id(partner: &str, device_type: &str, fw_type: u16, id: u64) -> Vec<u8> {
    Key::new()
        .str(partner)
        .str(device_type)
        .u16(fw_type)
        .u64(id)
        .build()
}
/// The type part of images_by_device_type_id keys that spans every type (types start at 1).
pub const ALL_TYPES: u16 = 0;
/// Prefix of a device type's images of one type (or [`ALL_TYPES`]) in id order.
pub fn device_type_id_prefix(partner: &str, device_type: &str, fw_type: u16) -> Vec<u8> {
    Key::new()
        .str(partner)
        .str(device_type)
        .u16(fw_type)
        .build()
}
pub fn image_by_pool(pool_id: u64, device_type: &str) -> Vec<u8> {
    Key::new().u64(pool_id).str(device_type).build()
}
pub fn push_key(partner: &str, device: &str) -> Vec<u8> {
    Key::new().str(partner).str(device).build()
}
pub fn blob_key(sha256: &Sha256Digest) -> Vec<u8> {
    Key::new().digest(sha256).build()
}
pub fn pending_key(partner: &str, sha256: &Sha256Digest) -> Vec<u8> {
    Key::new().str(partner).digest(sha256).build()
}
pub fn repository_key(partner: &str, sha256: &Sha256Digest) -> Vec<u8> {
    Key::new().str(partner).digest(sha256).build()
}
/// A pending upload in expiry order (pending_uploads_by_expiry): the expiry, then its
/// pending_uploads key, so a sweep reads only the expired ones.
pub fn pending_by_expiry(expires_ms: u64, pending_key: &[u8]) -> Vec<u8> {
    Key::new().u64(expires_ms).bytes(pending_key).build()
}
/// A blob no one holds (refcount 0), in order of its last upload (blobs_unheld), so a sweep
/// reads only the blobs past their grace period.
pub fn blob_unheld(last_uploaded_ms: u64, sha256: &Sha256Digest) -> Vec<u8> {
    Key::new().u64(last_uploaded_ms).digest(sha256).build()
}
/// A token in expiry order (oauth_tokens_by_expiry).
pub fn token_by_expiry(expires_ms: u64, token_sha256: &[u8; 32]) -> Vec<u8> {
    Key::new().u64(expires_ms).bytes(token_sha256).build()
}
pub fn client_key(client_id: &str) -> Vec<u8> {
    Key::new().str(client_id).build()
}
pub fn token_key(token_sha256: &[u8; 32]) -> Vec<u8> {
    Key::new().bytes(token_sha256).build()
}
/// A user by username (usernames are unique server-wide).
pub fn user_key(username: &str) -> Vec<u8> {
    Key::new().str(username).build()
}
/// A partner's users in username order (users_by_partner; the value is empty).
pub fn user_by_partner(partner: &str, username: &str) -> Vec<u8> {
    Key::new().str(partner).str(username).build()
}
/// The username at the end of a users_by_partner key under `partner_prefix(partner)`.
pub fn username_of_partner_key(prefix_len: usize, key: &[u8]) -> Option<&str> {
    std::str::from_utf8(key.get(prefix_len..key.len().checked_sub(1)?)?).ok()
}
/// A session by the SHA-256 of its cookie value.
pub fn session_key(session_sha256: &[u8; 32]) -> Vec<u8> {
    Key::new().bytes(session_sha256).build()
}
/// A user's sessions (sessions_by_user; the value is empty).
pub fn session_by_user(username: &str, session_sha256: &[u8; 32]) -> Vec<u8> {
    Key::new().str(username).bytes(session_sha256).build()
}
/// Prefix of every session of one user.
pub fn sessions_of_user(username: &str) -> Vec<u8> {
    Key::new().str(username).build()
}
/// Sessions in expiry order, so a sweep reads only the expired ones (sessions_by_expiry).
pub fn session_by_expiry(expires_ms: u64, session_sha256: &[u8; 32]) -> Vec<u8> {
    Key::new().u64(expires_ms).bytes(session_sha256).build()
}
/// The session hash a sessions_by_user or sessions_by_expiry key ends with.
pub fn trailing_session_hash(key: &[u8]) -> Option<[u8; 32]> {
    key.get(key.len().checked_sub(32)?..)?.try_into().ok()
}
/// The expiry a sessions_by_expiry key starts with.
pub fn leading_u64(key: &[u8]) -> Option<u64> {
    key.get(..8)?.try_into().ok().map(u64::from_be_bytes)
}
pub fn collection_key(partner: &str, collection: &str) -> Vec<u8> {
    Key::new().str(partner).str(collection).build()
}
/// Prefix of every collection of a partner.
pub fn collections_of(partner: &str) -> Vec<u8> {
    Key::new().str(partner).build()
}
pub fn collection_image_key(partner: &str, collection: &str, image: u64) -> Vec<u8> {
    Key::new().str(partner).str(collection).u64(image).build()
}
/// Prefix of a collection's images, devices or image indexes.
pub fn in_collection(partner: &str, collection: &str) -> Vec<u8> {
    Key::new().str(partner).str(collection).build()
}
pub fn collection_image_by_sha(partner: &str, collection: &str, sha256: &Sha256Digest) -> Vec<u8> {
    Key::new()
        .str(partner)
        .str(collection)
        .digest(sha256)
        .build()
}
pub fn collection_image_by_version(partner: &str, collection: &str, version: &str) -> Vec<u8> {
    Key::new().str(partner).str(collection).str(version).build()
}
/// A collection image's hold on its blob: the digest first, so holds of one blob are adjacent.
pub fn collection_hold_key(sha256: &Sha256Digest, image: u64) -> Vec<u8> {
    Key::new().digest(sha256).u64(image).build()
}
pub fn device_key(partner: &str, collection: &str, device: &str) -> Vec<u8> {
    Key::new().str(partner).str(collection).str(device).build()
}
/// A partner's device id → its collection (device ids are unique per partner).
pub fn device_by_id(partner: &str, device: &str) -> Vec<u8> {
    Key::new().str(partner).str(device).build()
}
/// A device's DDI action (ddi_actions), in id order under [`device_actions_prefix`].
pub fn action_key(partner: &str, device: &str, action: u64) -> Vec<u8> {
    Key::new().str(partner).str(device).u64(action).build()
}
/// Every action of a device (ddi_actions).
pub fn device_actions_prefix(partner: &str, device: &str) -> Vec<u8> {
    Key::new().str(partner).str(device).build()
}
/// Per-device DDI entries: open action, token hash, attributes (ddi_open_actions,
/// ddi_device_tokens, ddi_devices).
pub fn ddi_device_key(partner: &str, device: &str) -> Vec<u8> {
    Key::new().str(partner).str(device).build()
}
/// A DDI token by the SHA-256 of its text (ddi_target_tokens, ddi_gateway_tokens).
pub fn ddi_token_key(token_sha256: &[u8; 32]) -> Vec<u8> {
    Key::new().bytes(token_sha256).build()
}
/// A partner's gateway token by id (ddi_gateway_by_partner).
pub fn gateway_by_partner(partner: &str, id: u64) -> Vec<u8> {
    Key::new().str(partner).u64(id).build()
}
/// Last DDI action id handed out (never reused, even after a device is deleted).
pub fn action_counter() -> Vec<u8> {
    Key::new().str("ddi-action").build()
}
/// Last gateway token id handed out.
pub fn gateway_counter() -> Vec<u8> {
    Key::new().str("ddi-gateway").build()
}
/// Global id counter (types, pool records, images share one sequence).
pub fn id_counter() -> Vec<u8> {
    Key::new().str("id").build()
}
/// Last version number allocated for a partner's firmware type.
pub fn version_counter(partner: &str, fw_type: u16) -> Vec<u8> {
    Key::new().str("vn").str(partner).u16(fw_type).build()
}
/// Every version counter of a partner (one per firmware type it has published to).
pub fn version_counters_of(partner: &str) -> Vec<u8> {
    Key::new().str("vn").str(partner).build()
}
/// How many devices of a collection run one image (see `meta::counts`).
pub fn running_count(partner: &str, collection: &str, image: u64) -> Vec<u8> {
    Key::new()
        .str("count")
        .str("running")
        .str(partner)
        .str(collection)
        .u64(image)
        .build()
}
/// Set once an index (or count) added after data existed has been built from the records
/// (see `meta::backfill`).
pub fn index_built_marker(cf: &str) -> Vec<u8> {
    Key::new().str("index-built").str(cf).build()
}
/// A per-partner statistics counter (see `meta::stats`).
pub fn stats_counter(partner: &str, stat: &str) -> Vec<u8> {
    Key::new().str("stats").str(partner).str(stat).build()
}
/// How many entries one list holds (see `meta::counts`): `kind`, the partner, the list's owner
/// (a collection, a device type, or "" for the partner) and a type (0 for all).
pub fn list_count(kind: &str, partner: &str, owner: &str, fw_type: u16) -> Vec<u8> {
    Key::new()
        .str("count")
        .str(kind)
        .str(partner)
        .str(owner)
        .u16(fw_type)
        .build()
}
// Retention and deletion.
/// A partner's retention policy (retention_policies).
pub fn retention_policy_key(partner: &str) -> Vec<u8> {
    Key::new().str(partner).build()
}
/// One retention run of a partner (retention_runs), in id order under [`retention_runs_of`].
pub fn retention_run_key(partner: &str, run: u64) -> Vec<u8> {
    Key::new().str(partner).u64(run).build()
}
pub fn retention_runs_of(partner: &str) -> Vec<u8> {
    Key::new().str(partner).build()
}
/// Last retention run id of a partner.
pub fn retention_run_counter(partner: &str) -> Vec<u8> {
    Key::new().str("retention-run").str(partner).build()
}
/// How many pool records of a partner's type were deleted: the type's record count is its
/// version counter minus this (data from before deletions existed has none: zero).
pub fn deleted_counter(partner: &str, fw_type: u16) -> Vec<u8> {
    Key::new()
        .str("vn-deleted")
        .str(partner)
        .u16(fw_type)
        .build()
}
pub fn deleted_counters_of(partner: &str) -> Vec<u8> {
    Key::new().str("vn-deleted").str(partner).build()
}
/// One signature of a partner's blob by one key (signatures): the digest's signatures are
/// the keys under [`digest_signatures`].
pub fn signature_key(partner: &str, sha256: &Sha256Digest, key_id: &[u8; 8]) -> Vec<u8> {
    Key::new().str(partner).digest(sha256).bytes(key_id).build()
}
/// Every signature of a partner's blob (signatures).
pub fn digest_signatures(partner: &str, sha256: &Sha256Digest) -> Vec<u8> {
    Key::new().str(partner).digest(sha256).build()
}
/// The provenance of a partner's blob (provenance).
pub fn provenance_key(partner: &str, sha256: &Sha256Digest) -> Vec<u8> {
    Key::new().str(partner).digest(sha256).build()
}
/// A partner's trusted key by key id (trusted_keys); the partner's keys are under
/// [`partner_prefix`].
pub fn trusted_key(partner: &str, key_id: &[u8; 8]) -> Vec<u8> {
    Key::new().str(partner).bytes(key_id).build()
}
/// A partner's signing policy (signing_policy).
pub fn signing_policy_key(partner: &str) -> Vec<u8> {
    Key::new().str(partner).build()
}
/// Highest creation timestamp handed out, so timestamps never go backwards with the clock.
pub fn clock_counter() -> Vec<u8> {
    Key::new().str("clock").build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sort_numerically() {
        assert!(pool_by_type("p", 3, 2) < pool_by_type("p", 3, 10));
        assert!(pool_by_type("p", 3, u64::MAX) < pool_by_type("p", 4, 0));
        assert_eq!(trailing_u64(&pool_by_tag("p", "t", 42)), 42);
    }

    #[test]
    fn semver_keys_round_trip_and_order_releases_last() {
        let prefix = Key::new().str("p").u16(1).build();
        let rc: semver::Version = "1.2.3-rc.1".parse().unwrap();
        let release: semver::Version = "1.2.3".parse().unwrap();
        let key = pool_by_semver("p", 1, &rc, 9);
        assert_eq!(
            parse_pool_by_semver(prefix.len(), &key),
            Some((rc.clone(), 9))
        );
        assert!(pool_by_semver("p", 1, &rc, 9) < pool_by_semver("p", 1, &release, 1));
        assert!(
            pool_by_semver("p", 1, &release, 1)
                < pool_by_semver("p", 1, &"1.10.0".parse().unwrap(), 1)
        );
    }

    #[test]
    fn partner_prefixes_do_not_collide() {
        // "ab" must not be a prefix of partner "abc"'s keys.
        assert!(!pool_by_partner("abc", 1).starts_with(&Key::new().str("ab").build()));
    }
}
