//! `fwrepo-server fsck` (issue 5): a clean data dir is clean; injected damage is found, the
//! safe part repaired with `--repair`, the rest reported with exit status 1.

use std::path::Path;
use std::process::Command;

use fwrepo_e2e::{bin, sha256_hex, Ota, TestServer};
use serde_json::Value;

fn fsck(data: &Path, repair: bool) -> (i32, Value) {
    let mut command = Command::new(bin("fwrepo-server"));
    command.args(["fsck", "--json", "--data-dir"]).arg(data);
    if repair {
        command.arg("--repair");
    }
    let out = command.output().unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "fsck prints JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), report)
}

fn kinds(report: &Value) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["repaired"].as_bool().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn blob_path(data: &Path, sha: &str) -> std::path::PathBuf {
    data.join("blobs/sha256")
        .join(&sha[0..2])
        .join(&sha[2..4])
        .join(sha)
}

#[tokio::test]
async fn fsck_finds_damage_and_repairs_only_what_is_safe() {
    let mut server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    ota.create_type(101).await;
    let kept = ota
        .publish(101, "app", "1.0.0", &[], b"kept firmware".to_vec())
        .await;
    let corrupted = ota
        .publish(101, "app", "1.0.1", &[], b"corrupted firmware".to_vec())
        .await;
    let lost = ota
        .publish(101, "app", "1.0.2", &[], b"lost firmware".to_vec())
        .await;
    ota.upload(b"pending upload".to_vec()).await;
    assert!(server.terminate().success());
    let data = server.data_path();

    let (code, report) = fsck(&data, false);
    assert_eq!(
        (code, report["clean"].as_bool()),
        (0, Some(true)),
        "a fresh data dir is clean: {report}"
    );
    assert_eq!(report["blob_files"], 4);
    assert_eq!(report["pool_records"], 3);

    // Damage: an orphan blob (crash between rename and commit), a temp file, a stray file,
    // one blob's bytes flipped, another's file gone.
    let orphan = b"orphan bytes";
    let orphan_path = blob_path(&data, &sha256_hex(orphan));
    std::fs::create_dir_all(orphan_path.parent().unwrap()).unwrap();
    std::fs::write(&orphan_path, orphan).unwrap();
    std::fs::write(data.join("blobs/tmp/.tmp-upload"), b"half").unwrap();
    std::fs::write(data.join("blobs/sha256/README"), b"not a blob").unwrap();
    std::fs::write(
        blob_path(&data, corrupted["sha256"].as_str().unwrap()),
        b"bit rot",
    )
    .unwrap();
    std::fs::remove_file(blob_path(&data, lost["sha256"].as_str().unwrap())).unwrap();

    let (code, report) = fsck(&data, false);
    assert_eq!(code, 1, "problems exit 1: {report}");
    let expected = vec![
        ("blob-hash-mismatch".to_string(), false),
        ("missing-blob-file".to_string(), false),
        ("orphan-blob-file".to_string(), false),
        ("stray-file".to_string(), false),
        ("stray-temp-file".to_string(), false),
    ];
    assert_eq!(kinds(&report), expected, "{report:#}");
    assert!(
        orphan_path.exists() && data.join("blobs/tmp/.tmp-upload").exists(),
        "without --repair nothing changes"
    );

    let (code, report) = fsck(&data, true);
    assert_eq!(code, 1, "damage to held blobs cannot be repaired: {report}");
    let repaired: Vec<String> = kinds(&report)
        .into_iter()
        .filter(|(_, r)| *r)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        repaired,
        vec!["orphan-blob-file", "stray-temp-file"],
        "{report:#}"
    );
    assert!(!orphan_path.exists() && !data.join("blobs/tmp/.tmp-upload").exists());
    assert!(
        blob_path(&data, kept["sha256"].as_str().unwrap()).exists(),
        "a healthy blob is never touched"
    );

    let (_, report) = fsck(&data, false);
    assert_eq!(
        kinds(&report),
        vec![
            ("blob-hash-mismatch".to_string(), false),
            ("missing-blob-file".to_string(), false),
            ("stray-file".to_string(), false)
        ],
        "{report:#}"
    );
}

#[tokio::test]
async fn fsck_refuses_a_data_dir_a_server_is_serving() {
    let server = TestServer::start();
    let out = Command::new(bin("fwrepo-server"))
        .args(["fsck", "--data-dir"])
        .arg(server.data_path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is a server running"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue 11 item 2: a download answers from the blob itself. A truncated or deleted blob
/// file is a 5xx for GET and HEAD alike (never a cut-off or empty 200), logged and counted,
/// and fsck reports it.
#[tokio::test]
async fn damaged_blobs_are_a_counted_5xx_and_fsck_reports_them() {
    let mut server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    let truncated_bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 241) as u8).collect();
    let truncated = ota.upload(truncated_bytes.clone()).await;
    let truncated_url = ota.move_to_repository(&truncated).await;
    let deleted = ota.upload(b"soon gone from the disk".to_vec()).await;
    let deleted_url = ota.move_to_repository(&deleted).await;
    let data = server.data_path();
    let head = |url: String| ota.http.head(url).bearer_auth(&ota.token).send();
    assert_eq!(head(truncated_url.clone()).await.unwrap().status(), 200);

    std::fs::OpenOptions::new()
        .write(true)
        .open(blob_path(&data, &truncated))
        .unwrap()
        .set_len(1000)
        .unwrap();
    std::fs::remove_file(blob_path(&data, &deleted)).unwrap();
    assert_eq!(server.counter("fwrepo_blob_damaged_total").await, 0);
    for url in [&truncated_url, &deleted_url] {
        let get = ota
            .http
            .get(url)
            .bearer_auth(&ota.token)
            .send()
            .await
            .unwrap();
        fwrepo_e2e::expect_problem(get, 500, "internal").await;
        let ranged = ota
            .http
            .get(url)
            .bearer_auth(&ota.token)
            .header("range", "bytes=0-9")
            .send()
            .await
            .unwrap();
        assert_eq!(ranged.status(), 500, "a range of a damaged blob");
        assert_eq!(head(url.clone()).await.unwrap().status(), 500, "HEAD {url}");
    }
    assert_eq!(server.counter("fwrepo_blob_damaged_total").await, 6);
    let log = server.log();
    assert!(
        log.contains(&truncated) && log.contains("1000 bytes on storage"),
        "the damage is logged: {log}"
    );
    assert!(log.contains(&deleted) && log.contains("missing from storage"));
    assert!(
        log.lines().any(|l| l.contains("ERROR")
            && l.contains("request failed")
            && l.contains("status=500")),
        "a 5xx answer's access-log line is an error: {log}"
    );

    server.kill9();
    let (code, report) = fsck(&data, false);
    assert_eq!(code, 1, "{report:#}");
    let found: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        found.contains(&("blob-hash-mismatch".into(), truncated.clone())),
        "{found:?}"
    );
    assert!(
        found.contains(&("missing-blob-file".into(), deleted.clone())),
        "{found:?}"
    );
}
