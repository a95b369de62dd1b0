//! Crash safety (SIGKILL mid-traffic, restart on the same data dir) and flat memory for
//! large artifacts, against the real server binary.

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use fwrepo_e2e::{blob_files, sha256_hex, temp_files, Ota, TestServer};
use serde_json::{json, Value};

/// One acknowledged publish: what the server answered 2xx for.
#[derive(Clone, Debug)]
struct Acked {
    version: String,
    sha256: String,
    version_number: u64,
}

async fn publisher(ota: Arc<Ota>, worker: usize, acked: Arc<Mutex<Vec<Acked>>>) {
    for round in 0.. {
        let bytes: Vec<u8> = format!("worker {worker} round {round} ")
            .repeat(2000)
            .into_bytes();
        let version = format!("{worker}.{round}.0");
        let Ok(response) = ota.raw_upload().body(bytes).send().await else {
            return;
        };
        let Ok(body) = response.json::<Value>().await else {
            return;
        };
        let sha = body["value"].as_str().unwrap().to_string();
        let Ok(response) = ota
            .post("/binaries/moveToRepository")
            .json(&json!({"value": sha}))
            .send()
            .await
        else {
            return;
        };
        let Ok(body) = response.json::<Value>().await else {
            return;
        };
        let url = body["value"].as_str().unwrap().to_string();
        let record = json!({"name": "crash", "type": 120, "version": version, "url": url});
        let Ok(response) = ota.post("/pool").json(&record).send().await else {
            return;
        };
        if response.status() != 201 {
            return;
        }
        let Ok(body) = response.json::<Value>().await else {
            return;
        };
        let version_number = body["versionNumber"].as_str().unwrap().parse().unwrap();
        acked.lock().unwrap().push(Acked {
            version,
            sha256: sha,
            version_number,
        });
    }
}

#[tokio::test]
async fn sigkill_mid_traffic_loses_nothing_acknowledged() {
    let mut server = TestServer::start();
    Ota::new(&server, 0).await.create_type(120).await;
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut highest_before = 0;
    for cycle in 0..3 {
        let ota = Arc::new(Ota::new(&server, 0).await);
        let workers: Vec<_> = (0..8)
            .map(|w| tokio::spawn(publisher(ota.clone(), w + cycle * 100, acked.clone())))
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(700 + 300 * cycle as u64)).await;
        server.kill9();
        for worker in workers {
            worker.await.unwrap();
        }
        server.restart();
        assert_eq!(
            temp_files(&server.data_path()),
            0,
            "restart clears half-written temp files"
        );
        let blobs = blob_files(&server.data_path());
        for (name, hash) in &blobs {
            assert_eq!(name, hash, "every visible blob hashes to its name");
        }
        let ota = Ota::new(&server, 0).await;
        let stored = ota.all_records(120).await;
        let acked_now = acked.lock().unwrap().clone();
        assert!(
            !acked_now.is_empty(),
            "cycle {cycle}: some publishes were acknowledged"
        );
        for record in &acked_now {
            let found = stored
                .get(&record.version)
                .unwrap_or_else(|| panic!("acknowledged record {record:?} lost"));
            assert_eq!(found["sha256"], record.sha256.as_str());
            assert_eq!(found["versionNumber"], record.version_number.to_string());
            assert!(
                blobs.iter().any(|(name, _)| name == &record.sha256),
                "blob of {record:?} lost"
            );
        }
        for record in acked_now.iter().rev().take(5) {
            let url = stored[&record.version]["url"].as_str().unwrap();
            let download = ota
                .http
                .get(url)
                .bearer_auth(&ota.token)
                .send()
                .await
                .unwrap();
            assert_eq!(sha256_hex(&download.bytes().await.unwrap()), record.sha256);
        }
        // Version numbers never go backwards across restarts.
        let next = ota
            .publish(
                120,
                "after-crash",
                &format!("cycle-{cycle}"),
                &[],
                format!("c{cycle}").into_bytes(),
            )
            .await;
        let next_number: u64 = next["versionNumber"].as_str().unwrap().parse().unwrap();
        let highest_acked = acked_now.iter().map(|a| a.version_number).max().unwrap();
        assert!(
            next_number > highest_acked.max(highest_before),
            "{next_number} after {highest_acked}"
        );
        highest_before = next_number;
    }
}

/// Peak resident set of a process (VmHWM), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// Streams `size` generated bytes up and back down; answers the server's peak RSS.
pub async fn round_trip_peak_rss(size: u64) -> u64 {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    const CHUNK: usize = 1 << 20;
    let chunks = size / CHUNK as u64;
    let body = futures_util::stream::iter(
        (0..chunks).map(|i| Ok::<_, std::io::Error>(vec![(i % 251) as u8; CHUNK])),
    );
    let response = ota
        .raw_upload()
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let sha = response.json::<Value>().await.unwrap()["value"]
        .as_str()
        .unwrap()
        .to_string();
    let url = ota.move_to_repository(&sha).await;
    let mut download = ota
        .http
        .get(&url)
        .bearer_auth(&ota.token)
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let mut received = 0u64;
    while let Some(chunk) = download.next().await {
        received += chunk.unwrap().len() as u64;
    }
    assert_eq!(received, chunks * CHUNK as u64);
    let rss = peak_rss(server.pid());
    eprintln!(
        "peak RSS after a {} MiB round trip: {:.1} MiB",
        size >> 20,
        rss as f64 / 1048576.0
    );
    rss
}

#[tokio::test]
async fn memory_stays_flat_for_large_artifacts() {
    let rss = round_trip_peak_rss(256 << 20).await;
    assert!(
        rss < 100 << 20,
        "peak RSS {rss} bytes for a 256 MiB artifact"
    );
}

/// The 1 GiB figure of the note: `cargo test -p fwrepo-e2e --test server_durability -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn memory_stays_flat_for_one_gibibyte() {
    let rss = round_trip_peak_rss(1 << 30).await;
    assert!(rss < 100 << 20, "peak RSS {rss} bytes for a 1 GiB artifact");
}
