//! The real device client: Debian's `swupdate` in suricatta (hawkBit) mode installs a
//! CMS-signed `.swu` published through fwrepo, reports its feedback, and confirms it in a
//! second run, after which fwrepo records the new current firmware.

mod ddi_common;
mod span_common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ddi_common::{action_id, link, Ddi};
use fwrepo_e2e::{sha256_hex, S3Store, TestServer};
use serde_json::{json, Value};
use span_common::{bytes, Span};

/// Runs a tool, asserting success.
fn run(dir: &Path, program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} cannot run: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Builds `update.swu` in `dir`: a self-signed signer certificate, a sw-description whose one
/// file goes (rawfile handler) to `target`, its CMS signature, all in a `cpio -H crc` archive.
fn build_swu(dir: &Path, payload: &[u8], target: &Path) -> Vec<u8> {
    run(
        dir,
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-subj",
            "/O=fwrepo test/CN=signer",
            "-days",
            "2",
        ],
    );
    std::fs::write(dir.join("payload.bin"), payload).unwrap();
    let description = format!(
        "software =\n{{\n\tversion = \"2.0.0\";\n\tdescription = \"fwrepo DDI test\";\n\
         \thardware-compatibility: [ \"1.0\" ];\n\tfiles: (\n\t\t{{\n\
         \t\t\tfilename = \"payload.bin\";\n\t\t\tpath = \"{}\";\n\t\t\tsha256 = \"{}\";\n\
         \t\t}}\n\t);\n}}\n",
        target.display(),
        sha256_hex(payload)
    );
    std::fs::write(dir.join("sw-description"), description).unwrap();
    run(
        dir,
        "openssl",
        &[
            "cms",
            "-sign",
            "-in",
            "sw-description",
            "-out",
            "sw-description.sig",
            "-signer",
            "cert.pem",
            "-inkey",
            "key.pem",
            "-outform",
            "DER",
            "-nosmimecap",
            "-binary",
        ],
    );
    let output = Command::new("sh")
        .arg("-c")
        .arg("printf 'sw-description\\nsw-description.sig\\npayload.bin\\n' | cpio -o -H crc > update.swu")
        .current_dir(dir)
        .output()
        .expect("cpio runs");
    assert!(output.status.success(), "cpio failed: {output:?}");
    std::fs::read(dir.join("update.swu")).unwrap()
}

/// A swupdate process group, killed (all of its children too) when dropped.
struct Swupdate {
    child: Child,
    log: PathBuf,
}

impl Swupdate {
    fn start(dir: &Path, name: &str, cert: &Path, suricatta: &str) -> Swupdate {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let tmp = dir.join(format!("{name}-tmp"));
        std::fs::create_dir_all(&tmp).unwrap();
        let child = Command::new("swupdate")
            .args(["-v", "-H", "test:1.0", "-k"])
            .arg(cert)
            .args(["-u", suricatta])
            .env("TMPDIR", &tmp)
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("all_proxy")
            .env_remove("ALL_PROXY")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .process_group(0)
            .spawn()
            .expect("swupdate starts (./run test installs it)");
        Swupdate { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn stop(&mut self) {
        let group = format!("-{}", self.child.id());
        Command::new("kill")
            .args(["-KILL", "--", &group])
            .status()
            .ok();
        self.child.wait().ok();
    }
}

impl Drop for Swupdate {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `check` every 200 ms until it answers `Some`, or panics with the client's log.
async fn wait_for<T, F, Fut>(client: &Swupdate, what: &str, timeout: Duration, check: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; swupdate log:\n{}",
            client.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn actions(span: &Span, c: &str) -> Value {
    span.json(
        span.get(&format!("/collections/{c}/devices/dev1/actions")),
        200,
        "DdiActionPage",
    )
    .await
}

#[tokio::test]
async fn swupdate_installs_a_signed_swu_from_fwrepo() {
    installs_and_confirms(&TestServer::start()).await;
}

/// Issue 10 item 3: with blobs on the 3-node Garage cluster and downloads redirected, the
/// artifact download is a `307` to a presigned URL that swupdate follows; no byte of the
/// artifact passes through fwrepo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swupdate_installs_through_a_redirect_to_garage() {
    let cluster = fwrepo_garage::GarageCluster::start();
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .s3(S3Store::of(&cluster))
        .args(["--downloads", "redirect", "--redirect-min-bytes", "65536"])
        .start();
    installs_and_confirms(&server).await;
    assert!(server.counter("fwrepo_download_redirects_total").await >= 1);
    assert_eq!(
        server.counter("fwrepo_download_bytes_total").await,
        0,
        "the artifact came from the store"
    );
}

/// Publishes a signed `.swu`, lets swupdate install it and confirm it after the "reboot".
async fn installs_and_confirms(server: &TestServer) {
    let span = Span::new(server, 0).await;
    let work = tempfile::tempdir().unwrap();
    let installed = work.path().join("out/installed.bin");
    std::fs::create_dir_all(installed.parent().unwrap()).unwrap();
    let payload = bytes(42, 200_000);
    let swu = build_swu(work.path(), &payload, &installed);
    let cert = work.path().join("cert.pem");

    // Publish through the API, poll every second, target the device, issue its token.
    let c = span.collection("device").await;
    span.patch_collection(&c, json!({"tags": {"ddi.pollingSleep": "00:00:01"}}))
        .await;
    let image = span.upload(&c, &swu, "update-2.0.swu").await;
    let image_id = image["imageId"].as_str().unwrap().to_string();
    span.json(
        span.patch(&format!("/collections/{c}/firmware/{image_id}"))
            .json(&json!({"version": "2.0.0"})),
        200,
        "CollectionImage",
    )
    .await;
    span.device(
        &c,
        json!({"deviceId": "dev1", "firmware": {"targetFirmwareId": image_id}}),
    )
    .await;
    let token = span
        .json(
            span.post(&format!("/collections/{c}/devices/dev1/targetToken")),
            201,
            "DdiToken",
        )
        .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let suricatta = format!("-t acme -i dev1 -u {} -k {token} -r 0", server.url);

    // First run: download, verify, install; the feedback reaches fwrepo.
    let mut client = Swupdate::start(work.path(), "install", &cert, &suricatta);
    wait_for(
        &client,
        "the installed file",
        Duration::from_secs(90),
        || async { std::fs::read(&installed).ok().filter(|b| *b == payload) },
    )
    .await;
    let action = wait_for(
        &client,
        "install feedback",
        Duration::from_secs(60),
        || async {
            let list = actions(&span, &c).await;
            let action = list["content"][0].clone();
            let device_messages = action["history"]
                .as_array()?
                .iter()
                .filter(|e| e["source"] == "deployment")
                .count();
            (device_messages > 0 && action["status"] != "scheduled").then_some(action)
        },
    )
    .await;
    let first_log = client.log();
    client.stop();
    assert_eq!(std::fs::read(&installed).unwrap(), payload);
    assert_eq!(action["image"]["imageId"], image_id.as_str());

    // Second run confirms the update (as after the reboot): fwrepo records it as current.
    let confirm = format!("{suricatta} -c 2");
    let mut client = Swupdate::start(work.path(), "confirm", &cert, &confirm);
    let action = wait_for(
        &client,
        "the confirmation",
        Duration::from_secs(60),
        || async {
            let list = actions(&span, &c).await;
            let action = list["content"][0].clone();
            (action["status"] == "success").then_some(action)
        },
    )
    .await;
    let confirm_log = client.log();
    client.stop();
    eprintln!("swupdate install run:\n{first_log}\nswupdate confirmation run:\n{confirm_log}");
    let device = span
        .json(
            span.get(&format!("/collections/{c}/devices/dev1")),
            200,
            "Device",
        )
        .await;
    assert_eq!(
        device["firmware"]["currentFirmwareId"],
        image_id.as_str(),
        "first run:\n{first_log}"
    );
    assert_eq!(actions(&span, &c).await["totalElements"], 1);
    let base = Ddi::target(&server.url, "acme", &token).poll("dev1").await;
    assert!(link(&base, "deploymentBase").is_none(), "{base}");
    assert_eq!(
        link(&base, "installedBase").map(action_id),
        action["actionId"].as_str().map(str::to_string)
    );
    assert!(action["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["source"] == "deployment" && e["finished"] == "success"));
}
