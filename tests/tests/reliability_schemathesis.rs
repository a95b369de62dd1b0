//! Schemathesis smoke (issue 5): a few hundred generated cases against the real server's own
//! `/openapi.yaml` through `bench/fuzz.sh`, which installs schemathesis from PyPI when it is
//! missing. No 5xx, no schema or content-type violation, no undocumented status code. The
//! long run (≥ 10,000 cases) is `bench/fuzz.sh --examples 400` on demand.
//! If schemathesis cannot be installed this test fails: it never skips silently.

use std::process::Command;

use fwrepo_e2e::{workspace_root, Ota, TestServer};

#[tokio::test]
async fn schemathesis_finds_no_server_error_nor_contract_violation() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    // Something for the operations to find.
    ota.create_type(101).await;
    let record = ota
        .publish(
            101,
            "app",
            "1.0.0",
            &["branch:main"],
            b"schemathesis smoke".to_vec(),
        )
        .await;
    assert_eq!(
        ota.post("/deviceTypes/dt-1/firmwareImages")
            .json(&record)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );

    let script = workspace_root().join("bench/fuzz.sh");
    let url = server.url.clone();
    let token = ota.token.clone();
    let sha256 = record["sha256"].as_str().unwrap().to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(script)
            .args([
                "--url",
                &url,
                "--token",
                &token,
                "--examples",
                "5",
                "--seed",
                "1",
                "--workers",
                "1",
                "--sha256",
                &sha256,
            ])
            .output()
            .expect("run bench/fuzz.sh")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(
        output.status.code(),
        Some(3),
        "schemathesis is not installed and could not be:\n{stderr}"
    );
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{stdout}\n{stderr}\nserver log:\n{}",
        server.log()
    );
    eprintln!(
        "{}",
        stdout
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
