//! DDI polling: `devices` simulated hawkBit controllers registered by a gateway token's first
//! poll, every one with an open deployment; then base poll + deploymentBase at a fixed total
//! rate (open loop) for a fixed time, with latency per request kind and the server's RSS.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use futures_util::{stream, StreamExt};
use serde_json::{json, Value};

use crate::client::{Api, Creds, Rng, Samples};
use crate::soak::rss_kib;

/// Concurrent requests while registering devices and creating their actions.
const SETUP_CONCURRENCY: usize = 16;

struct Fleet {
    http: reqwest::Client,
    url: String,
    tenant: String,
    gateway: String,
}

impl Fleet {
    fn poll_url(&self, device: u64) -> String {
        format!("{}/{}/controller/v1/bench-{device}", self.url, self.tenant)
    }

    async fn get(&self, url: &str) -> anyhow::Result<Value> {
        let response = self
            .http
            .get(url)
            .header("authorization", format!("GatewayToken {}", self.gateway))
            .send()
            .await?;
        ensure!(response.status() == 200, "GET {url}: {}", response.status());
        Ok(response.json().await?)
    }

    /// Polls a device; confirms a cancel it is asked for (a previous run's deployment) and
    /// polls again.
    async fn settle(&self, device: u64) -> anyhow::Result<Value> {
        let base = self.get(&self.poll_url(device)).await?;
        let Some(cancel) = base["_links"]["cancelAction"]["href"].as_str() else {
            return Ok(base);
        };
        let feedback =
            json!({"status": {"execution": "closed", "result": {"finished": "success"}}});
        self.http
            .post(format!("{cancel}/feedback"))
            .header("authorization", format!("GatewayToken {}", self.gateway))
            .json(&feedback)
            .send()
            .await?
            .error_for_status()?;
        self.get(&self.poll_url(device)).await
    }

    /// Polls every device once, `SETUP_CONCURRENCY` at a time; answers the wall time.
    async fn poll_all(self: &Arc<Self>, devices: u64) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let results: Vec<anyhow::Result<Value>> = stream::iter(0..devices)
            .map(|i| {
                let fleet = Arc::clone(self);
                async move { fleet.settle(i).await }
            })
            .buffer_unordered(SETUP_CONCURRENCY)
            .collect()
            .await;
        for result in results {
            result?;
        }
        Ok(started.elapsed())
    }
}

/// The gateway token, the default collection (with the devices registered in it) and its
/// target: one uploaded image.
async fn setup(
    api: &Api,
    url: &str,
    creds: &Creds,
    devices: u64,
) -> anyhow::Result<(Arc<Fleet>, Value)> {
    let created: Value = api
        .post("/ddi/gatewayTokens")
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let fleet = Arc::new(Fleet {
        http: api.http.clone(),
        url: url.to_string(),
        tenant: creds.partner.clone(),
        gateway: created["token"]
            .as_str()
            .context("gateway token")?
            .to_string(),
    });
    let register = fleet.poll_all(devices).await?;
    let settings: Value = api.get("/ddi/settings").send().await?.json().await?;
    let collection = settings["defaultCollectionId"]
        .as_str()
        .context("default collection")?
        .to_string();
    // New bytes on every run: a collection holds a binary once.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64;
    let mut bytes = vec![0u8; 1 << 20];
    Rng::new(seed).fill(&mut bytes);
    let form = reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(bytes).file_name("bench.swu"),
    );
    let image: Value = api
        .http
        .post(format!("{url}/collections/{collection}/firmware"))
        .bearer_auth(&api.token)
        .multipart(form)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let target =
        json!({"firmware": {"management": "collection", "targetFirmwareId": image["imageId"]}});
    api.http
        .patch(format!("{url}/collections/{collection}"))
        .bearer_auth(&api.token)
        .json(&target)
        .send()
        .await?
        .error_for_status()?;
    let actions = fleet.poll_all(devices).await?;
    Ok((
        fleet,
        json!({"register_s": register.as_secs_f64(), "register_per_s": devices as f64 / register.as_secs_f64(),
               "create_actions_s": actions.as_secs_f64(), "create_actions_per_s": devices as f64 / actions.as_secs_f64()}),
    ))
}

#[derive(Default)]
struct Kinds {
    poll: Samples,
    deployment: Samples,
    errors: u64,
}

/// One controller's turn: the base poll, then its deploymentBase.
async fn turn(fleet: &Fleet, device: u64, kinds: &Mutex<Kinds>) {
    let begun = Instant::now();
    let base = fleet.get(&fleet.poll_url(device)).await;
    let poll_time = begun.elapsed();
    let href = base.as_ref().ok().and_then(|b| {
        b["_links"]["deploymentBase"]["href"]
            .as_str()
            .map(str::to_string)
    });
    let deployment = match &href {
        Some(href) => {
            let begun = Instant::now();
            let ok = fleet.get(href).await.is_ok();
            Some((begun.elapsed(), ok))
        }
        None => None,
    };
    let mut kinds = kinds.lock().unwrap();
    kinds.poll.push(poll_time);
    kinds.errors += u64::from(base.is_err() || href.is_none());
    if let Some((time, ok)) = deployment {
        kinds.deployment.push(time);
        kinds.errors += u64::from(!ok);
    }
}

pub async fn ddi_poll(
    url: &str,
    creds: &Creds,
    pid: u32,
    devices: u64,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<Value> {
    let api = Api::connect(url, creds).await?;
    let (fleet, setup_figures) = setup(&api, url, creds, devices).await?;
    let rss_before = rss_kib(pid);
    let kinds = Arc::new(Mutex::new(Kinds::default()));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(512));
    let mut rng = Rng::new(seconds ^ devices);
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let (started, mut skipped, mut rss_max) = (Instant::now(), 0u64, 0u64);
    while started.elapsed() < Duration::from_secs(seconds) {
        tick.tick().await;
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            skipped += 1; // more than 512 turns in flight: the server is not keeping up
            continue;
        };
        let (fleet, kinds, device) = (Arc::clone(&fleet), Arc::clone(&kinds), rng.below(devices));
        tokio::spawn(async move {
            turn(&fleet, device, &kinds).await;
            drop(permit);
        });
        rss_max = rss_max.max(rss_kib(pid).unwrap_or(0));
    }
    let _ = tokio::time::timeout(Duration::from_secs(60), in_flight.acquire_many(512)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let kinds = kinds.lock().unwrap();
    let requests = kinds.poll.0.len() + kinds.deployment.0.len();
    Ok(json!({
        "devices": devices, "target_turns_per_s": rate, "seconds": seconds,
        "setup": setup_figures,
        "turns": kinds.poll.0.len(), "requests_per_s": requests as f64 / elapsed,
        "errors": kinds.errors, "skipped_over_512_in_flight": skipped,
        "poll_p50_ms": kinds.poll.quantile(0.5) / 1000.0, "poll_p99_ms": kinds.poll.quantile(0.99) / 1000.0,
        "deployment_p50_ms": kinds.deployment.quantile(0.5) / 1000.0,
        "deployment_p99_ms": kinds.deployment.quantile(0.99) / 1000.0,
        "rss_before_kib": rss_before, "rss_max_kib": rss_max,
    }))
}
