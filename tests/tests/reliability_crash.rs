//! Crash-harness smoke (issue 5): a few SIGKILL cycles of `fwrepo-bench crash` under a publish
//! storm, ending in `fwrepo-server fsck`. The full run (50 cycles) is `bench/crash.sh`.

use std::process::Command;

use fwrepo_e2e::bin;

#[test]
fn sigkill_cycles_lose_nothing_and_fsck_is_clean() {
    let work = tempfile::tempdir().unwrap();
    let output = Command::new(bin("fwrepo-bench"))
        .args([
            "crash",
            "--cycles",
            "4",
            "--workers",
            "6",
            "--min-ms",
            "200",
            "--max-ms",
            "900",
            "--work-dir",
        ])
        .arg(work.path())
        .arg("--server-bin")
        .arg(bin("fwrepo-server"))
        .output()
        .expect("run fwrepo-bench crash");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "crash harness failed:\n{stdout}\n{stderr}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(stdout.trim()).expect("one JSON summary line");
    assert!(summary["acknowledged_publishes"].as_u64().unwrap() > 0);
    assert_eq!(summary["violations"], 0);
}
