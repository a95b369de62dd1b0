//! The URLs this server hands out for its routes, built from the configured public URL. Route
//! shapes belong to this layer: services deal in digests and ids, never in paths.

use crate::domain::{CollectionImageRecord, DomainError, Sha256Digest};
use crate::service::Service;

fn public_base(service: &Service) -> &str {
    service.config().public_url.trim_end_matches('/')
}

fn repository_prefix(service: &Service, partner: &str) -> String {
    format!(
        "{}/v1/ota/partners/{partner}/repository/sha256/",
        public_base(service)
    )
}

/// The permanent download URL of a blob in a partner's repository.
pub fn repository_url(service: &Service, partner: &str, sha256: &Sha256Digest) -> String {
    format!("{}{sha256}", repository_prefix(service, partner))
}

/// The blob a pool record's `url` names: it must be a repository URL this server issued for
/// this partner (the answer of moveToRepository).
pub fn repository_blob(
    service: &Service,
    partner: &str,
    url: &str,
) -> Result<Sha256Digest, DomainError> {
    let prefix = repository_prefix(service, partner);
    let hex = url.strip_prefix(prefix.as_str()).ok_or_else(|| {
        DomainError::field(
            "url",
            format!("must be a repository URL answered by moveToRepository ({prefix}<sha256>)"),
        )
    })?;
    Sha256Digest::parse_hex("url", hex)
}

/// The download URL of a collection image (the route `collections/{c}/firmware/{id}/download`).
pub fn collection_image_url(service: &Service, record: &CollectionImageRecord) -> String {
    format!(
        "{}/collections/{}/firmware/{}/download",
        public_base(service),
        record.collection,
        record.id
    )
}
