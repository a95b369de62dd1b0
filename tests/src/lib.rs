//! Harness for the end-to-end tests: starts the real `fwrepo-server` binary on a free loopback
//! port with its own data directory, creates OAuth clients with the real admin CLI, and
//! validates answers against the committed JSON Schemas. No component is mocked.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use fwrepo_schemas as schemas;

/// Directory holding the binaries built in the same cargo profile as this test.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("profile dir").to_path_buf()
}

/// Path of a workspace binary (`fwrepo-server`, `fwrepo`, `cargo-fwrepo`).
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` before the tests",
        path.display()
    );
    path
}

/// Root of the workspace checkout.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// An OAuth client created through `fwrepo-server client create`.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub client_secret: String,
    pub partner_id: String,
}

/// Creates a client offline (the server must not be running on `data_dir`).
pub fn create_client(data_dir: &Path, partner: &str, scopes: &[&str]) -> Client {
    let mut cmd = Command::new(bin("fwrepo-server"));
    cmd.args(["client", "create", "--data-dir"])
        .arg(data_dir)
        .args(["--partner", partner, "--json"]);
    for scope in scopes {
        cmd.args(["--scope", scope]);
    }
    let out = cmd.output().expect("run fwrepo-server client create");
    assert!(
        out.status.success(),
        "client create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let creds: Value = serde_json::from_slice(&out.stdout).expect("client create prints JSON");
    validate("ClientCredentials", &creds);
    Client {
        client_id: creds["client_id"].as_str().unwrap().to_string(),
        client_secret: creds["client_secret"].as_str().unwrap().to_string(),
        partner_id: creds["partner_id"].as_str().unwrap().to_string(),
    }
}

/// A person's account created through `fwrepo-server user create`.
#[derive(Debug, Clone)]
pub struct User {
    pub username: String,
    pub password: String,
    pub partner_id: String,
    pub role: String,
}

/// Creates a user offline (the server must not be running on `data_dir`); the password goes
/// in on stdin, as a script would give it. Answers the printed JSON (schema `User`).
pub fn create_user(
    data_dir: &Path,
    partner: &str,
    username: &str,
    role: &str,
    password: &str,
) -> Value {
    let out = user_command(
        data_dir,
        &[
            "create",
            "--partner",
            partner,
            "--username",
            username,
            "--role",
            role,
            "--json",
        ],
        &format!("{password}\n"),
    );
    assert!(
        out.status.success(),
        "user create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let user: Value = serde_json::from_slice(&out.stdout).expect("user create prints JSON");
    validate("User", &user);
    user
}

/// Runs `fwrepo-server user <args> --data-dir <data_dir>` with `stdin` as its input.
pub fn user_command(data_dir: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(bin("fwrepo-server"))
        .arg("user")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run fwrepo-server user");
    let mut input = child.stdin.take().unwrap();
    // The command may exit before reading (bad arguments): a broken pipe is its answer.
    input.write_all(stdin.as_bytes()).ok();
    drop(input);
    child
        .wait_with_output()
        .expect("fwrepo-server user finishes")
}

/// A loopback port nobody listens on right now (for tests of a client facing no server;
/// servers bind port 0 themselves).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What to start: extra server flags and the clients and users to create before the first
/// start.
pub struct TestServerBuilder {
    args: Vec<String>,
    clients: Vec<(String, Vec<String>)>,
    users: Vec<User>,
    data_dir: Option<tempfile::TempDir>,
    s3: Option<S3Store>,
}

/// An S3 bucket a server keeps its blobs in (`[store] kind = "s3"`).
#[derive(Clone, Debug)]
pub struct S3Store {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl S3Store {
    /// The bucket and key of a test Garage cluster.
    pub fn of(cluster: &fwrepo_garage::GarageCluster) -> S3Store {
        S3Store {
            endpoint: cluster.s3_endpoint(),
            region: cluster.region().into(),
            bucket: cluster.bucket().into(),
            access_key_id: cluster.access_key_id().into(),
            secret_access_key: cluster.secret_access_key().into(),
        }
    }

    /// The store flags of `serve` and `fsck`; the key pair goes to a credentials file in
    /// `dir`, as a deployment keeps it (never a flag).
    pub fn args(&self, dir: &Path) -> Vec<String> {
        let credentials = dir.join("s3-credentials.toml");
        std::fs::write(
            &credentials,
            format!(
                "access_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
                self.access_key_id, self.secret_access_key
            ),
        )
        .unwrap();
        [
            "--store",
            "s3",
            "--s3-endpoint",
            &self.endpoint,
            "--s3-region",
            &self.region,
            "--s3-bucket",
            &self.bucket,
            "--s3-credentials-file",
            credentials.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    }
}

impl TestServerBuilder {
    /// Adds a flag passed to `fwrepo-server serve`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds several flags.
    pub fn args<const N: usize>(mut self, args: [&str; N]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// Serves `dir/data` (e.g. a data directory restored from a backup) instead of a new one.
    pub fn data_dir(mut self, dir: tempfile::TempDir) -> Self {
        self.data_dir = Some(dir);
        self
    }

    /// Adds a client; clients are available as `server.clients[i]` in the order added.
    pub fn client(mut self, partner: &str, scopes: &[&str]) -> Self {
        self.clients.push((
            partner.to_string(),
            scopes.iter().map(|s| s.to_string()).collect(),
        ));
        self
    }

    /// Adds a user (role viewer, maintainer or admin); users are available as
    /// `server.users[i]` in the order added.
    pub fn user(mut self, partner: &str, username: &str, role: &str, password: &str) -> Self {
        self.users.push(User {
            username: username.to_string(),
            password: password.to_string(),
            partner_id: partner.to_string(),
            role: role.to_string(),
        });
        self
    }

    /// Keeps the blobs in an S3 bucket instead of the data dir.
    pub fn s3(mut self, store: S3Store) -> Self {
        self.s3 = Some(store);
        self
    }

    pub fn start(mut self) -> TestServer {
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| tempfile::tempdir().unwrap());
        let store_args = self
            .s3
            .map(|store| store.args(data_dir.path()))
            .unwrap_or_default();
        self.args.extend(store_args.iter().cloned());
        for user in &self.users {
            create_user(
                &data_dir.path().join("data"),
                &user.partner_id,
                &user.username,
                &user.role,
                &user.password,
            );
        }
        let clients = self
            .clients
            .iter()
            .map(|(partner, scopes)| {
                let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
                create_client(&data_dir.path().join("data"), partner, &scopes)
            })
            .collect();
        let mut server = TestServer {
            data_dir,
            args: self.args,
            child: None,
            port: 0,
            url: String::new(),
            clients,
            users: self.users,
            store_args,
        };
        server.spawn();
        server
    }
}

/// A running `fwrepo-server serve` process; killed when dropped.
pub struct TestServer {
    pub data_dir: tempfile::TempDir,
    pub url: String,
    pub port: u16,
    pub clients: Vec<Client>,
    pub users: Vec<User>,
    args: Vec<String>,
    child: Option<Child>,
    /// The flags naming the server's blob store (none for the default fs store).
    store_args: Vec<String>,
}

impl TestServer {
    /// Default server: partner `acme` with one client holding every scope.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder {
            args: Vec::new(),
            clients: Vec::new(),
            users: Vec::new(),
            data_dir: None,
            s3: None,
        }
    }

    /// The flags naming this server's blob store, for the offline commands (`fsck`).
    pub fn store_args(&self) -> &[String] {
        &self.store_args
    }

    pub fn start() -> TestServer {
        Self::builder()
            .client("acme", &["ota:read", "ota:write", "admin"])
            .start()
    }

    /// Starts the server. The first start binds port 0 and learns the port from the
    /// server's `listening on <address>` line (no window in which another process could take
    /// a port picked in advance); a restart binds the same port again, so the public URL and
    /// the repository URLs already issued stay valid.
    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.path().join("server.log"))
            .unwrap();
        let mut command = Command::new(bin("fwrepo-server"));
        command
            .arg("serve")
            .arg("--data-dir")
            .arg(self.data_dir.path().join("data"))
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .args(&self.args)
            .env_remove("FWREPO_CONFIG")
            .env_remove("FWREPO_PUBLIC_URL")
            .stdout(Stdio::piped())
            .stderr(log);
        let mut child = command.spawn().expect("spawn fwrepo-server");
        let stdout = child.stdout.take().unwrap();
        self.child = Some(child);
        let address = self.wait_ready(stdout);
        self.port = address.port();
        self.url = format!("http://{address}");
    }

    /// Waits (up to 30 s) for the server's `listening on <address>` line; answers the address.
    fn wait_ready(&mut self, stdout: std::process::ChildStdout) -> std::net::SocketAddr {
        let (sender, announced) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut lines = std::io::BufReader::new(stdout).lines();
            for line in lines.by_ref() {
                let Ok(line) = line else { return };
                if let Some(address) = line.strip_prefix("listening on ") {
                    let _ = sender.send(address.parse::<std::net::SocketAddr>());
                    break;
                }
            }
            // Keep reading so that a later line never meets a closed pipe.
            for _ in lines {}
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match announced.recv_timeout(Duration::from_millis(50)) {
                Ok(address) => return address.expect("the server announces a socket address"),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {}
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("fwrepo-server exited early ({status}): {}", self.log());
            }
        }
        panic!("fwrepo-server did not listen within 30 s: {}", self.log());
    }

    /// The server's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("server.log")).unwrap_or_default()
    }

    /// The directory the server keeps its RocksDB and blobs in.
    pub fn data_path(&self) -> PathBuf {
        self.data_dir.path().join("data")
    }

    /// SIGKILL: no shutdown hook runs.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// SIGTERM and wait for a graceful exit; answers the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server running");
        Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        child.wait().unwrap()
    }

    /// Starts the server again on the same data dir and port.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// Process id of the running server.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server running").id()
    }

    pub fn client(&self, index: usize) -> &Client {
        &self.clients[index]
    }

    /// Partner API base for a partner: `{url}/v1/ota/partners/{partner}`.
    pub fn partner_url(&self, partner: &str) -> String {
        format!("{}/v1/ota/partners/{partner}", self.url)
    }

    /// Fetches a token for client `index` through `POST /oauth/token`.
    pub async fn token_for(&self, index: usize) -> String {
        let client = &self.clients[index];
        let response = http()
            .post(format!("{}/oauth/token", self.url))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &client.client_id),
                ("client_secret", &client.client_secret),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "token request failed");
        let body: Value = response.json().await.unwrap();
        validate("TokenResponse", &body);
        body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn token(&self) -> String {
        self.token_for(0).await
    }

    /// The server's `/metrics` (Prometheus text).
    pub async fn metrics(&self) -> String {
        let response = http()
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    /// The `fwrepo` CLI in `dir` with client `index`'s credentials for this server and the
    /// local cache at `cache` (no CI variables, no config file).
    pub fn fwrepo(&self, index: usize, dir: &Path, cache: &Path) -> Command {
        let client = self.client(index);
        let mut command = Command::new(bin("fwrepo"));
        for var in [
            "FWREPO_CONFIG",
            "CI",
            "GITHUB_ACTIONS",
            "GITLAB_CI",
            "JENKINS_URL",
        ] {
            command.env_remove(var);
        }
        command
            .current_dir(dir)
            .env("FWREPO_URL", &self.url)
            .env("FWREPO_PARTNER", &client.partner_id)
            .env("FWREPO_CLIENT_ID", &client.client_id)
            .env("FWREPO_CLIENT_SECRET", &client.client_secret)
            .env("FWREPO_CACHE_DIR", cache);
        command
    }

    /// The value of an unlabelled counter in `/metrics`, 0 when absent.
    pub async fn counter(&self, name: &str) -> u64 {
        self.metrics()
            .await
            .lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A reqwest client for tests: no proxy, loopback only.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Asserts `value` is valid against the committed JSON Schema `schemas/json/{name}.json`.
pub fn validate(name: &str, value: &Value) {
    let path = workspace_root()
        .join("schemas/json")
        .join(format!("{name}.json"));
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("no schema {name}")),
    )
    .unwrap();
    let validator =
        jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("schema {name} invalid: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{name} schema violated: {errors:?}\nvalue: {value:#}"
    );
}

/// Asserts an error answer is problem+json with the given status and `type` suffix.
pub async fn expect_problem(response: reqwest::Response, status: u16, kind: &str) -> Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "unexpected status for {kind}"
    );
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/problem+json"),
        "content type {content_type}"
    );
    let body: Value = response.json().await.unwrap();
    validate("Problem", &body);
    let actual = body["type"].as_str().unwrap();
    assert!(
        actual.ends_with(&format!("/{kind}")),
        "problem type {actual}, expected …/{kind}"
    );
    body
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A thin client of one partner's OTA API, for test setup. Asserts success on each step.
pub struct Ota {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Ota {
    pub async fn new(server: &TestServer, client_index: usize) -> Ota {
        let partner = server.client(client_index).partner_id.clone();
        Ota {
            base: server.partner_url(&partner),
            token: server.token_for(client_index).await,
            http: http(),
        }
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// GETs `path` and parses its JSON answer, whatever the status.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        self.get(path)
            .send()
            .await
            .expect("GET reaches the server")
            .json()
            .await
            .expect("the answer is JSON")
    }
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }
    pub fn put(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .put(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }
    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .delete(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// `POST binaries` with an `application/octet-stream` body still to be set.
    pub fn raw_upload(&self) -> reqwest::RequestBuilder {
        self.post("/binaries")
            .header("content-type", "application/octet-stream")
    }

    /// Creates firmware type `fw_type` (201).
    pub async fn create_type(&self, fw_type: i64) -> Value {
        let response = self
            .post("/types")
            .json(&serde_json::json!({"name": format!("type-{fw_type}"), "type": fw_type}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        validate("FirmwareType", &body);
        body
    }

    /// Every pool record of a type, by version string, paging through the list.
    pub async fn all_records(&self, fw_type: i64) -> std::collections::HashMap<String, Value> {
        let mut records = std::collections::HashMap::new();
        for page in 0.. {
            let body: Value = self
                .get(&format!("/pool/types/{fw_type}?size=1000&page={page}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for record in body["content"].as_array().unwrap() {
                records.insert(
                    record["version"].as_str().unwrap().to_string(),
                    record.clone(),
                );
            }
            if page + 1 >= body["totalPages"].as_u64().unwrap() {
                break;
            }
        }
        records
    }

    /// Uploads bytes as application/octet-stream; answers the SHA-256 the server reports.
    pub async fn upload(&self, bytes: Vec<u8>) -> String {
        let response = self.raw_upload().body(bytes).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        validate("StringValue", &body);
        body["value"].as_str().unwrap().to_string()
    }

    /// moveToRepository; answers the repository URL.
    pub async fn move_to_repository(&self, sha256: &str) -> String {
        let response = self
            .post("/binaries/moveToRepository")
            .json(&serde_json::json!({"value": sha256}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        validate("StringValue", &body);
        body["value"].as_str().unwrap().to_string()
    }

    /// Upload + move + pool record; answers the record.
    pub async fn publish(
        &self,
        fw_type: i64,
        name: &str,
        version: &str,
        tags: &[&str],
        bytes: Vec<u8>,
    ) -> Value {
        let sha = self.upload(bytes).await;
        let url = self.move_to_repository(&sha).await;
        let response = self
            .post("/pool")
            .json(&serde_json::json!({"name": name, "type": fw_type, "version": version, "url": url, "tags": tags}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            201,
            "pool POST failed: {}",
            response.text().await.unwrap()
        );
        let body: Value = response.json().await.unwrap();
        validate("PoolRecord", &body);
        body
    }
}

/// Every blob file under a server's data dir, as (name, bytes-hash) pairs.
pub fn blob_files(data_dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let root = data_dir.join("blobs/sha256");
    // A missing root means the layout moved: an empty answer would let assertions pass.
    let level1 = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("blob root {} unreadable: {e}", root.display()));
    for a in level1 {
        for b in std::fs::read_dir(a.unwrap().path()).unwrap() {
            for file in std::fs::read_dir(b.unwrap().path()).unwrap() {
                let path = file.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                out.push((name, sha256_file(&path)));
            }
        }
    }
    out.sort();
    out
}

/// Names (SHA-256 hex) of the blob files under a server's data dir, sorted.
pub fn blob_names(data_dir: &Path) -> Vec<String> {
    blob_files(data_dir)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// Waits (up to 20 s) until the sweeper has left at most `count` blob files.
pub async fn wait_for_blob_count(data_dir: &Path, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while blob_files(data_dir).len() > count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Streaming SHA-256 of a file.
pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    use std::io::Read;
    let mut file = std::fs::File::open(path).unwrap();
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    hex::encode(hasher.finalize())
}

/// Files left in the blob store's temp directory (which must exist: a moved layout fails
/// loudly instead of counting zero).
pub fn temp_files(data_dir: &Path) -> usize {
    let tmp = data_dir.join("blobs/tmp");
    std::fs::read_dir(&tmp)
        .unwrap_or_else(|e| panic!("temp directory {} unreadable: {e}", tmp.display()))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 11 item 13: a data dir without the blob layout is an error, not "no files".
    #[test]
    #[should_panic(expected = "temp directory")]
    fn temp_files_panics_when_the_directory_is_missing() {
        temp_files(tempfile::tempdir().unwrap().path());
    }

    /// Issue 11 item 13: as above, for the blob files.
    #[test]
    #[should_panic(expected = "blob root")]
    fn blob_files_panics_when_the_directory_is_missing() {
        blob_files(tempfile::tempdir().unwrap().path());
    }
}
