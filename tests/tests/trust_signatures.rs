//! Signatures and provenance (issue 12) end to end: the real server, the real `fwrepo` CLI
//! and Debian's `minisign`. Signatures made by `fwrepo publish --sign-key` verify with
//! `minisign -V` and the other way round; `fwrepo pull --verify` refuses unsigned, wrongly
//! signed and tampered binaries; the server verifies signatures by trusted keys and refuses
//! promoting an unsigned binary to a protected tag; the provenance statement validates
//! against the official in-toto/SLSA definitions.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fwrepo_e2e::{expect_problem, sha256_hex, validate, workspace_root, Ota, TestServer};
use serde_json::{json, Value};

/// acme: 0 every scope, 1 read only, 2 write without admin; beta: 3 every scope.
fn server() -> TestServer {
    TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .client("acme", &["ota:read"])
        .client("acme", &["ota:read", "ota:write"])
        .client("beta", &["ota:read", "ota:write", "admin"])
        .start()
}

/// A key pair made by Debian's minisign (`-W`: no password).
struct Keys {
    secret: PathBuf,
    public_file: PathBuf,
    public: String,
}

fn run(command: &mut Command) -> Output {
    command.output().expect("run command")
}

fn minisign(args: &[&str]) -> Output {
    run(Command::new("minisign").args(args))
}

fn keygen(dir: &Path, name: &str) -> Keys {
    let secret = dir.join(format!("{name}.key"));
    let public_file = dir.join(format!("{name}.pub"));
    let out = minisign(&[
        "-G",
        "-W",
        "-p",
        public_file.to_str().unwrap(),
        "-s",
        secret.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "minisign -G: {out:?}");
    let text = std::fs::read_to_string(&public_file).unwrap();
    let public = text.lines().nth(1).unwrap().trim().to_string();
    Keys {
        secret,
        public_file,
        public,
    }
}

/// Debian's minisign signs `file`; answers the `.minisig` text.
fn minisign_sign(keys: &Keys, file: &Path) -> String {
    let sig = file.with_extension("minisig-debian");
    let out = minisign(&[
        "-S",
        "-s",
        keys.secret.to_str().unwrap(),
        "-m",
        file.to_str().unwrap(),
        "-x",
        sig.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "minisign -S: {out:?}");
    std::fs::read_to_string(sig).unwrap()
}

/// Whether Debian's `minisign -Vm FILE -x SIG -P KEY` accepts the signature.
fn minisign_verifies(public: &str, file: &Path, signature: &str) -> bool {
    let sig = file.with_extension("minisig-check");
    std::fs::write(&sig, signature).unwrap();
    minisign(&[
        "-V",
        "-q",
        "-m",
        file.to_str().unwrap(),
        "-x",
        sig.to_str().unwrap(),
        "-P",
        public,
    ])
    .status
    .success()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `fwrepo` as client `index`, run in `dir` with the cache under it.
fn fwrepo(server: &TestServer, index: usize, dir: &Path, args: &[&str]) -> Output {
    run(server
        .fwrepo(index, dir, &dir.join("cache"))
        .env_remove("FWREPO_SIGN_KEY")
        .env_remove("FWREPO_SIGN_KEY_PASSWORD")
        .args(args))
}

fn ok_json(out: Output) -> Value {
    assert!(out.status.success(), "fwrepo failed: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `fwrepo publish FILE` of type 101 with `extra` flags; answers the outcome.
fn publish(server: &TestServer, dir: &Path, file: &Path, version: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "publish",
        file.to_str().unwrap(),
        "--type",
        "101",
        "--name",
        "app",
        "--version",
        version,
        "--create-type",
        "--json",
    ];
    args.extend_from_slice(extra);
    ok_json(fwrepo(server, 0, dir, &args))
}

async fn signatures(ota: &Ota, sha: &str) -> Vec<Value> {
    let response = ota
        .get(&format!("/repository/sha256/{sha}/signatures"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    validate("SignatureList", &body);
    body.as_array().unwrap().clone()
}

async fn post_signature(ota: &Ota, sha: &str, text: &str) -> reqwest::Response {
    ota.post(&format!("/repository/sha256/{sha}/signatures"))
        .header("content-type", "text/plain")
        .body(text.to_string())
        .send()
        .await
        .unwrap()
}

async fn trust(ota: &Ota, keys: &Keys) -> Value {
    let response = ota
        .post("/admin/trustedKeys")
        .json(&json!({"publicKey": keys.public, "description": "release key"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    validate("TrustedKey", &body);
    body
}

/// Uploads `bytes` into the repository (no record); answers the digest.
async fn store(ota: &Ota, bytes: &[u8]) -> String {
    let sha = ota.upload(bytes.to_vec()).await;
    ota.move_to_repository(&sha).await;
    sha
}

fn pull(server: &TestServer, dir: &Path, output: &Path, keys: &[&Path], extra: &[&str]) -> Output {
    let mut args = vec![
        "pull",
        "--type",
        "101",
        "--name",
        "app",
        "-o",
        output.to_str().unwrap(),
        "--verify",
    ];
    for key in keys {
        args.extend(["--trusted-key", key.to_str().unwrap()]);
    }
    args.extend_from_slice(extra);
    fwrepo(server, 0, dir, &args)
}

/// Runs tests/tools/validate-provenance.sh (official in-toto-attestation bindings).
fn validate_provenance(statement: &Path) -> Output {
    let script = workspace_root().join("tests/tools/validate-provenance.sh");
    let out = run(Command::new("bash").arg(script).arg(statement));
    assert_ne!(
        out.status.code(),
        Some(3),
        "in-toto-attestation could not be installed: {}",
        stderr(&out)
    );
    out
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = run(Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE"));
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn publish_sign_key_signature_verifies_with_debian_minisign_and_pull_verify() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(dir.path(), "release");
    let file = write(dir.path(), "app.bin", b"firmware signed by fwrepo publish");
    let outcome = publish(
        &server,
        dir.path(),
        &file,
        "1.0.0",
        &["--sign-key", keys.secret.to_str().unwrap()],
    );
    let sha = outcome["record"]["sha256"].as_str().unwrap().to_string();
    let ota = Ota::new(&server, 0).await;
    let listed = signatures(&ota, &sha).await;
    assert_eq!(listed.len(), 1);
    let key_line = std::fs::read_to_string(&keys.public_file).unwrap();
    let key_id = listed[0]["keyId"].as_str().unwrap();
    // minisign writes the id in its comment without leading zeros ("0A1B…" as "A1B…").
    assert!(
        key_line.contains(key_id.trim_start_matches('0')),
        "{key_line} names {key_id}"
    );
    assert_eq!(
        listed[0]["verified"], false,
        "the partner trusts no key yet"
    );

    // The raw .minisig served next to the download verifies with Debian's minisign alone.
    let raw = ota
        .get(&format!("/repository/sha256/{sha}/signatures/{key_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    assert!(raw.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let minisig = raw.text().await.unwrap();
    assert!(minisign_verifies(&keys.public, &file, &minisig));
    let other = write(
        dir.path(),
        "other.bin",
        b"firmware signed by fwrepo publisH",
    );
    assert!(!minisign_verifies(&keys.public, &other, &minisig));

    let output = dir.path().join("pulled.bin");
    let out = pull(&server, dir.path(), &output, &[&keys.public_file], &[]);
    assert!(out.status.success(), "pull --verify: {}", stderr(&out));
    assert!(stderr(&out).contains(&format!("trusted key {key_id}")));
    assert_eq!(
        std::fs::read(&output).unwrap(),
        std::fs::read(&file).unwrap()
    );
    // The base64 form of the key works too, and so does a cached pull.
    std::fs::remove_file(&output).unwrap();
    let out = pull(
        &server,
        dir.path(),
        &output,
        &[Path::new(&keys.public)],
        &["--json"],
    );
    let pulled = ok_json(out);
    assert_eq!(pulled["cached"], true);
    assert_eq!(pulled["verified_by"], key_id);
}

#[tokio::test]
async fn an_encrypted_key_from_the_environment_signs_and_keygen_keys_verify_with_minisign() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("ci");
    let out = run(server
        .fwrepo(0, dir.path(), &dir.path().join("cache"))
        .env("FWREPO_SIGN_KEY_PASSWORD", "correct horse battery")
        .args(["keygen", "--output", prefix.to_str().unwrap()]));
    assert!(out.status.success(), "keygen: {}", stderr(&out));
    let secret = dir.path().join("ci.key");
    let public_text = std::fs::read_to_string(dir.path().join("ci.pub")).unwrap();
    let public = public_text.lines().nth(1).unwrap().to_string();
    let file = write(
        dir.path(),
        "fw.bin",
        b"signed with a key from the environment",
    );

    let publish_with = |password: &str| {
        run(server
            .fwrepo(0, dir.path(), &dir.path().join("cache"))
            .env("FWREPO_SIGN_KEY", &secret)
            .env("FWREPO_SIGN_KEY_PASSWORD", password)
            .args([
                "publish",
                file.to_str().unwrap(),
                "--type",
                "101",
                "--name",
                "fw",
            ])
            .args(["--version", "2.0.0", "--create-type", "--json"]))
    };
    let refused = publish_with("wrong password");
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("secret key"),
        "{}",
        stderr(&refused)
    );
    let outcome = ok_json(publish_with("correct horse battery"));
    let sha = outcome["record"]["sha256"].as_str().unwrap();
    let ota = Ota::new(&server, 0).await;
    let listed = signatures(&ota, sha).await;
    assert_eq!(listed.len(), 1);
    let minisig = listed[0]["signature"].as_str().unwrap();
    assert!(minisign_verifies(&public, &file, minisig));
}

#[tokio::test]
async fn a_debian_minisign_signature_is_accepted_by_the_server_and_pull_verify() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(dir.path(), "qa");
    let ota = Ota::new(&server, 0).await;
    ota.create_type(101).await;
    let bytes = b"firmware signed by Debian's minisign".to_vec();
    let record = ota.publish(101, "app", "1.0.0", &[], bytes.clone()).await;
    let sha = record["sha256"].as_str().unwrap();
    let file = write(dir.path(), "app.bin", &bytes);
    let minisig = minisign_sign(&keys, &file);

    // Trusted by the partner: the server verifies it against the blob.
    trust(&ota, &keys).await;
    let response = post_signature(&ota, sha, &minisig).await;
    assert_eq!(response.status(), 201);
    let stored: Value = response.json().await.unwrap();
    validate("Signature", &stored);
    assert_eq!(stored["verified"], true);
    assert!(stored["verifiedTimestamp"].is_u64());
    // The same key again replaces its signature (200), never a second one.
    let again = post_signature(&ota, sha, &minisig).await;
    assert_eq!(again.status(), 200);
    assert_eq!(signatures(&ota, sha).await.len(), 1);

    let output = dir.path().join("out.bin");
    let out = pull(
        &server,
        dir.path(),
        &output,
        &[&keys.public_file],
        &["--no-cache"],
    );
    assert!(out.status.success(), "pull --verify: {}", stderr(&out));
    assert_eq!(std::fs::read(&output).unwrap(), bytes);
}

#[tokio::test]
async fn pull_verify_refuses_unsigned_untrusted_and_wrongly_signed_binaries() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(dir.path(), "release");
    let stranger = keygen(dir.path(), "stranger");
    let ota = Ota::new(&server, 0).await;
    ota.create_type(101).await;
    let bytes = b"the binary QA wants to flash".to_vec();
    let record = ota.publish(101, "app", "1.0.0", &[], bytes.clone()).await;
    let sha = record["sha256"].as_str().unwrap().to_string();
    let output = dir.path().join("out.bin");

    let refused = |out: Output, why: &str| {
        assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
        assert!(stderr(&out).contains(why), "{}", stderr(&out));
        assert!(!output.exists(), "a refused binary is not left at --output");
    };
    // Unsigned: refused before anything is written, with or without the cache.
    refused(
        pull(&server, dir.path(), &output, &[&keys.public_file], &[]),
        "no signature",
    );
    refused(
        pull(
            &server,
            dir.path(),
            &output,
            &[&keys.public_file],
            &["--no-cache"],
        ),
        "no signature",
    );

    // Signed, but by a key the puller does not trust.
    let file = write(dir.path(), "app.bin", &bytes);
    let by_stranger = minisign_sign(&stranger, &file);
    assert_eq!(post_signature(&ota, &sha, &by_stranger).await.status(), 201);
    refused(
        pull(
            &server,
            dir.path(),
            &output,
            &[&keys.public_file],
            &["--no-cache"],
        ),
        &format!("untrusted key {}", key_id(&by_stranger)),
    );
    assert!(
        !dir.path().join("out.bin.part").exists(),
        "the download is removed"
    );

    // A signature by the trusted key over other bytes, attached to this digest.
    let decoy = write(dir.path(), "decoy.bin", b"the binary an attacker signed");
    let wrong = minisign_sign(&keys, &decoy);
    assert_eq!(post_signature(&ota, &sha, &wrong).await.status(), 201);
    refused(
        pull(&server, dir.path(), &output, &[&keys.public_file], &[]),
        "does NOT verify",
    );

    // A good signature whose trusted comment was altered: the global signature fails.
    let good = minisign_sign(&keys, &file);
    let tampered = good.replacen("\ntrusted comment: ", "\ntrusted comment: promoted ", 1);
    assert_ne!(tampered, good);
    assert_eq!(post_signature(&ota, &sha, &tampered).await.status(), 200);
    assert!(!minisign_verifies(&keys.public, &file, &tampered));
    refused(
        pull(
            &server,
            dir.path(),
            &output,
            &[&keys.public_file],
            &["--no-cache"],
        ),
        "does NOT verify",
    );

    // The untampered signature is accepted.
    assert_eq!(post_signature(&ota, &sha, &good).await.status(), 200);
    let out = pull(
        &server,
        dir.path(),
        &output,
        &[&keys.public_file],
        &["--no-cache"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The key id minisign prints for a `.minisig` (bytes 2..10 of the signature line, LE).
fn key_id(minisig: &str) -> String {
    use base64::Engine;
    let line = minisig.lines().nth(1).unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(line)
        .unwrap();
    let id = u64::from_le_bytes(raw[2..10].try_into().unwrap());
    format!("{id:016X}")
}

#[tokio::test]
async fn a_tampered_blob_fails_pull_verify() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(dir.path(), "release");
    let file = write(
        dir.path(),
        "app.bin",
        b"bytes that will be altered on the server",
    );
    let outcome = publish(
        &server,
        dir.path(),
        &file,
        "1.0.0",
        &["--sign-key", keys.secret.to_str().unwrap()],
    );
    let sha = outcome["record"]["sha256"].as_str().unwrap();
    let blob = blob_path(&server.data_path(), sha);
    std::fs::write(&blob, b"bytes that were altered on the server!!!").unwrap();
    let output = dir.path().join("out.bin");
    let out = pull(
        &server,
        dir.path(),
        &output,
        &[&keys.public_file],
        &["--no-cache"],
    );
    assert!(!out.status.success(), "a tampered blob must be refused");
    assert!(!output.exists(), "{}", stderr(&out));
}

fn blob_path(data: &Path, sha: &str) -> PathBuf {
    let found = walk(&data.join("blobs/sha256"))
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == sha));
    found.unwrap_or_else(|| panic!("blob {sha} not under {}", data.display()))
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn signatures_by_trusted_keys_are_verified_on_the_server() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(dir.path(), "release");
    let ota = Ota::new(&server, 0).await;
    let bytes = b"verified on upload".to_vec();
    let sha = store(&ota, &bytes).await;
    let trusted = trust(&ota, &keys).await;
    let key_id = trusted["keyId"].as_str().unwrap().to_string();
    let listed: Value = ota.get_json("/admin/trustedKeys").await;
    validate("TrustedKeyList", &listed);
    assert_eq!(listed[0]["publicKey"], keys.public.as_str());

    let decoy = write(dir.path(), "decoy.bin", b"other bytes");
    let wrong = minisign_sign(&keys, &decoy);
    let body = expect_problem(
        post_signature(&ota, &sha, &wrong).await,
        422,
        "signature-not-verified",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains(&sha));
    assert!(
        signatures(&ota, &sha).await.is_empty(),
        "nothing half-written"
    );

    let file = write(dir.path(), "app.bin", &bytes);
    assert_eq!(
        post_signature(&ota, &sha, &minisign_sign(&keys, &file))
            .await
            .status(),
        201
    );
    assert_eq!(signatures(&ota, &sha).await[0]["verified"], true);
    // A key no longer trusted no longer vouches for the signature.
    let removed = ota
        .delete(&format!("/admin/trustedKeys/{key_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    assert_eq!(signatures(&ota, &sha).await[0]["verified"], false);
    let again = ota
        .delete(&format!("/admin/trustedKeys/{key_id}"))
        .send()
        .await
        .unwrap();
    expect_problem(again, 404, "not-found").await;
}

#[tokio::test]
async fn promoting_to_a_protected_tag_needs_a_trusted_signature() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let release = keygen(dir.path(), "release");
    let stranger = keygen(dir.path(), "stranger");
    let ota = Ota::new(&server, 0).await;
    ota.create_type(101).await;
    let policy = ota
        .put("/admin/signingPolicy")
        .json(&json!({"protectedTags": ["released"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(policy.status(), 200);
    let policy: Value = policy.json().await.unwrap();
    validate("SigningPolicy", &policy);
    trust(&ota, &release).await;

    let bytes = b"release candidate".to_vec();
    let record = ota
        .publish(101, "app", "1.0.0", &["rc"], bytes.clone())
        .await;
    let sha = record["sha256"].as_str().unwrap().to_string();
    let path = format!(
        "/pool/types/101/versionNumbers/{}",
        record["versionNumber"].as_str().unwrap()
    );
    let promote = |tags: Vec<&str>| {
        let mut body = record.clone();
        body["tags"] = json!(tags);
        let body = json!({"name": body["name"], "version": body["version"], "url": body["url"], "tags": body["tags"]});
        ota.put(&path).json(&body).send()
    };
    let refused = expect_problem(
        promote(vec!["rc", "released"]).await.unwrap(),
        409,
        "unsigned-protected-record",
    )
    .await;
    let detail = refused["detail"].as_str().unwrap();
    assert!(
        detail.contains("released") && detail.contains(&sha),
        "{detail}"
    );
    // Creating a record that carries it is refused the same way.
    let url = record["url"].as_str().unwrap();
    let create = ota
        .post("/pool")
        .json(&json!({"name": "app", "type": 101, "version": "1.0.1", "url": url, "tags": ["released"]}))
        .send()
        .await
        .unwrap();
    expect_problem(create, 409, "unsigned-protected-record").await;

    // A signature by a key the partner does not trust does not count.
    let file = write(dir.path(), "app.bin", &bytes);
    assert_eq!(
        post_signature(&ota, &sha, &minisign_sign(&stranger, &file))
            .await
            .status(),
        201
    );
    expect_problem(
        promote(vec!["released"]).await.unwrap(),
        409,
        "unsigned-protected-record",
    )
    .await;

    // Signed by the trusted key: the promotion goes through.
    assert_eq!(
        post_signature(&ota, &sha, &minisign_sign(&release, &file))
            .await
            .status(),
        201
    );
    let promoted = promote(vec!["rc", "released"]).await.unwrap();
    assert_eq!(promoted.status(), 204);
    let promoted: Value = ota.get_json(&path).await;
    validate("PoolRecord", &promoted);
    assert!(promoted["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("released")));

    // The CLI publishes straight to a protected tag when it signs with a trusted key, and
    // is refused without a key.
    let next = write(dir.path(), "next.bin", b"the next release");
    let out = fwrepo(
        &server,
        0,
        dir.path(),
        &[
            "publish",
            next.to_str().unwrap(),
            "--type",
            "101",
            "--name",
            "app",
            "--version",
            "1.1.0",
            "--tag",
            "released",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unsigned-protected-record"),
        "{}",
        stderr(&out)
    );
    let outcome = publish(
        &server,
        dir.path(),
        &next,
        "1.1.0",
        &[
            "--tag",
            "released",
            "--sign-key",
            release.secret.to_str().unwrap(),
        ],
    );
    assert!(outcome["record"]["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("released")));
}

#[tokio::test]
async fn other_partners_signatures_and_provenance_are_not_found() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(dir.path(), "release");
    let acme = Ota::new(&server, 0).await;
    let beta = Ota::new(&server, 3).await;
    let bytes = b"acme's firmware".to_vec();
    let sha = store(&acme, &bytes).await;
    let file = write(dir.path(), "app.bin", &bytes);
    let minisig = minisign_sign(&keys, &file);
    assert_eq!(post_signature(&acme, &sha, &minisig).await.status(), 201);

    // Beta names acme's partner: not found. Beta under its own partner: it holds no such
    // binary, so not found either, for reading and for writing.
    let acme_path = format!("{}/repository/sha256/{sha}/signatures", acme.base);
    let response = beta
        .http
        .get(&acme_path)
        .bearer_auth(&beta.token)
        .send()
        .await
        .unwrap();
    expect_problem(response, 404, "not-found").await;
    expect_problem(
        post_signature(&beta, &sha, &minisig).await,
        404,
        "not-found",
    )
    .await;
    let listed = beta
        .get(&format!("/repository/sha256/{sha}/signatures"))
        .send()
        .await
        .unwrap();
    expect_problem(listed, 404, "not-found").await;
    let key = key_id(&minisig);
    let raw = beta
        .get(&format!("/repository/sha256/{sha}/signatures/{key}"))
        .send()
        .await
        .unwrap();
    expect_problem(raw, 404, "not-found").await;
    let provenance = beta
        .get(&format!("/repository/sha256/{sha}/provenance"))
        .send()
        .await
        .unwrap();
    expect_problem(provenance, 404, "not-found").await;

    // Beta holding the same bytes sees only its own (no) signatures.
    store(&beta, &bytes).await;
    assert!(signatures(&beta, &sha).await.is_empty());
    // Trusted keys and the policy are per partner and need the admin scope.
    trust(&acme, &keys).await;
    let listed: Value = beta.get_json("/admin/trustedKeys").await;
    assert_eq!(listed, json!([]));
    let write_only = Ota::new(&server, 2).await;
    expect_problem(
        write_only.get("/admin/trustedKeys").send().await.unwrap(),
        403,
        "forbidden",
    )
    .await;
    let read_only = Ota::new(&server, 1).await;
    expect_problem(
        post_signature(&read_only, &sha, &minisig).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        post_signature(&write_only, &sha, &minisig).await.status(),
        200
    );
}

#[tokio::test]
async fn malformed_signatures_keys_and_provenance_have_problem_types() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(dir.path(), "release");
    let ota = Ota::new(&server, 0).await;
    let bytes = b"firmware".to_vec();
    let sha = store(&ota, &bytes).await;

    for bad in [
        "",
        "not a signature",
        "untrusted comment: x\nAAAA\ntrusted comment: y\nBBBB\n",
    ] {
        expect_problem(
            post_signature(&ota, &sha, bad).await,
            400,
            "invalid-signature",
        )
        .await;
    }
    let huge = format!("untrusted comment: {}\n", "x".repeat(5000));
    expect_problem(
        post_signature(&ota, &sha, &huge).await,
        413,
        "payload-too-large",
    )
    .await;
    let unknown = "ab".repeat(32);
    let file = write(dir.path(), "app.bin", &bytes);
    let minisig = minisign_sign(&keys, &file);
    expect_problem(
        post_signature(&ota, &unknown, &minisig).await,
        404,
        "not-found",
    )
    .await;
    let missing = ota
        .get(&format!(
            "/repository/sha256/{sha}/signatures/0123456789ABCDEF"
        ))
        .send()
        .await
        .unwrap();
    expect_problem(missing, 404, "not-found").await;

    let bad_key = ota
        .post("/admin/trustedKeys")
        .json(&json!({"publicKey": "RWQ not a key"}))
        .send()
        .await
        .unwrap();
    expect_problem(bad_key, 400, "invalid-public-key").await;
    trust(&ota, &keys).await;
    let twice = ota
        .post("/admin/trustedKeys")
        .json(&json!({"publicKey": std::fs::read_to_string(&keys.public_file).unwrap()}))
        .send()
        .await
        .unwrap();
    expect_problem(twice, 409, "already-exists").await;

    let statement = |predicate_type: &str, digest: &str| {
        json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "app.bin", "digest": {"sha256": digest}}],
            "predicateType": predicate_type,
            "predicate": {
                "buildDefinition": {"buildType": "https://example/b", "externalParameters": {"a": 1}},
                "runDetails": {"builder": {"id": "https://example/builder"}}
            }
        })
        .to_string()
    };
    let attach = |text: String, signature: String| {
        ota.post(&format!("/repository/sha256/{sha}/provenance"))
            .json(&json!({"statement": text, "signature": signature}))
            .send()
    };
    let sign_text =
        |text: &str| minisign_sign(&keys, &write(dir.path(), "statement.json", text.as_bytes()));
    for text in [
        statement("https://slsa.dev/provenance/v0.2", &sha),
        statement("https://slsa.dev/provenance/v1", &unknown),
        "{".to_string(),
        format!("{{\"pad\": \"{}\"}}", "x".repeat(70 * 1024)),
    ] {
        let signature = sign_text(&text);
        expect_problem(
            attach(text, signature).await.unwrap(),
            400,
            "invalid-provenance",
        )
        .await;
    }
    let good = statement("https://slsa.dev/provenance/v1", &sha);
    let over_other = sign_text("other bytes");
    let refused = attach(good.clone(), over_other).await.unwrap();
    expect_problem(refused, 422, "signature-not-verified").await;
    expect_problem(
        attach(good.clone(), "junk".into()).await.unwrap(),
        400,
        "invalid-signature",
    )
    .await;
    let signature = sign_text(&good);
    let stored = attach(good, signature).await.unwrap();
    assert_eq!(stored.status(), 201);
    let stored: Value = stored.json().await.unwrap();
    validate("Provenance", &stored);
    assert_eq!(stored["verified"], true);
}

#[tokio::test]
async fn publish_attaches_signed_provenance_that_validates_against_in_toto_slsa() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("src");
    std::fs::create_dir(&source).unwrap();
    git(&source, &["init", "-q", "-b", "main"]);
    std::fs::write(source.join("main.c"), "int main(void) { return 0; }\n").unwrap();
    git(&source, &["add", "."]);
    git(&source, &["commit", "-q", "-m", "first"]);
    git(
        &source,
        &["remote", "add", "origin", "https://git.example/acme/fw.git"],
    );
    let commit = git(&source, &["rev-parse", "HEAD"]);
    let keys = keygen(dir.path(), "release");
    let file = write(dir.path(), "fw.bin", b"firmware with provenance");
    let written = dir.path().join("written.intoto.json");
    let out = run(server
        .fwrepo(0, &source, &dir.path().join("cache"))
        .env("GITLAB_CI", "true")
        .env("CI_PIPELINE_ID", "4242")
        .env("CI_JOB_ID", "77")
        .env("CI_JOB_URL", "https://gitlab.example/acme/fw/-/jobs/77")
        .args([
            "publish",
            file.to_str().unwrap(),
            "--type",
            "101",
            "--name",
            "fw",
        ])
        .args(["--version", "3.1.0", "--create-type", "--json"])
        .args(["--sign-key", keys.secret.to_str().unwrap()])
        .args(["--provenance-out", written.to_str().unwrap()]));
    let outcome = ok_json(out);
    let sha = outcome["record"]["sha256"].as_str().unwrap().to_string();
    assert_eq!(sha, sha256_hex(b"firmware with provenance"));

    // `fwrepo provenance` prints the statement exactly as signed, after verifying it.
    let statement_file = dir.path().join("statement.json");
    let signature_file = dir.path().join("statement.minisig");
    let out = fwrepo(
        &server,
        1,
        dir.path(),
        &[
            "provenance",
            &sha,
            "--trusted-key",
            keys.public_file.to_str().unwrap(),
            "--signature-out",
            signature_file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(&statement_file, &out.stdout).unwrap();
    assert!(
        out.stdout == std::fs::read(&written).unwrap(),
        "printed as written"
    );
    let minisig = std::fs::read_to_string(&signature_file).unwrap();
    assert!(minisign_verifies(&keys.public, &statement_file, &minisig));

    let statement: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(statement["subject"][0]["name"], "fw.bin");
    assert_eq!(statement["subject"][0]["digest"]["sha256"], sha.as_str());
    let definition = &statement["predicate"]["buildDefinition"];
    assert_eq!(
        definition["buildType"],
        "https://fwrepo.dev/provenance/publish/v1"
    );
    let dependency = &definition["resolvedDependencies"][0];
    assert_eq!(dependency["digest"]["gitCommit"], commit.as_str());
    assert_eq!(
        dependency["uri"],
        "git+https://git.example/acme/fw.git@refs/heads/main"
    );
    let run_details = &statement["predicate"]["runDetails"];
    assert_eq!(
        run_details["builder"]["id"],
        "https://fwrepo.dev/provenance/builders/gitlab"
    );
    assert_eq!(
        run_details["metadata"]["invocationId"],
        "https://gitlab.example/acme/fw/-/jobs/77"
    );

    let valid = validate_provenance(&statement_file);
    assert!(
        valid.status.success(),
        "{}",
        String::from_utf8_lossy(&valid.stdout)
    );
    // The validator can fail: an unknown field of the SLSA predicate is refused.
    let mut broken = statement.clone();
    broken["predicate"]["runDetails"]["builder"]["name"] = json!("not in SLSA v1");
    let broken_file = write(dir.path(), "broken.json", broken.to_string().as_bytes());
    assert!(!validate_provenance(&broken_file).status.success());

    // A key the reader trusts but that did not sign: refused.
    let other = keygen(dir.path(), "other");
    let out = fwrepo(
        &server,
        1,
        dir.path(),
        &["provenance", &sha, "--trusted-key", &other.public],
    );
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn the_trust_command_manages_keys_and_the_protected_tags() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(dir.path(), "release");
    let added = ok_json(fwrepo(
        &server,
        0,
        dir.path(),
        &[
            "trust",
            "add",
            keys.public_file.to_str().unwrap(),
            "--description",
            "CI",
            "--json",
        ],
    ));
    validate("TrustedKey", &added);
    assert_eq!(added["publicKey"], keys.public.as_str());
    let key_id = added["keyId"].as_str().unwrap().to_string();
    let policy = ok_json(fwrepo(
        &server,
        0,
        dir.path(),
        &[
            "trust",
            "policy",
            "--protect",
            "released",
            "--protect",
            "prod",
            "--json",
        ],
    ));
    assert_eq!(policy, json!({"protectedTags": ["released", "prod"]}));
    let ota = Ota::new(&server, 0).await;
    let read: Value = ota.get_json("/admin/signingPolicy").await;
    assert_eq!(read, policy);
    let listed = ok_json(fwrepo(&server, 0, dir.path(), &["trust", "list", "--json"]));
    assert_eq!(listed, json!([added]));
    // Without the admin scope: refused (exit 5).
    let out = fwrepo(&server, 2, dir.path(), &["trust", "list"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let out = fwrepo(&server, 0, dir.path(), &["trust", "remove", &key_id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = ok_json(fwrepo(&server, 0, dir.path(), &["trust", "list", "--json"]));
    assert_eq!(listed, json!([]));
    let cleared = ok_json(fwrepo(
        &server,
        0,
        dir.path(),
        &["trust", "policy", "--clear", "--json"],
    ));
    assert_eq!(cleared, json!({"protectedTags": []}));
}
