//! Helpers of the Span FOTA tests: a client that authenticates like Span clients do
//! (`X-API-Token`), and `curl` run as a subprocess for the commands of the Span document.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use fwrepo_e2e::{http, validate, Ota, TestServer};
use serde_json::{json, Value};

/// A Span-style client of one partner: top-level paths, `X-API-Token`.
pub struct Span {
    pub url: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Span {
    pub async fn new(server: &TestServer, client_index: usize) -> Span {
        Span {
            url: server.url.clone(),
            token: server.token_for(client_index).await,
            http: http(),
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .header("X-API-Token", &self.token)
    }
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::GET, path)
    }
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST, path)
    }
    pub fn patch(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::PATCH, path)
    }
    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::DELETE, path)
    }

    /// Sends, asserts the status, validates the JSON answer against `schema`.
    pub async fn json(&self, request: reqwest::RequestBuilder, status: u16, schema: &str) -> Value {
        let response = request.send().await.unwrap();
        let actual = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(actual, status, "unexpected status; body: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        validate(schema, &body);
        body
    }

    /// Creates a collection with the given management scope; answers its id.
    pub async fn collection(&self, management: &str) -> String {
        let body = self
            .json(
                self.post("/collections")
                    .json(&json!({"firmware": {"management": management}})),
                201,
                "Collection",
            )
            .await;
        assert_eq!(body["firmware"]["management"], management);
        body["collectionId"].as_str().unwrap().to_string()
    }

    /// Uploads bytes as `image` (multipart); answers the image record.
    pub async fn upload(&self, collection: &str, bytes: &[u8], filename: &str) -> Value {
        let form = reqwest::multipart::Form::new().part(
            "image",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(filename.to_string()),
        );
        self.json(
            self.post(&format!("/collections/{collection}/firmware"))
                .multipart(form),
            201,
            "CollectionImage",
        )
        .await
    }

    /// Uploads and sets the version; answers the image id.
    pub async fn image(&self, collection: &str, bytes: &[u8], version: &str) -> String {
        let image = self.upload(collection, bytes, "fw.bin").await;
        let id = image["imageId"].as_str().unwrap().to_string();
        let patched = self
            .json(
                self.patch(&format!("/collections/{collection}/firmware/{id}"))
                    .json(&json!({"version": version})),
                200,
                "CollectionImage",
            )
            .await;
        assert_eq!(patched["version"], version);
        id
    }

    pub async fn device(&self, collection: &str, body: Value) -> Value {
        self.json(
            self.post(&format!("/collections/{collection}/devices"))
                .json(&body),
            201,
            "Device",
        )
        .await
    }

    pub async fn patch_device(&self, collection: &str, device: &str, body: Value) -> Value {
        self.json(
            self.patch(&format!("/collections/{collection}/devices/{device}"))
                .json(&body),
            200,
            "Device",
        )
        .await
    }

    pub async fn patch_collection(&self, collection: &str, body: Value) -> Value {
        self.json(
            self.patch(&format!("/collections/{collection}"))
                .json(&body),
            200,
            "Collection",
        )
        .await
    }

    pub async fn checkin(&self, collection: &str, device: &str, body: Value) -> Value {
        self.json(
            self.post(&format!(
                "/collections/{collection}/devices/{device}/checkin"
            ))
            .json(&body),
            200,
            "CheckinResponse",
        )
        .await
    }

    /// An image's usage over the whole collection (one page of up to 1000 devices), without
    /// the page object.
    pub async fn usage(&self, collection: &str, image: &str) -> Value {
        let mut usage = self
            .json(
                self.get(&format!("/collections/{collection}/firmware/{image}/usage")),
                200,
                "FirmwareUsage",
            )
            .await;
        let page = usage.as_object_mut().unwrap().remove("page").unwrap();
        assert!(page["totalPages"].as_u64().unwrap() <= 1, "{page}");
        usage
    }

    /// Downloads a URL the server answered, with an optional Range; answers (status, bytes).
    pub async fn download(&self, url: &str, range: Option<&str>) -> (u16, Vec<u8>) {
        let mut request = self.http.get(url).bearer_auth(&self.token);
        if let Some(range) = range {
            request = request.header("range", range);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    }
}

/// Runs `curl -s` with `args` in `dir` (no proxy); answers (HTTP status, parsed JSON body or
/// Null when empty).
pub fn curl(dir: &Path, args: &[&str]) -> (u16, Value) {
    let output = Command::new("curl")
        .arg("-s")
        .args(["-w", "\n%{http_code}"])
        .args(args)
        .current_dir(dir)
        .env("no_proxy", "*")
        .env("NO_PROXY", "*")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .output()
        .expect("run curl");
    assert!(output.status.success(), "curl failed: {output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let (body, status) = text.rsplit_once('\n').unwrap();
    let value = if body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
    };
    (status.trim().parse().unwrap(), value)
}

/// Publishes `versions` pool records of type 101 named `name` (versions 1.0.0, 1.1.0, …;
/// versionNumbers 1, 2, …).
pub async fn afero_catalogue(ota: &Ota, name: &str, versions: usize) -> Vec<Value> {
    ota.create_type(101).await;
    let mut records = Vec::new();
    for i in 0..versions {
        let record = ota
            .publish(
                101,
                name,
                &format!("1.{i}.0"),
                &[],
                bytes(20 + i as u8, 3000),
            )
            .await;
        records.push(record);
    }
    records
}

/// Associates a pool record with a device type; answers the firmware image.
pub async fn associate(ota: &Ota, device_type: &str, record: &Value) -> Value {
    let response = ota
        .post(&format!("/deviceTypes/{device_type}/firmwareImages"))
        .json(record)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let image: Value = response.json().await.unwrap();
    validate("FirmwareImage", &image);
    image
}

/// Deterministic test bytes.
pub fn bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(31)
                .wrapping_add(u32::from(seed) * 7) as u8
        })
        .collect()
}
