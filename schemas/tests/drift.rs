//! The committed JSON Schemas and OpenAPI document must match the Rust wire types.
//! Run with `FWREPO_UPDATE_SCHEMAS=1` to rewrite them after changing a type.

use std::path::PathBuf;

use fwrepo_schemas::generate;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn updating() -> bool {
    std::env::var_os("FWREPO_UPDATE_SCHEMAS").is_some()
}

fn check_file(path: PathBuf, expected: String) {
    if updating() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run with FWREPO_UPDATE_SCHEMAS=1",
            path.display()
        )
    });
    assert!(
        committed == expected,
        "{} drifted from the wire types: run with FWREPO_UPDATE_SCHEMAS=1 and review the diff",
        path.display()
    );
}

#[test]
fn json_schemas_match_wire_types() {
    let dir = crate_dir().join("json");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, schema) in generate::standalone_schemas() {
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        check_file(dir.join(format!("{name}.json")), text);
    }
}

#[test]
fn openapi_document_matches_paths_and_wire_types() {
    let paths: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(crate_dir().join("openapi.paths.yaml")).unwrap(),
    )
    .expect("openapi.paths.yaml parses");
    let mut document = serde_json::to_value(paths).unwrap();
    let components = document
        .as_object_mut()
        .unwrap()
        .entry("components")
        .or_insert_with(|| serde_json::json!({}));
    components["schemas"] = serde_json::Value::Object(generate::openapi_components());
    let header =
        "# GENERATED from openapi.paths.yaml and the wire types in src/: edit those, then\n\
                  # run `FWREPO_UPDATE_SCHEMAS=1 cargo test -p fwrepo-schemas`.\n";
    let text = format!("{header}{}", serde_yaml::to_string(&document).unwrap());
    check_file(crate_dir().join("openapi.yaml"), text);
}

#[test]
fn every_referenced_component_exists() {
    let document: serde_yaml::Value = serde_yaml::from_str(fwrepo_schemas::OPENAPI_YAML).unwrap();
    let text = serde_json::to_string(&document).unwrap();
    let components = generate::openapi_components();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().unwrap();
        assert!(
            components.contains_key(name),
            "openapi.yaml references unknown schema {name}"
        );
    }
}
