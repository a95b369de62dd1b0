//! Online backup and restore (issue 10 item 6) against the real server binary: a backup
//! taken while publishes and blob deletes run restores into a fresh data directory that a
//! second server serves, with every record acknowledged before the backup and its binary.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fwrepo_e2e::{bin, sha256_hex, Ota, TestServer};
use serde_json::Value;

/// One publish the server answered 201 for.
#[derive(Clone, Debug)]
struct Acked {
    version: String,
    sha256: String,
    version_number: String,
}

/// Publishes distinct binaries (upload, move, pool record) until `stop`.
async fn publisher(
    ota: Arc<Ota>,
    worker: usize,
    acked: Arc<Mutex<Vec<Acked>>>,
    stop: Arc<AtomicBool>,
) {
    for round in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let bytes = format!("storm {worker}.{round} ")
            .repeat(1000 + round % 500)
            .into_bytes();
        let version = format!("{worker}.{round}.0");
        let record = ota.publish(120, "storm", &version, &[], bytes).await;
        acked.lock().unwrap().push(Acked {
            version,
            sha256: record["sha256"].as_str().unwrap().to_string(),
            version_number: record["versionNumber"].as_str().unwrap().to_string(),
        });
    }
}

/// Uploads binaries that are never moved to the repository: with a 1 s upload TTL, no grace
/// and a sweep every second, their blobs are deleted all along, during the backup too.
async fn churner(ota: Arc<Ota>, worker: usize, stop: Arc<AtomicBool>) {
    for round in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let bytes = format!("churn {worker}.{round} ").repeat(2000).into_bytes();
        ota.upload(bytes).await;
    }
}

/// Runs `fwrepo-server <args>` off the runtime.
async fn server_command(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin("fwrepo-server"))
            .args(&args)
            .env_remove("FWREPO_DATA_DIR")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn args(parts: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<String> {
    parts
        .iter()
        .map(|p| p.as_ref().to_string_lossy().into_owned())
        .collect()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn backup(data_dir: &Path, to: &Path) -> std::process::Output {
    server_command(args(&[
        &"backup",
        &"--to",
        &to,
        &"--data-dir",
        &data_dir,
        &"--json",
    ]))
    .await
}

async fn restore(from: &Path, data_dir: &Path) -> std::process::Output {
    server_command(args(&[
        &"restore",
        &"--from",
        &from,
        &"--data-dir",
        &data_dir,
        &"--json",
    ]))
    .await
}

/// Downloads a blob from `ota`'s server and answers its SHA-256.
async fn download_sha256(ota: &Ota, sha256: &str) -> String {
    let response = ota
        .get(&format!("/repository/sha256/{sha256}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "download of {sha256}");
    sha256_hex(&response.bytes().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_during_a_publish_storm_restores_every_acknowledged_record() {
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .args([
            "--pending-upload-ttl-secs",
            "1",
            "--sweep-grace-secs",
            "0",
            "--sweep-interval-secs",
            "1",
        ])
        .start();
    let ota = Arc::new(Ota::new(&server, 0).await);
    ota.create_type(120).await;
    let (acked, stop) = (
        Arc::new(Mutex::new(Vec::new())),
        Arc::new(AtomicBool::new(false)),
    );
    let mut workers: Vec<_> = (0..4)
        .map(|w| tokio::spawn(publisher(ota.clone(), w, acked.clone(), stop.clone())))
        .collect();
    workers.extend((0..2).map(|w| tokio::spawn(churner(ota.clone(), w, stop.clone()))));
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let before: Vec<Acked> = acked.lock().unwrap().clone();
    let backups = tempfile::tempdir().unwrap();
    let target = backups.path().join("backup");
    let out = backup(&server.data_path(), &target).await;
    assert!(out.status.success(), "backup failed: {}", stderr(&out));
    let during = acked.lock().unwrap().len() - before.len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!(
        "backup during the storm: {} records acknowledged before, {during} during; manifest {manifest}",
        before.len()
    );
    assert!(
        before.len() >= 20,
        "the storm published {} records first",
        before.len()
    );
    assert!(during > 0, "publishes went on during the backup");
    assert_eq!(manifest["store"]["kind"], "fs");
    assert!(manifest["blob_records"].as_u64().unwrap() >= before.len() as u64);
    assert_eq!(
        manifest["blobs_linked"], manifest["blob_records"],
        "on one filesystem every blob is a hard link: {manifest}"
    );
    assert!(
        server.log().contains("deleted unreferenced blob"),
        "the sweeper deleted blobs meanwhile"
    );

    let restored = tempfile::tempdir().unwrap();
    let data = restored.path().join("data");
    let out = restore(&target, &data).await;
    assert!(out.status.success(), "restore failed: {}", stderr(&out));
    // Every record of the restored metadata has its blob, hashing to its name.
    let out = server_command(args(&[&"fsck", &"--data-dir", &data, &"--json"])).await;
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["clean"], true,
        "fsck of the restored dir: {report:#}"
    );

    let mut second = TestServer::builder().data_dir(restored).start();
    second.clients.push(server.client(0).clone());
    let restored_ota = Ota::new(&second, 0).await;
    let listed = restored_ota.all_records(120).await;
    for record in &before {
        let found = listed
            .get(&record.version)
            .unwrap_or_else(|| panic!("acknowledged record {record:?} missing after restore"));
        assert_eq!(found["sha256"], record.sha256.as_str());
        assert_eq!(found["versionNumber"], record.version_number.as_str());
    }
    // Every record the restored server has (also those acknowledged during the backup)
    // downloads and verifies.
    for record in listed.values() {
        let sha = record["sha256"].as_str().unwrap();
        assert_eq!(download_sha256(&restored_ota, sha).await, sha);
    }
    // The restored server takes new publishes.
    restored_ota
        .publish(120, "after-restore", "1.0.0", &[], b"new".to_vec())
        .await;
}

#[tokio::test]
async fn bad_targets_incomplete_backups_and_non_empty_dirs_are_refused() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    ota.create_type(120).await;
    ota.publish(120, "one", "1.0.0", &[], b"one".to_vec()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let full = dir.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("something"), b"x").unwrap();
    for (target, reason) in [
        (file.clone(), "is a file"),
        (full.clone(), "exists and is not empty"),
        (
            dir.path().join("no/such/dir"),
            "parent directory does not exist",
        ),
    ] {
        let out = backup(&server.data_path(), &target).await;
        assert!(!out.status.success(), "backup to {target:?} succeeded");
        assert!(
            stderr(&out).contains(reason),
            "{target:?}: {}",
            stderr(&out)
        );
    }
    let out = backup(dir.path(), &dir.path().join("b")).await;
    assert!(stderr(&out).contains("is it running?"), "{}", stderr(&out));

    let target = dir.path().join("backup");
    let out = backup(&server.data_path(), &target).await;
    assert!(out.status.success(), "backup failed: {}", stderr(&out));

    // A non-empty data dir is refused and left as it was.
    let out = restore(&target, &full).await;
    assert!(stderr(&out).contains("is not empty"), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(&full).unwrap().count(), 1);
    // A backup without its manifest (one that never finished) is refused.
    let unfinished = dir.path().join("unfinished");
    std::fs::create_dir(&unfinished).unwrap();
    let out = restore(&unfinished, &dir.path().join("r1")).await;
    assert!(
        stderr(&out).contains("not a complete backup"),
        "{}",
        stderr(&out)
    );
    // A backup that lost a blob fails to restore and leaves the data dir empty.
    let blob = fwrepo_e2e::blob_names(&target)[0].clone();
    std::fs::remove_file(
        target
            .join("blobs/sha256")
            .join(&blob[0..2])
            .join(&blob[2..4])
            .join(&blob),
    )
    .unwrap();
    let out = restore(&target, &dir.path().join("r2")).await;
    assert!(
        stderr(&out).contains(&format!("the backup lacks blob {blob}")),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_dir(dir.path().join("r2")).unwrap().count(), 0);
}

/// A data dir too deep for a Unix socket address still serves; only online backups are
/// unavailable, and the command says why.
#[tokio::test]
async fn a_data_dir_too_deep_for_the_control_socket_still_serves() {
    let deep = tempfile::Builder::new()
        .prefix(&"d".repeat(120))
        .tempdir()
        .unwrap();
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .data_dir(deep)
        .start();
    let ota = Ota::new(&server, 0).await;
    ota.create_type(120).await;
    assert!(server.log().contains("online backups are unavailable"));
    let dir = tempfile::tempdir().unwrap();
    let out = backup(&server.data_path(), &dir.path().join("b")).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is it running?"), "{}", stderr(&out));
}
