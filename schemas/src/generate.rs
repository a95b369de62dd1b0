//! Generates the JSON Schemas (2020-12) of every wire type, as standalone documents for
//! `schemas/json/` and as OpenAPI components. `cargo test -p fwrepo-schemas` fails when the
//! committed files differ; `FWREPO_UPDATE_SCHEMAS=1 cargo test -p fwrepo-schemas` rewrites them.

use schemars::{generate::SchemaSettings, JsonSchema, Schema};
use serde_json::{Map, Value};

use crate::*;

/// Which way a type crosses the wire decides its schema: a request body's defaulted fields
/// are optional, a response's always-present fields are required.
#[derive(Clone, Copy)]
enum Direction {
    Request,
    Response,
}

fn settings(direction: Direction, definitions_path: &'static str) -> SchemaSettings {
    let settings =
        SchemaSettings::draft2020_12().with(|s| s.definitions_path = definitions_path.into());
    match direction {
        Direction::Request => settings.for_deserialize(),
        Direction::Response => settings.for_serialize(),
    }
}

fn standalone<T: JsonSchema>(direction: Direction) -> Schema {
    settings(direction, "/$defs")
        .into_generator()
        .into_root_schema_for::<T>()
}

macro_rules! wire_types {
    ($($direction:ident $name:literal => $ty:ty),* $(,)?) => {
        /// Every wire type as `(file stem, standalone JSON Schema)`.
        pub fn standalone_schemas() -> Vec<(&'static str, Schema)> {
            vec![$(($name, standalone::<$ty>(Direction::$direction))),*]
        }

        /// Every wire type as OpenAPI components (`#/components/schemas/...` references).
        pub fn openapi_components() -> Map<String, Value> {
            let mut components = Map::new();
            $(
                let mut generator = settings(Direction::$direction, "/components/schemas").into_generator();
                let schema = generator.subschema_for::<$ty>().to_value();
                for (key, value) in generator.take_definitions(true) {
                    components.entry(key).or_insert(value);
                }
                let self_reference = Value::String(format!("#/components/schemas/{}", $name));
                if schema.get("$ref") != Some(&self_reference) {
                    components.insert($name.to_string(), schema);
                }
            )*
            components
        }
    };
}

wire_types! {
    Request "FirmwareTypeCreate" => FirmwareTypeCreate,
    Request "FirmwareTypeUpdate" => FirmwareTypeUpdate,
    Response "FirmwareType" => FirmwareType,
    Response "FirmwareTypeList" => Vec<FirmwareType>,
    Request "PoolRecordCreate" => PoolRecordCreate,
    Request "PoolRecordUpdate" => PoolRecordUpdate,
    Response "PoolRecord" => PoolRecord,
    Response "PoolRecordPage" => Page<PoolRecord>,
    Request "FirmwareImageCreate" => FirmwareImageCreate,
    Response "FirmwareImage" => FirmwareImage,
    Response "FirmwareImagePage" => Page<FirmwareImage>,
    Response "AssociationList" => Vec<Association>,
    Request "StringValueRequest" => StringValue,
    Response "StringValue" => StringValue,
    Response "BoolValue" => BoolValue,
    Response "BinaryStatus" => BinaryStatus,
    Response "TagList" => Vec<String>,
    Response "TokenResponse" => TokenResponse,
    Response "Problem" => Problem,
    Response "Health" => Health,
    Response "ClientCredentials" => ClientCredentials,
    Response "ClientSummary" => ClientSummary,
    Request "ClientCreate" => ClientCreate,
    Response "ClientPage" => Page<ClientSummary>,
    Request "UserCreate" => UserCreate,
    Request "UserUpdate" => UserUpdate,
    Response "User" => User,
    Response "UserPage" => Page<User>,
    Request "CollectionInput" => CollectionInput,
    Response "Collection" => Collection,
    Response "CollectionList" => CollectionList,
    Request "CollectionImageUpdate" => CollectionImageUpdate,
    Request "CollectionImageFromPool" => CollectionImageFromPool,
    Response "CollectionImage" => CollectionImage,
    Response "CollectionImageList" => CollectionImageList,
    Response "FirmwareUsage" => FirmwareUsage,
    Request "DeviceInput" => DeviceInput,
    Response "Device" => Device,
    Response "DeviceList" => DeviceList,
    Request "CheckinRequest" => CheckinRequest,
    Response "CheckinResponse" => CheckinResponse,
    Response "DdiControllerBase" => DdiControllerBase,
    Response "DdiDeploymentBase" => DdiDeploymentBase,
    Response "DdiArtifactList" => Vec<DdiArtifact>,
    Response "DdiCancel" => DdiCancel,
    Request "DdiActionFeedback" => DdiActionFeedback,
    Request "DdiConfigData" => DdiConfigData,
    Response "DdiAction" => DdiAction,
    Response "DdiActionPage" => Page<DdiAction>,
    Response "DdiToken" => DdiToken,
    Response "DdiGatewayTokenList" => DdiGatewayTokenList,
    Request "DdiPartnerSettingsInput" => DdiPartnerSettingsInput,
    Response "DdiPartnerSettings" => DdiPartnerSettings,
    Response "DdiAttributes" => DdiAttributes,
    Response "AuditPage" => AuditPage,
    // Retention.
    Request "RetentionPolicyInput" => RetentionPolicy,
    Response "RetentionPolicy" => RetentionPolicy,
    Response "RetentionPlan" => RetentionPlan,
    Response "RetentionRun" => RetentionRun,
    Response "RetentionRunPage" => Page<RetentionRun>,
    Response "Signature" => Signature,
    Response "SignatureList" => Vec<Signature>,
    Request "TrustedKeyCreate" => TrustedKeyCreate,
    Response "TrustedKey" => TrustedKey,
    Response "TrustedKeyList" => Vec<TrustedKey>,
    Request "SigningPolicyInput" => SigningPolicy,
    Response "SigningPolicy" => SigningPolicy,
    Request "ProvenanceCreate" => ProvenanceCreate,
    Response "Provenance" => Provenance,
}

/// The standalone schema of one wire type by its file stem.
pub fn schema_named(name: &str) -> Option<Schema> {
    standalone_schemas()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| s)
}
