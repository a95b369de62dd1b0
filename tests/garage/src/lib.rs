//! A real Garage cluster for tests: three `garage server` processes on 127.0.0.1 with
//! replication factor 3, one bucket and one key, every process killed when the cluster drops.
//!
//! The `garage` binary is built once by `./run test` into the cache outside the checkout
//! (`$HOME/.cache/fwrepo/garage-<version>/bin/garage`) or named by `FWREPO_GARAGE_BIN`. A
//! missing binary is a failure, never a skip.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::{ObjectStore, ObjectStoreExt, RetryConfig};
use rand::Rng;
use serde_json::{json, Value};

/// The Garage release `./run` builds; the cache path depends on it.
pub const GARAGE_VERSION: &str = "2.5.0";
/// The S3 region the cluster answers to (a client must sign for exactly this region).
pub const REGION: &str = "garage";
/// The bucket every cluster starts with.
pub const BUCKET: &str = "fwrepo";
const NODES: usize = 3;
/// How long a cluster (or a restarted node) may take to become healthy.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the `garage` binary is: `FWREPO_GARAGE_BIN`, else the build cache of `./run`.
pub fn garage_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("FWREPO_GARAGE_BIN") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    PathBuf::from(home).join(format!(".cache/fwrepo/garage-{GARAGE_VERSION}/bin/garage"))
}

/// A running 3-node cluster; dropping it kills every node and removes their data.
pub struct GarageCluster {
    nodes: Vec<Node>,
    access_key_id: String,
    secret_access_key: String,
    _dir: tempfile::TempDir,
}

struct Node {
    config: PathBuf,
    log: PathBuf,
    rpc_port: u16,
    s3_port: u16,
    process: Option<Child>,
}

impl GarageCluster {
    /// Starts three nodes, joins them into one layout and creates the bucket and its key;
    /// returns when every partition has all three replicas up.
    pub fn start() -> GarageCluster {
        let bin = garage_bin();
        assert!(
            bin.exists(),
            "the garage binary is missing at {} (./run test builds it, or set FWREPO_GARAGE_BIN)",
            bin.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("fwrepo-garage-")
            .tempdir()
            .expect("create the cluster's directory");
        let secret = hex::encode(rand::rng().random::<[u8; 32]>());
        let ports = free_ports(NODES * 2);
        let mut nodes: Vec<Node> = (0..NODES)
            .map(|i| Node::configure(dir.path(), i, &secret, ports[2 * i], ports[2 * i + 1]))
            .collect();
        for node in &mut nodes {
            node.spawn();
        }
        let mut cluster = GarageCluster {
            nodes,
            access_key_id: String::new(),
            secret_access_key: String::new(),
            _dir: dir,
        };
        cluster.join_layout();
        cluster.create_bucket_and_key();
        cluster.wait_healthy();
        cluster
    }

    /// S3 endpoint of node 0, the node servers under test talk to.
    pub fn s3_endpoint(&self) -> String {
        self.endpoint_of(0)
    }

    /// S3 endpoint of node `i` (every node serves the whole bucket).
    pub fn endpoint_of(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[i].s3_port)
    }

    pub fn region(&self) -> &str {
        REGION
    }

    pub fn bucket(&self) -> &str {
        BUCKET
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    /// Kills node `i` (SIGKILL: no goodbye to its peers).
    pub fn kill_node(&mut self, i: usize) {
        self.nodes[i].kill();
    }

    /// Starts node `i` again on its data and waits until the cluster is whole.
    pub fn restart_node(&mut self, i: usize) {
        self.nodes[i].spawn();
        self.wait_healthy();
    }

    /// Kills every node: the store is unreachable until [`GarageCluster::start_all`].
    pub fn stop_all(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
    }

    /// Starts every stopped node and waits until the cluster is whole.
    pub fn start_all(&mut self) {
        for node in &mut self.nodes {
            if node.process.is_none() {
                node.spawn();
            }
        }
        self.wait_healthy();
    }

    /// Every key in the bucket, read through node 0's S3 API.
    ///
    /// Each listed key is confirmed with a HEAD. Garage's listing filters out deleted keys on
    /// each node before it merges the quorum's answers, so a key deleted a moment ago is still
    /// listed while one node of the quorum has not yet received the delete; a HEAD merges
    /// first and answers 404.
    pub async fn object_keys(&self) -> Vec<String> {
        let client = self.s3_client();
        let listed: Vec<object_store::path::Path> = client
            .list(None)
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .expect("list the bucket");
        let mut keys = Vec::with_capacity(listed.len());
        for key in listed {
            match client.head(&key).await {
                Ok(_) => keys.push(key.to_string()),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => panic!("HEAD {key}: {error}"),
            }
        }
        keys
    }

    /// An S3 client of the bucket with the cluster's key (for checks behind the server's back).
    pub fn s3_client(&self) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(self.s3_endpoint())
            .with_region(REGION)
            .with_bucket_name(BUCKET)
            .with_access_key_id(&self.access_key_id)
            .with_secret_access_key(&self.secret_access_key)
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false)
            // Fail fast when nodes are down: the tests stop nodes on purpose.
            .with_retry(RetryConfig {
                max_retries: 1,
                retry_timeout: Duration::from_secs(5),
                ..RetryConfig::default()
            })
            .build()
            .expect("build an S3 client for the cluster")
    }

    /// Runs `garage` against node 0 and returns its output; panics with its log on failure.
    fn garage(&self, args: &[&str]) -> Output {
        let node = self
            .nodes
            .iter()
            .find(|node| node.process.is_some())
            .expect("a running node");
        let output = node.command(args);
        assert!(
            output.status.success(),
            "garage {args:?} failed: {}\nnode log:\n{}",
            String::from_utf8_lossy(&output.stderr),
            node.log_tail()
        );
        output
    }

    /// Calls one admin API endpoint through `garage json-api` and parses its answer.
    fn json_api(&self, endpoint: &str, payload: Value) -> Value {
        let output = self.garage(&["json-api", endpoint, &payload.to_string()]);
        serde_json::from_slice(&output.stdout).expect("json-api answers JSON")
    }

    fn join_layout(&self) {
        let ids: Vec<String> = self.nodes.iter().map(Node::full_id).collect();
        for peer in &ids[1..] {
            self.garage(&["node", "connect", peer]);
        }
        let mut assign = vec!["layout", "assign", "-z", "dc1", "-c", "1G"];
        // The short id (before '@') is what `layout assign` takes.
        let short: Vec<&str> = ids.iter().map(|id| id.split('@').next().unwrap()).collect();
        assign.extend(short.iter().copied());
        self.garage(&assign);
        self.garage(&["layout", "apply", "--version", "1"]);
        // A node restarted alone finds its peers again by itself; after the whole cluster was
        // down, each needs someone to call: every config names all three from now on.
        for node in &self.nodes {
            node.set_bootstrap_peers(&ids);
        }
    }

    fn create_bucket_and_key(&mut self) {
        let key = self.json_api("CreateKey", json!({ "name": "fwrepo-tests" }));
        self.access_key_id = key["accessKeyId"].as_str().expect("key id").to_string();
        self.secret_access_key = key["secretAccessKey"]
            .as_str()
            .expect("secret key")
            .to_string();
        let bucket = self.json_api("CreateBucket", json!({ "globalAlias": BUCKET }));
        let bucket_id = bucket["id"].as_str().expect("bucket id");
        self.json_api(
            "AllowBucketKey",
            json!({
                "bucketId": bucket_id,
                "accessKeyId": self.access_key_id,
                "permissions": { "read": true, "write": true, "owner": true },
            }),
        );
    }

    /// Waits until node 0 sees every storage node and every partition fully replicated.
    fn wait_healthy(&self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let output = self.nodes[0].command(&["json-api", "GetClusterHealth"]);
            let health: Option<Value> = output
                .status
                .success()
                .then(|| serde_json::from_slice(&output.stdout).ok())
                .flatten();
            if let Some(health) = &health {
                let all_ok = health["partitionsAllOk"] == health["partitions"];
                if health["status"] == "healthy" && health["storageNodesUp"] == NODES && all_ok {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the garage cluster did not become healthy: {health:?}\nnode 0 log:\n{}",
                self.nodes[0].log_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for GarageCluster {
    fn drop(&mut self) {
        self.stop_all();
    }
}

impl Node {
    fn configure(dir: &Path, index: usize, secret: &str, rpc_port: u16, s3_port: u16) -> Node {
        let home = dir.join(format!("node{index}"));
        std::fs::create_dir_all(&home).expect("create a node's directory");
        // No fsync: a test cluster trades durability across power loss for speed; replication
        // across the three processes is what the tests exercise.
        let config = format!(
            r#"metadata_dir = "{home}/meta"
data_dir = "{home}/data"
db_engine = "lmdb"
lmdb_map_size = "1G"
metadata_fsync = false
data_fsync = false
replication_factor = 3
block_size = "1M"
rpc_bind_addr = "127.0.0.1:{rpc_port}"
rpc_public_addr = "127.0.0.1:{rpc_port}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3_port}"
root_domain = ".s3.garage.localhost"
"#,
            home = home.display()
        );
        let config_path = home.join("garage.toml");
        std::fs::write(&config_path, config).expect("write a node's config");
        Node {
            config: config_path,
            log: home.join("garage.log"),
            rpc_port,
            s3_port,
            process: None,
        }
    }

    /// Read at the node's next start (a top-level key, so it goes before the tables).
    fn set_bootstrap_peers(&self, peers: &[String]) {
        let config = std::fs::read_to_string(&self.config).expect("read a node's config");
        let peers = serde_json::to_string(peers).expect("peer ids as a TOML array");
        let config = format!("bootstrap_peers = {peers}\n{config}");
        std::fs::write(&self.config, config).expect("write a node's config");
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open a node's log");
        let child = Command::new(garage_bin())
            .arg("-c")
            .arg(&self.config)
            .arg("server")
            .env("RUST_LOG", "garage=info,garage_api_s3=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log)
            .spawn()
            .expect("start garage server");
        self.process = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn command(&self, args: &[&str]) -> Output {
        Command::new(garage_bin())
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run the garage CLI")
    }

    /// `<hex id>@127.0.0.1:<rpc port>`, once the node has written its key and listens for
    /// peers. The CLI reads the id from the key file, which is written before the RPC port is
    /// bound, so a `node connect` to a node that only has an id can be refused.
    fn full_id(&self) -> String {
        let deadline = Instant::now() + READY_TIMEOUT;
        self.wait_listening(deadline);
        loop {
            let output = self.command(&["node", "id", "-q"]);
            let id = String::from_utf8_lossy(&output.stdout).trim().to_string();
            if output.status.success() && id.contains('@') {
                return id;
            }
            assert!(
                Instant::now() < deadline,
                "garage node never reported its id:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_listening(&self, deadline: Instant) {
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.rpc_port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "garage node never listened on its RPC port {}:\n{}",
                self.rpc_port,
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tail(&self) -> String {
        let bytes = std::fs::read(&self.log).unwrap_or_default();
        let start = bytes.len().saturating_sub(4000);
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }
}

/// `count` distinct loopback ports below the kernel's ephemeral range (32768+), so the ports
/// other tests get by binding port 0 cannot take them between this check and Garage's bind.
fn free_ports(count: usize) -> Vec<u16> {
    let mut rng = rand::rng();
    let mut ports = Vec::with_capacity(count);
    while ports.len() < count {
        let port = rng.random_range(20_000..32_000);
        let free = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok();
        if free && !ports.contains(&port) {
            ports.push(port);
        }
    }
    ports
}
