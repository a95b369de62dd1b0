//! `fwrepo-server blobs migrate --to s3` (issue 10 item 5) on a real 3-node Garage cluster:
//! a populated filesystem repository is migrated (interrupted once, then resumed), then a
//! server on the S3 store serves every record and each download verifies; fsck is clean.

use std::io::BufRead;
use std::process::{Command, Stdio};

use fwrepo_e2e::{bin, sha256_hex, Ota, S3Store, TestServer};
use fwrepo_garage::GarageCluster;
use serde_json::Value;

/// `fwrepo-server <args...>` with the data dir and the S3 store's flags.
fn command(args: &[&str], data: &std::path::Path, store_args: &[String]) -> Command {
    let mut command = Command::new(bin("fwrepo-server"));
    command
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .args(store_args)
        .env_remove("FWREPO_CONFIG")
        .env_remove("FWREPO_DATA_DIR");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_populated_repository_migrates_to_garage_resumes_and_serves() {
    let cluster = GarageCluster::start();
    let mut server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    ota.create_type(120).await;
    let mut published = Vec::new();
    for i in 0..40 {
        let bytes = format!("binary {i} ").repeat(3000 + i * 50).into_bytes();
        published.push(
            ota.publish(120, "mig", &format!("1.{i}.0"), &[], bytes)
                .await,
        );
    }
    // One larger than a part: the multipart path.
    let big: Vec<u8> = (0..9 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    published.push(ota.publish(120, "mig", "2.0.0", &[], big).await);
    assert!(server.terminate().success());
    let data = server.data_path();

    // A server configuration for the bucket (its credentials file lands in `creds`).
    let creds = tempfile::tempdir().unwrap();
    let store = S3Store::of(&cluster);
    let store_args = store.args(creds.path());

    // First run: killed after three blobs are copied.
    let mut first = command(&["blobs", "migrate", "--to", "s3"], &data, &store_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(first.stdout.take().unwrap()).lines();
    for _ in 0..3 {
        let line = lines.next().expect("a line per blob").unwrap();
        assert!(line.starts_with("copied\t"), "{line}");
    }
    first.kill().unwrap();
    let status = first.wait().unwrap();
    assert!(!status.success(), "the first run was interrupted");
    let copied_first = cluster
        .object_keys()
        .await
        .iter()
        .filter(|k| k.contains("sha256/"))
        .count();
    assert!(
        copied_first >= 3 && copied_first < published.len(),
        "{copied_first} objects after the interrupted run"
    );

    // Second run: resumes.
    let out = command(
        &["blobs", "migrate", "--to", "s3", "--json"],
        &data,
        &store_args,
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "migrate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("resumed migration: {report}");
    assert_eq!(report["blob_records"], published.len());
    assert!(report["present"].as_u64().unwrap() >= 3, "{report}");
    assert_eq!(
        report["present"].as_u64().unwrap() + report["copied"].as_u64().unwrap(),
        published.len() as u64
    );
    assert_eq!(report["missing"], serde_json::json!([]));
    let keys = cluster.object_keys().await;
    for record in &published {
        let sha = record["sha256"].as_str().unwrap();
        assert!(keys.iter().any(|k| k.ends_with(sha)), "{sha} in the bucket");
    }

    // fsck through the S3 store: every blob there, hashing to its name, records agree; the
    // only thing to repair is temporary keys the killed run left.
    let out = command(&["fsck", "--repair", "--json"], &data, &store_args)
        .output()
        .unwrap();
    let fsck: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(fsck["clean"], true, "{fsck:#}");
    assert_eq!(fsck["blob_files"], published.len(), "{fsck:#}");
    for finding in fsck["findings"].as_array().unwrap() {
        assert_eq!(finding["kind"], "stray-temp-file", "{fsck:#}");
    }

    // The operator switches the configuration to s3: every record serves and verifies.
    let dir = std::mem::replace(&mut server.data_dir, tempfile::tempdir().unwrap());
    std::fs::remove_dir_all(dir.path().join("data/blobs")).unwrap();
    let mut on_s3 = TestServer::builder().data_dir(dir).s3(store).start();
    on_s3.clients.push(server.client(0).clone());
    let ota = Ota::new(&on_s3, 0).await;
    let listed = ota.all_records(120).await;
    assert_eq!(listed.len(), published.len());
    for record in &published {
        let sha = record["sha256"].as_str().unwrap();
        let response = ota
            .get(&format!("/repository/sha256/{sha}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(sha256_hex(&response.bytes().await.unwrap()), sha);
    }
}

/// A backup of a server on Garage holds only the metadata and names the bucket its records
/// refer to; restored, a server on the same bucket serves every record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_on_garage_names_its_bucket_and_restores() {
    let cluster = GarageCluster::start();
    let store = S3Store::of(&cluster);
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .s3(store.clone())
        .start();
    let ota = Ota::new(&server, 0).await;
    ota.create_type(120).await;
    let mut published = Vec::new();
    for i in 0..5 {
        let bytes = format!("on garage {i} ").repeat(1000).into_bytes();
        published.push(
            ota.publish(120, "bk", &format!("1.{i}.0"), &[], bytes)
                .await,
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup");
    let out = Command::new(bin("fwrepo-server"))
        .args(["backup", "--json", "--to"])
        .arg(&target)
        .arg("--data-dir")
        .arg(server.data_path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(manifest["store"]["kind"], "s3", "{manifest}");
    assert_eq!(manifest["store"]["bucket"], store.bucket.as_str());
    assert_eq!(manifest["store"]["endpoint"], store.endpoint.as_str());
    assert_eq!(manifest["blob_records"], published.len());
    assert!(
        !target.join("blobs").exists(),
        "the blobs stay in the bucket"
    );

    let restored = tempfile::tempdir().unwrap();
    let out = Command::new(bin("fwrepo-server"))
        .args(["restore", "--from"])
        .arg(&target)
        .arg("--data-dir")
        .arg(restored.path().join("data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&store.bucket));
    let mut second = TestServer::builder().data_dir(restored).s3(store).start();
    second.clients.push(server.client(0).clone());
    let ota = Ota::new(&second, 0).await;
    for record in &published {
        let sha = record["sha256"].as_str().unwrap();
        let response = ota
            .get(&format!("/repository/sha256/{sha}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(sha256_hex(&response.bytes().await.unwrap()), sha);
    }
}
