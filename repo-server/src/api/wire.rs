//! Domain records → wire types of the contract crate.

use fwrepo_schemas::{
    ClientCredentials, ClientSummary, FirmwareImage, FirmwareType, Page, PageInfo, PoolRecord,
    User, UserRole,
};

use crate::domain::{
    ClientRecord, FirmwareTypeNumber, FirmwareTypeRecord, PageRequest, PoolRecordData, Role, Scope,
    UserRecord,
};
use crate::service::images::ImageView;

fn version_attribute_id(fw_type: u16) -> i64 {
    FirmwareTypeNumber::new(i64::from(fw_type))
        .map(|t| t.version_attribute_id())
        .unwrap_or(2000 + i64::from(fw_type))
}

pub fn firmware_type(record: &FirmwareTypeRecord) -> FirmwareType {
    FirmwareType {
        id: record.id.to_string(),
        name: record.name.clone(),
        description: record.description.clone(),
        fw_type: i64::from(record.fw_type),
        partner_id: record.partner.clone(),
        created_timestamp: record.created_ms,
        updated_timestamp: record.updated_ms,
        version_attribute_id: version_attribute_id(record.fw_type),
    }
}

pub fn pool_record(record: &PoolRecordData) -> PoolRecord {
    PoolRecord {
        id: record.id.to_string(),
        name: record.name.clone(),
        description: record.description.clone(),
        fw_type: i64::from(record.fw_type),
        version_number: record.version_number.to_string(),
        version: record.version.clone(),
        url: record.url.clone(),
        tags: record.tags.clone(),
        created_timestamp: record.created_ms,
        updated_timestamp: record.updated_ms,
        partner_id: record.partner.clone(),
        version_attribute_id: version_attribute_id(record.fw_type),
        sha256: record.sha256.to_hex(),
        blake3: record.blake3.clone(),
        length: record.length,
    }
}

pub fn firmware_image((image, pool): &ImageView) -> FirmwareImage {
    FirmwareImage {
        id: image.id.to_string(),
        name: pool.name.clone(),
        description: pool.description.clone(),
        fw_type: i64::from(image.fw_type),
        version_number: image.version_number.to_string(),
        version: Some(pool.version.clone()),
        url: pool.url.clone(),
        tags: pool.tags.clone(),
        created_timestamp: image.created_ms,
        updated_timestamp: image.updated_ms,
        partner_id: image.partner.clone(),
        device_type_id: image.device_type.clone(),
        pool_record_id: pool.id.to_string(),
        sha256: pool.sha256.to_hex(),
        length: pool.length,
    }
}

pub fn page<T>(content: Vec<T>, total: u64, request: &PageRequest) -> Page<T> {
    let info = page_info(content.len(), total, request);
    Page {
        number: info.number,
        size: info.size,
        total_pages: info.total_pages,
        number_of_elements: info.number_of_elements,
        total_elements: info.total_elements,
        content,
        sort: info.sort,
    }
}

/// Where a Span list's page of `len` entries lies in a list of `total`.
pub fn page_info(len: usize, total: u64, request: &PageRequest) -> PageInfo {
    PageInfo {
        number: request.page,
        size: request.size,
        total_pages: total.div_ceil(u64::from(request.size)),
        number_of_elements: len as u32,
        total_elements: total,
        sort: request.sort_label(),
    }
}

pub fn client_summary(client: &ClientRecord) -> ClientSummary {
    ClientSummary {
        client_id: client.client_id.clone(),
        partner_id: client.partner.clone(),
        scopes: scope_names(&client.scopes),
        created_timestamp: client.created_ms,
        revoked: client.revoked,
        description: client.description.clone(),
    }
}

/// A new client with its secret: the one answer that ever carries the secret.
pub fn client_credentials(client: &ClientRecord, secret: String) -> ClientCredentials {
    ClientCredentials {
        client_id: client.client_id.clone(),
        client_secret: secret,
        partner_id: client.partner.clone(),
        scopes: scope_names(&client.scopes),
    }
}

fn scope_names(scopes: &[Scope]) -> Vec<String> {
    scopes.iter().map(|s| s.as_str().to_string()).collect()
}

/// A user without its password hash.
pub fn user(record: &UserRecord) -> User {
    User {
        username: record.username.clone(),
        partner_id: record.partner.clone(),
        role: user_role(record.role),
        disabled: record.disabled,
        created_timestamp: record.created_ms,
    }
}

pub fn user_role(role: Role) -> UserRole {
    match role {
        Role::Viewer => UserRole::Viewer,
        Role::Maintainer => UserRole::Maintainer,
        Role::Admin => UserRole::Admin,
    }
}

pub fn role(role: UserRole) -> Role {
    match role {
        UserRole::Viewer => Role::Viewer,
        UserRole::Maintainer => Role::Maintainer,
        UserRole::Admin => Role::Admin,
    }
}
