//! Crash harness: a publish storm against the real server, SIGKILLed at random moments and
//! restarted on the same data dir, cycle after cycle. After each restart every publish the
//! server answered 2xx must be intact (record, sha256, version number, downloadable bytes),
//! every blob file must hash to its name, no temp file may remain, and version numbers must
//! never go backwards. At the end `fwrepo-server fsck --repair` may remove garbage a crash
//! left (orphan blob files) but must repair everything, and a second fsck must be clean.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::client::{self, Api, Creds, Rng};

pub struct CrashOptions {
    pub server_bin: PathBuf,
    pub work_dir: PathBuf,
    pub cycles: usize,
    pub workers: usize,
    pub min_ms: u64,
    pub max_ms: u64,
    pub seed: u64,
}

/// One publish the server acknowledged (all three steps answered 2xx).
#[derive(Clone, Debug)]
struct Acked {
    version: String,
    sha256: String,
    version_number: u64,
}

struct Server {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Server {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn start(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(&self.bin)
            .arg("serve")
            .arg("--data-dir")
            .arg(&self.data)
            .args([
                "--listen",
                &format!("127.0.0.1:{}", self.port),
                "--public-url",
                &self.url(),
            ])
            .env_remove("FWREPO_CONFIG")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("spawn fwrepo-server")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait()? {
                bail!(
                    "fwrepo-server exited at start ({status}); see {}",
                    self.log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!(
            "fwrepo-server did not listen within 60 s; see {}",
            self.log.display()
        )
    }

    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok(); // SIGKILL
            child.wait().ok();
        }
    }

    fn terminate(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status()?;
            let status = child.wait()?;
            if !status.success() {
                bail!("fwrepo-server exited with {status} on SIGTERM");
            }
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn create_client(server_bin: &Path, data: &Path, partner: &str) -> anyhow::Result<Creds> {
    let out = Command::new(server_bin)
        .args(["client", "create", "--data-dir"])
        .arg(data)
        .args([
            "--partner",
            partner,
            "--scope",
            "ota:read",
            "--scope",
            "ota:write",
            "--scope",
            "admin",
            "--json",
        ])
        .output()
        .context("run fwrepo-server client create")?;
    if !out.status.success() {
        bail!(
            "client create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Creds::from_json(&String::from_utf8_lossy(&out.stdout))
}

/// What the publishers saw besides acknowledgements: anything but a dropped connection.
#[derive(Default)]
struct Anomalies(Vec<String>);

async fn publisher(
    api: Api,
    worker: usize,
    cycle: usize,
    seed: u64,
    acked: Arc<Mutex<Vec<Acked>>>,
    anomalies: Arc<Mutex<Anomalies>>,
) {
    let mut rng = Rng::new(seed ^ ((cycle as u64) << 32) ^ worker as u64);
    for round in 0.. {
        // Mostly small builds, some large enough that a kill lands mid-upload.
        let size = if rng.below(8) == 0 {
            (1 << 20) + rng.below(1 << 20) as usize
        } else {
            4096 + rng.below(60 << 10) as usize
        };
        let mut bytes = vec![0u8; size];
        rng.fill(&mut bytes);
        let version = format!("{cycle}.{worker}.{round}");
        match api
            .publish(120, "crash", &version, &[format!("cycle:{cycle}")], bytes)
            .await
        {
            Ok(record) => {
                let version_number = crate::client::version_number(&record).unwrap_or(0);
                let sha256 = record["sha256"].as_str().unwrap_or_default().to_string();
                acked.lock().unwrap().push(Acked {
                    version,
                    sha256,
                    version_number,
                });
            }
            Err(failure) => {
                // A dropped connection is what a kill looks like; any status is not.
                if failure.status.is_some() {
                    anomalies
                        .lock()
                        .unwrap()
                        .0
                        .push(format!("cycle {cycle} worker {worker}: {failure}"));
                }
                return;
            }
        }
    }
}

fn blob_files(data: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    walk(&data.join("blobs/sha256"), &mut out);
    out.sort();
    out
}

fn temp_files(data: &Path) -> usize {
    std::fs::read_dir(data.join("blobs/tmp"))
        .map(|d| d.count())
        .unwrap_or(0)
}

pub async fn run(options: CrashOptions) -> anyhow::Result<()> {
    std::fs::create_dir_all(&options.work_dir)?;
    let data = options.work_dir.join("data");
    let creds = create_client(&options.server_bin, &data, "acme")?;
    let mut server = Server {
        bin: options.server_bin.clone(),
        data: data.clone(),
        log: options.work_dir.join("server.log"),
        port: free_port(),
        child: None,
    };
    server.start()?;
    Api::connect(&server.url(), &creds)
        .await?
        .ensure_type(120)
        .await?;

    let acked = Arc::new(Mutex::new(Vec::<Acked>::new()));
    let anomalies = Arc::new(Mutex::new(Anomalies::default()));
    let mut violations: Vec<String> = Vec::new();
    let mut verified = 0usize;
    let mut hashed = BTreeSet::<PathBuf>::new();
    let mut highest_seen = 0u64;
    let mut rng = Rng::new(options.seed);
    let started = Instant::now();

    for cycle in 0..options.cycles {
        let api = Api::connect(&server.url(), &creds).await?;
        let workers: Vec<_> = (0..options.workers)
            .map(|w| {
                tokio::spawn(publisher(
                    api.clone(),
                    w,
                    cycle,
                    options.seed,
                    acked.clone(),
                    anomalies.clone(),
                ))
            })
            .collect();
        let wait = options.min_ms + rng.below(options.max_ms.saturating_sub(options.min_ms) + 1);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        server.kill9();
        for worker in workers {
            worker.await?;
        }
        server.start()?;

        if temp_files(&data) != 0 {
            violations.push(format!(
                "cycle {cycle}: {} temp files after restart",
                temp_files(&data)
            ));
        }
        for path in blob_files(&data) {
            if hashed.contains(&path) {
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let hash = match client::sha256_file(&path) {
                Ok(hash) => hash,
                // The restarted server's sweeper deletes blobs no record knows (a killed
                // upload's) right away: gone is not damaged.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            if name != hash {
                violations.push(format!(
                    "cycle {cycle}: blob {} hashes to {hash}",
                    path.display()
                ));
            }
            hashed.insert(path);
        }

        let api = Api::connect(&server.url(), &creds).await?;
        let acked_now = acked.lock().unwrap().clone();
        for record in &acked_now[verified..] {
            if let Err(problem) = verify(&api, record).await {
                violations.push(format!("cycle {cycle}: acknowledged {record:?}: {problem}"));
            }
        }
        verified = acked_now.len();
        let highest_acked = acked_now
            .iter()
            .map(|a| a.version_number)
            .max()
            .unwrap_or(0);
        let probe = api
            .publish(
                120,
                "probe",
                &format!("{cycle}.0.0"),
                &[],
                format!("probe {cycle} {}", options.seed).into_bytes(),
            )
            .await;
        match probe {
            Ok(record) => {
                let n = crate::client::version_number(&record).unwrap_or(0);
                if n <= highest_acked.max(highest_seen) {
                    violations.push(format!(
                        "cycle {cycle}: version number {n} after {}",
                        highest_acked.max(highest_seen)
                    ));
                }
                highest_seen = n;
            }
            Err(failure) => {
                violations.push(format!("cycle {cycle}: probe publish failed: {failure}"))
            }
        }
        eprintln!(
            "cycle {cycle:>3}: killed after {wait:>4} ms, {} acknowledged so far, {} blobs, {} violations",
            acked_now.len(),
            hashed.len(),
            violations.len()
        );
    }

    // A last full pass over everything acknowledged, then fsck on the stopped server's data dir.
    let api = Api::connect(&server.url(), &creds).await?;
    let acked_all = acked.lock().unwrap().clone();
    for record in &acked_all {
        if let Err(problem) = verify_metadata(&api, record).await {
            violations.push(format!("final: acknowledged {record:?}: {problem}"));
        }
    }
    server.terminate()?;
    // A crash between a blob's rename and its metadata commit leaves an orphan file: garbage,
    // not loss. fsck --repair may delete such garbage; anything it cannot repair is a
    // violation, and a second fsck must find the data dir clean.
    let fsck_json = |repair: bool| -> anyhow::Result<(bool, Value, String)> {
        let mut command = Command::new(&options.server_bin);
        command.args(["fsck", "--json", "--data-dir"]).arg(&data);
        if repair {
            command.arg("--repair");
        }
        let out = command.output()?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        Ok((
            out.status.success(),
            report,
            format!(
                "{}{}",
                stdout.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ))
    };
    let (repaired_ok, repair_report, repair_text) = fsck_json(true)?;
    if !repaired_ok {
        violations.push(format!("fsck --repair left problems: {repair_text}"));
    }
    let (clean, final_report, final_text) = fsck_json(false)?;
    if !clean {
        violations.push(format!("fsck after repair: {final_text}"));
    }
    let mut repaired_kinds = BTreeMap::<String, u64>::new();
    for finding in repair_report["findings"].as_array().into_iter().flatten() {
        *repaired_kinds
            .entry(finding["kind"].as_str().unwrap_or("?").to_string())
            .or_insert(0) += 1;
    }

    let anomalies = std::mem::take(&mut anomalies.lock().unwrap().0);
    let summary = json!({
        "cycles": options.cycles,
        "workers": options.workers,
        "acknowledged_publishes": acked_all.len(),
        "blob_files": hashed.len(),
        "highest_version_number": highest_seen,
        "http_anomalies": anomalies.len(),
        "violations": violations.len(),
        "seconds": started.elapsed().as_secs_f64(),
        "fsck_repaired": repaired_kinds,
        "fsck_final": {"clean": final_report["clean"], "blob_files": final_report["blob_files"],
                       "blob_records": final_report["blob_records"], "pool_records": final_report["pool_records"],
                       "findings": final_report["findings"]},
    });
    println!("{summary}");
    for line in anomalies.iter().chain(&violations) {
        eprintln!("  {line}");
    }
    if acked_all.is_empty() {
        bail!("no publish was acknowledged: the harness tested nothing");
    }
    if !violations.is_empty() || !anomalies.is_empty() {
        bail!(
            "{} violations, {} HTTP anomalies",
            violations.len(),
            anomalies.len()
        );
    }
    Ok(())
}

async fn verify_metadata(api: &Api, record: &Acked) -> Result<Value, String> {
    let page = api
        .get_json(&format!(
            "/pool/types/120?name=crash&version={}",
            record.version
        ))
        .await
        .map_err(|f| f.to_string())?;
    if page["totalElements"] != json!(1) {
        return Err(format!("lookup answered {page}"));
    }
    let found = &page["content"][0];
    if found["sha256"] != json!(record.sha256) {
        return Err(format!("sha256 is now {}", found["sha256"]));
    }
    if found["versionNumber"] != json!(record.version_number.to_string()) {
        return Err(format!("version number is now {}", found["versionNumber"]));
    }
    Ok(found.clone())
}

async fn verify(api: &Api, record: &Acked) -> Result<(), String> {
    let found = verify_metadata(api, record).await?;
    let url = found["url"].as_str().unwrap_or_default();
    let response = api
        .http
        .get(url)
        .bearer_auth(&api.token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != 200 {
        return Err(format!("download answered {}", response.status()));
    }
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    if client::sha256_hex(&bytes) != record.sha256 {
        return Err("downloaded bytes do not hash to the record's sha256".into());
    }
    Ok(())
}
