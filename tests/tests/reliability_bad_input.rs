//! Bad-input corpus (issue 5): hostile inputs on every write endpoint, table-driven. Each must
//! answer a documented 4xx as problem+json, and none may leave anything behind: no blob, no
//! temp file, no record, no type, no tag, no image.

use std::io::{Read, Write};
use std::time::Duration;

use fwrepo_e2e::{blob_files, http, sha256_hex, temp_files, validate, Ota, TestServer};
use serde_json::{json, Value};

/// Largest upload the corpus server accepts, so "oversize" stays cheap.
const MAX_UPLOAD: usize = 64 * 1024;

struct Case {
    name: String,
    request: reqwest::RequestBuilder,
    status: u16,
    /// Acceptable problem kinds (the last path segment of `type`).
    kinds: &'static [&'static str],
}

fn case(
    name: impl Into<String>,
    request: reqwest::RequestBuilder,
    status: u16,
    kinds: &'static [&'static str],
) -> Case {
    Case {
        name: name.into(),
        request,
        status,
        kinds,
    }
}

fn form(parts: Vec<(&str, reqwest::multipart::Part)>) -> reqwest::multipart::Form {
    parts
        .into_iter()
        .fold(reqwest::multipart::Form::new(), |f, (name, part)| {
            f.part(name.to_string(), part)
        })
}

fn file(bytes: &[u8]) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("fw.bin")
}

/// Sends a raw request over TCP (for bodies reqwest will not send: truncated, lying
/// lengths). Answers the status line's code, or None when the server closed without one.
fn raw(port: u16, request: &[u8]) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    stream.shutdown(std::net::Shutdown::Write).ok();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, text))
}

#[tokio::test]
async fn hostile_inputs_on_write_endpoints_are_documented_4xx_and_keep_nothing() {
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .client("globex", &["ota:read", "ota:write", "admin"])
        .arg("--max-upload-bytes")
        .arg(MAX_UPLOAD.to_string())
        .start();
    let ota = Ota::new(&server, 0).await;
    let globex = Ota::new(&server, 1).await;

    // What exists before the corpus: one type, one record, one image, per partner.
    ota.create_type(101).await;
    let setup = ota
        .publish(
            101,
            "app",
            "1.0.0",
            &["branch:main"],
            b"setup firmware".to_vec(),
        )
        .await;
    let url = setup["url"].as_str().unwrap().to_string();
    let sha = setup["sha256"].as_str().unwrap().to_string();
    let image = ota
        .post("/deviceTypes/dt-1/firmwareImages")
        .json(&setup)
        .send()
        .await
        .unwrap();
    assert_eq!(
        image.status(),
        201,
        "setup image: {}",
        image.text().await.unwrap()
    );
    globex.create_type(102).await;
    let theirs = globex
        .publish(
            102,
            "theirs",
            "2.0.0",
            &["secret"],
            b"globex firmware".to_vec(),
        )
        .await;
    let their_url = theirs["url"].as_str().unwrap().to_string();
    let blobs_before = blob_files(&server.data_path());

    let acme = server.partner_url("acme");
    let octet = |body: Vec<u8>| {
        ota.post("/binaries")
            .header("content-type", "application/octet-stream")
            .body(body)
    };
    let pool = |body: Value| ota.post("/pool").json(&body);
    let record = |name: &str, version: &str, tags: Value| json!({"name": name, "type": 101, "version": version, "url": url, "tags": tags});
    let update = |name: &str, version: &str, tags: Value| json!({"name": name, "version": version, "url": url, "tags": tags});
    let long = "x".repeat(10_000);
    let many_tags: Vec<String> = (0..65).map(|i| format!("t{i}")).collect();
    let huge_tags: Vec<String> = (0..20_000).map(|i| format!("tag-{i}")).collect();
    let invalid_utf8_json = b"{\"name\":\"\xff\xfe\",\"type\":101}".to_vec();
    let overflow = "99999999999999999999999";

    let v = &["validation-failed"];
    let body_or_v: &[&str] = &["invalid-body", "validation-failed"];
    let mut cases = vec![
        // Uploads: oversize, malformed multipart, digests, content types, other partners.
        case("upload over the limit", octet(vec![7u8; MAX_UPLOAD + 1]), 413, &["payload-too-large"]),
        case(
            "multipart over the limit",
            ota.post("/binaries").multipart(form(vec![("file", file(&vec![8u8; MAX_UPLOAD + 1]))])),
            413,
            &["payload-too-large"],
        ),
        case(
            "multipart without boundary",
            ota.post("/binaries").header("content-type", "multipart/form-data").body("--x\r\n\r\nabc\r\n--x--\r\n"),
            400,
            &["invalid-body"],
        ),
        case("multipart with two files", ota.post("/binaries").multipart(form(vec![("a", file(b"one")), ("b", file(b"two"))])), 400, &["invalid-body"]),
        case(
            "multipart with no file",
            ota.post("/binaries").multipart(reqwest::multipart::Form::new().text("note", "none")),
            400,
            &["invalid-body"],
        ),
        case(
            "multipart never closed",
            ota.post("/binaries")
                .header("content-type", "multipart/form-data; boundary=XyZ")
                .body("--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\r\nhalf a file"),
            400,
            &["invalid-body"],
        ),
        case(
            "digest mismatch",
            octet(b"mismatching firmware".to_vec()).header("x-checksum-sha256", sha256_hex(b"something else")),
            400,
            &["digest-mismatch"],
        ),
        case(
            "content-digest mismatch",
            octet(b"mismatching firmware".to_vec()).header("content-digest", "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"),
            400,
            &["digest-mismatch"],
        ),
        case("malformed digest header", octet(b"fw".to_vec()).header("x-checksum-sha256", "../../etc/passwd"), 400, v),
        case("upload as text/plain", ota.post("/binaries").header("content-type", "text/plain").body("fw"), 415, &["unsupported-media-type"]),
        case("upload with no content type", ota.post("/binaries").body("fw"), 415, &["unsupported-media-type"]),
        case(
            "upload into another partner",
            http().post(format!("{}/binaries", server.partner_url("globex"))).bearer_auth(&ota.token).header("content-type", "application/octet-stream").body("fw"),
            404,
            &["not-found"],
        ),
        case("upload without a token", http().post(format!("{acme}/binaries")).header("content-type", "application/octet-stream").body("fw"), 401, &["unauthorized"]),
        // moveToRepository.
        case("move: malformed JSON", ota.post("/binaries/moveToRepository").header("content-type", "application/json").body("{\"value\":"), 400, &["invalid-body"]),
        case("move: invalid UTF-8", ota.post("/binaries/moveToRepository").header("content-type", "application/json").body(b"{\"value\":\"\xff\"}".to_vec()), 400, &["invalid-body"]),
        case("move: not a digest", ota.post("/binaries/moveToRepository").json(&json!({"value": "../../../etc/passwd"})), 400, v),
        case("move: unknown digest", ota.post("/binaries/moveToRepository").json(&json!({"value": sha256_hex(b"never uploaded")})), 404, &["not-found"]),
        case("move: another partner's blob", ota.post("/binaries/moveToRepository").json(&json!({"value": theirs["sha256"]})), 404, &["not-found"]),
        case("move: wrong content type", ota.post("/binaries/moveToRepository").header("content-type", "text/plain").body(format!("{{\"value\":\"{sha}\"}}")), 415, &["unsupported-media-type"]),
        case(
            "move: 2 MiB JSON body",
            ota.post("/binaries/moveToRepository").header("content-type", "application/json").body(format!("{{\"value\":\"{}\"}}", "a".repeat(2 << 20))),
            413,
            &["payload-too-large"],
        ),
        // Firmware types.
        case("type 0", ota.post("/types").json(&json!({"name": "zero", "type": 0})), 400, v),
        case("type 201", ota.post("/types").json(&json!({"name": "big", "type": 201})), 400, v),
        case("type overflowing i64", ota.post("/types").header("content-type", "application/json").body(format!("{{\"name\":\"o\",\"type\":{overflow}}}")), 400, body_or_v),
        case("type as a float", ota.post("/types").json(&json!({"name": "f", "type": 101.5})), 400, body_or_v),
        case("type name with control characters", ota.post("/types").json(&json!({"name": "a\u{0}b\u{1b}[31m", "type": 103})), 400, v),
        case("type name of 10,000 bytes", ota.post("/types").json(&json!({"name": long, "type": 103})), 400, v),
        case("type with invalid UTF-8", ota.post("/types").header("content-type", "application/json").body(invalid_utf8_json.clone()), 400, &["invalid-body"]),
        case("type: truncated JSON", ota.post("/types").header("content-type", "application/json").body("{\"name\":\"t\",\"ty"), 400, &["invalid-body"]),
        case("type: JSON array", ota.post("/types").json(&json!([1, 2, 3])), 400, &["invalid-body"]),
        case("type: form body", ota.post("/types").form(&[("name", "t"), ("type", "103")]), 415, &["unsupported-media-type"]),
        case("type update: path overflow", ota.put(&format!("/types/{overflow}")).json(&json!({"name": "x"})), 400, v),
        case("type update: negative path", ota.put("/types/-1").json(&json!({"name": "x"})), 400, v),
        case("type in another partner", http().post(format!("{}/types", server.partner_url("globex"))).bearer_auth(&ota.token).json(&json!({"name": "x", "type": 150})), 404, &["not-found"]),
        // Pool records.
        case("pool: name with control characters", pool(record("a\u{7}\r\nb", "1.0.1", json!([]))), 400, v),
        case("pool: name of 10,000 bytes", pool(record(&long, "1.0.1", json!([]))), 400, v),
        case("pool: tag with a comma", pool(record("app", "1.0.1", json!(["a,b"]))), 400, v),
        case("pool: tag with a NUL", pool(record("app", "1.0.1", json!(["a\u{0}b"]))), 400, v),
        case("pool: tag with a newline", pool(record("app", "1.0.1", json!(["../..\n/etc"]))), 400, v),
        case("pool: empty tag", pool(record("app", "1.0.1", json!([""]))), 400, v),
        case("pool: tag of 201 bytes", pool(record("app", "1.0.1", json!(["t".repeat(201)]))), 400, v),
        case("pool: 65 tags", pool(record("app", "1.0.1", json!(many_tags))), 400, v),
        case("pool: 20,000 tags", pool(record("app", "1.0.1", json!(huge_tags))), 400, v),
        case("pool: version of 10,000 bytes", pool(record("app", &long, json!([]))), 400, v),
        case("pool: type 4", pool(json!({"name": "dd", "type": 4, "version": "1.0.0", "url": url})), 400, v),
        case("pool: type overflowing", ota.post("/pool").header("content-type", "application/json").body(format!("{{\"name\":\"o\",\"type\":{overflow},\"version\":\"1\",\"url\":\"{url}\"}}")), 400, body_or_v),
        case("pool: unregistered type", pool(json!({"name": "n", "type": 199, "version": "1.0.0", "url": url})), 400, &["validation-failed", "not-found"]),
        case("pool: url with path traversal", pool(json!({"name": "n", "type": 101, "version": "1.0.2", "url": format!("{acme}/repository/sha256/../../../../etc/passwd")})), 400, v),
        case("pool: url of another server", pool(json!({"name": "n", "type": 101, "version": "1.0.2", "url": format!("http://example.invalid/v1/ota/partners/acme/repository/sha256/{sha}")})), 400, v),
        case("pool: another partner's url", pool(json!({"name": "n", "type": 101, "version": "1.0.2", "url": their_url})), 400, v),
        case("pool: url of a file URL", pool(json!({"name": "n", "type": 101, "version": "1.0.2", "url": "file:///etc/passwd"})), 400, v),
        case("pool: missing fields", pool(json!({"name": "n"})), 400, &["invalid-body"]),
        case("pool: invalid UTF-8", ota.post("/pool").header("content-type", "application/json").body(invalid_utf8_json.clone()), 400, &["invalid-body"]),
        case("pool: duplicate", pool(record("app", "1.0.0", json!([]))), 409, &["already-exists"]),
        case("pool: association with another partner", pool(json!({"name": "n", "type": 101, "version": "1.0.3", "url": url, "associations": {"globex": ["dt-9"]}})), 400, v),
        case("pool: into another partner", http().post(format!("{}/pool", server.partner_url("globex"))).bearer_auth(&ota.token).json(&record("n", "1.0.4", json!([]))), 404, &["not-found"]),
        case("pool update: version number overflow", ota.put(&format!("/pool/types/101/versionNumbers/{overflow}")).json(&update("app", "1.0.0", json!([]))), 400, v),
        case("pool update: version number 0", ota.put("/pool/types/101/versionNumbers/0").json(&update("app", "1.0.0", json!([]))), 404, &["not-found", "validation-failed"]),
        case("pool update: type overflow", ota.put(&format!("/pool/types/{overflow}/versionNumbers/1")).json(&update("app", "1.0.0", json!([]))), 400, v),
        case("pool update: tag with a comma", ota.put("/pool/types/101/versionNumbers/1").json(&update("app", "1.0.0", json!(["x,y"]))), 400, v),
        case("pool update: another partner's record", http().put(format!("{}/pool/types/102/versionNumbers/1", server.partner_url("globex"))).bearer_auth(&ota.token).json(&update("app", "9.9.9", json!([]))), 404, &["not-found"]),
        // Lists: integer overflow and garbage in paging and filters (reads, but parsed like writes).
        case("list: page overflow", ota.get(&format!("/pool?page={overflow}")), 400, &["invalid-paging"]),
        case("list: size 0", ota.get("/pool?size=0"), 400, &["invalid-paging"]),
        case("list: size 1001", ota.get("/pool?size=1001"), 400, &["invalid-paging"]),
        case("list: size overflow", ota.get(&format!("/pool?size={overflow}")), 400, &["invalid-paging"]),
        case("list: negative page", ota.get("/pool?page=-1"), 400, &["invalid-paging"]),
        case("list: unknown sort field", ota.get("/pool?sort=password,asc"), 400, &["invalid-paging"]),
        case("list: 17 tags", ota.get(&format!("/pool?tags={}", (0..17).map(|i| format!("t{i}")).collect::<Vec<_>>().join(","))), 400, &["invalid-query"]),
        // (A tag filter of invalid UTF-8 is decoded lossily, as form decoding does: it matches
        // nothing, 200. Not a write, so not in this table.)
        case("list: bad semver range", ota.get("/pool?versionReq=%3E%3D%3D1"), 400, &["invalid-query"]),
        case("list: bad commit", ota.get("/pool?commit=zz"), 400, &["invalid-query"]),
        case("exists: type overflow", ota.get(&format!("/pool/types/{overflow}/names/app/versions/1.0.0/exists")), 400, v),
        // Device-type images.
        case("image: device type with traversal", ota.post("/deviceTypes/..%2F..%2Fetc/firmwareImages").json(&setup), 400, v),
        case("image: device type with a space", ota.post("/deviceTypes/a%20b/firmwareImages").json(&setup), 400, v),
        case("image: device type of 65 bytes", ota.post(&format!("/deviceTypes/{}/firmwareImages", "d".repeat(65))).json(&setup), 400, v),
        case("image: invalid UTF-8 path", ota.post("/deviceTypes/%FF/firmwareImages").json(&setup), 400, v),
        case("image: truncated JSON", ota.post("/deviceTypes/dt-2/firmwareImages").header("content-type", "application/json").body("{\"versionNumber\":"), 400, &["invalid-body"]),
        case("image: unknown version number", ota.post("/deviceTypes/dt-2/firmwareImages").json(&json!({"name": "app", "type": 101, "version": "1.0.0", "versionNumber": "999", "url": url})), 404, &["not-found"]),
        case("image: version number overflow", ota.post("/deviceTypes/dt-2/firmwareImages").json(&json!({"name": "app", "type": 101, "version": "1.0.0", "versionNumber": overflow, "url": url})), 400, body_or_v),
        case("image: another partner's record", ota.post("/deviceTypes/dt-2/firmwareImages").json(&theirs), 404, &["not-found", "validation-failed"]),
        case("image delete: overflow", ota.delete(&format!("/deviceTypes/dt-1/firmwareImages/types/101/versionNumbers/{overflow}")), 400, v),
        case("image delete: another partner", http().delete(format!("{}/deviceTypes/dt-1/firmwareImages/types/102/versionNumbers/1", server.partner_url("globex"))).bearer_auth(&ota.token), 404, &["not-found"]),
        case("push: image id overflow", ota.put(&format!("/deviceTypes/dt-1/firmwareImages/{overflow}/push")).json(&json!({})), 400, body_or_v),
        // Partner ids in the path.
        case("partner with traversal", http().post(format!("{}/v1/ota/partners/..%2F..%2Fetc/types", server.url)).bearer_auth(&ota.token).json(&json!({"name": "x", "type": 150})), 404, &["not-found", "validation-failed"]),
        case("partner of 65 bytes", http().post(format!("{}/v1/ota/partners/{}/types", server.url, "p".repeat(65))).bearer_auth(&ota.token).json(&json!({"name": "x", "type": 150})), 404, &["not-found", "validation-failed"]),
        // The token endpoint.
        case("token: unknown grant", http().post(format!("{}/oauth/token", server.url)).form(&[("grant_type", "password")]), 400, &["unsupported-grant-type"]),
        case("token: no grant", http().post(format!("{}/oauth/token", server.url)).form(&[("client_id", "x")]), 400, &["invalid-token-request"]),
        case("token: invalid UTF-8", http().post(format!("{}/oauth/token", server.url)).header("content-type", "application/x-www-form-urlencoded").body(b"grant_type=client_credentials&client_id=%FF&client_secret=\xff".to_vec()), 401, &["invalid-client"]),
        case("token: JSON body", http().post(format!("{}/oauth/token", server.url)).json(&json!({"grant_type": "client_credentials"})), 415, &["unsupported-media-type"]),
    ];
    // A wrong secret is 401, not 400.
    cases.push(case(
        "token: wrong secret",
        http().post(format!("{}/oauth/token", server.url)).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", server.client(0).client_id.as_str()),
            ("client_secret", "wrong"),
        ]),
        401,
        &["invalid-client"],
    ));

    let mut failures = Vec::new();
    let total = cases.len();
    for Case {
        name,
        request,
        status,
        kinds,
    } in cases
    {
        // A server that answers before reading a large body (413) closes that connection; a
        // client retries a request that found its pooled connection closed.
        let retry = request.try_clone();
        let response = match request.send().await {
            Ok(response) => response,
            Err(first) => match retry {
                Some(again) => match again.send().await {
                    Ok(response) => response,
                    Err(e) => {
                        failures.push(format!("{name}: no response: {first} / {e}"));
                        continue;
                    }
                },
                None => {
                    failures.push(format!("{name}: no response: {first}"));
                    continue;
                }
            },
        };
        let got = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let kind = body["type"]
            .as_str()
            .unwrap_or("")
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string();
        if got != status
            || !kinds.contains(&kind.as_str())
            || !content_type.starts_with("application/problem+json")
        {
            failures.push(format!(
                "{name}: expected {status} {kinds:?}, got {got} {content_type} {}",
                text.chars().take(300).collect::<String>()
            ));
            continue;
        }
        validate("Problem", &body);
        assert_eq!(body["status"], json!(got), "{name}: problem status member");
    }

    // Bodies that lie about their length or stop half-way: a 4xx or a closed connection.
    let token = &ota.token;
    let port = server.port;
    let raw_cases: Vec<(&str, Vec<u8>)> = vec![
        ("upload truncated (Content-Length 100000, 10 bytes sent)", format!("POST /v1/ota/partners/acme/binaries HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n0123456789").into_bytes()),
        ("upload chunked, never terminated", format!("POST /v1/ota/partners/acme/binaries HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n").into_bytes()),
        ("upload chunked, bad chunk size", format!("POST /v1/ota/partners/acme/binaries HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n").into_bytes()),
        ("multipart truncated mid-file", format!("POST /v1/ota/partners/acme/binaries HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 5000\r\n\r\n--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\r\nhalf").into_bytes()),
        ("pool JSON truncated", format!("POST /v1/ota/partners/acme/pool HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{{\"name\":\"trunc\",\"type\":101,").into_bytes()),
        ("declared 2^64 Content-Length", format!("POST /v1/ota/partners/acme/binaries HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\nContent-Length: 18446744073709551616\r\n\r\nabc").into_bytes()),
    ];
    let raw_total = raw_cases.len();
    for (name, request) in raw_cases {
        let outcome = tokio::task::spawn_blocking(move || raw(port, &request))
            .await
            .unwrap();
        match outcome {
            None => {}
            Some((status, _)) if (400..500).contains(&status) => {}
            Some((status, text)) => failures.push(format!(
                "{name}: expected a 4xx or a closed connection, got {status}: {}",
                text.chars().take(300).collect::<String>()
            )),
        }
    }

    // Nothing was kept: blobs, temp files, records, types, tags, images, for both partners.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        blob_files(&server.data_path()),
        blobs_before,
        "a rejected request left a blob"
    );
    assert_eq!(
        temp_files(&server.data_path()),
        0,
        "a rejected request left a temp file"
    );
    for (who, expected_records, expected_types, expected_tags) in [
        (&ota, 1, 1, json!(["branch:main"])),
        (&globex, 1, 1, json!(["secret"])),
    ] {
        let records: Value = who.get_json("/pool").await;
        assert_eq!(
            records["totalElements"],
            json!(expected_records),
            "records after the corpus: {records}"
        );
        let types: Value = who.get_json("/types").await;
        let count = types
            .as_array()
            .map(|a| a.len())
            .or_else(|| types["totalElements"].as_u64().map(|n| n as usize));
        assert_eq!(
            count,
            Some(expected_types),
            "types after the corpus: {types}"
        );
        let tags: Value = who.get_json("/tags").await;
        let names: Vec<Value> = tags
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|t| {
                        if t.is_string() {
                            t.clone()
                        } else {
                            t["tag"].clone()
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            Value::Array(names),
            expected_tags,
            "tags after the corpus: {tags}"
        );
    }
    let images: Value = ota.get_json("/deviceTypes/dt-2/firmwareImages").await;
    assert!(
        images["totalElements"] == json!(0) || images == json!([]),
        "images after the corpus: {images}"
    );
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases answered other than documented:\n{}",
        failures.len(),
        total + raw_total,
        failures.join("\n")
    );
}
