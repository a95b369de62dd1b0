//! Wiring: opens the stores, builds the service and router, serves until SIGTERM/SIGINT.

use std::sync::Arc;

use anyhow::Context;
use metrics_exporter_prometheus::PrometheusBuilder;

use crate::api::{self, AppState};
use crate::auth::Authenticator;
use crate::config::Config;
use crate::config::DownloadPolicy;
use crate::config::StoreKind;
use crate::meta::MetaStore;
use crate::service::backup::{BackupBlobs, StoreRef};
use crate::service::binaries::Downloads;
use crate::service::{Service, ServiceConfig};
use crate::store::FsBlobStore;

/// The process's main runtime: the accept loop, background tasks and the commands. Its idle
/// blocking threads are kept as long as the event loops' (`BLOCKING_THREAD_KEEP_ALIVE`).
pub fn main_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("fwrepo-main")
        .thread_keep_alive(api::event_loops::BLOCKING_THREAD_KEEP_ALIVE)
        .build()
}

/// Opens the metadata store of a data directory (also used by the offline admin commands).
pub fn open_meta(config: &Config) -> anyhow::Result<Arc<MetaStore>> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let meta = MetaStore::open_with_cache(
        &config.meta_dir(),
        config.sync_writes,
        config.metadata_cache_mib,
    )
    .with_context(|| {
        format!(
            "cannot open metadata in {} (is a server running on it?)",
            config.meta_dir().display()
        )
    })?;
    Ok(Arc::new(meta))
}

pub async fn serve(mut config: Config) -> anyhow::Result<()> {
    // The stores open (and clear a crash's temp files) before the port does, so a client that
    // can connect finds them ready.
    let meta = open_meta(&config)?;
    let blobs = crate::store::open(&config)
        .await
        .context("cannot open blob store")?;
    let backup_blobs = Arc::new(backup_blobs(&config));
    // Without its socket the server still serves; only online backups are unavailable.
    let control = crate::control::bind(&config.data_dir)
        .inspect_err(|error| tracing::error!(error = %format!("{error:#}"), "no control socket: online backups are unavailable"))
        .ok();
    // Bound before the service is built: with `--listen 127.0.0.1:0` the kernel picks the
    // port, and the default public URL must name the real one.
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    config.listen = listener.local_addr()?;
    let public_url = config.public_url()?;
    let service = Arc::new(
        Service::new(
            Arc::clone(&meta),
            blobs,
            ServiceConfig {
                public_url: public_url.clone(),
                pending_upload_ttl: Config::secs(config.pending_upload_ttl_secs),
                sweep_grace: Config::secs(config.sweep_grace_secs),
                max_upload_bytes: config.max_upload_bytes,
            },
        )
        .with_downloads(Downloads {
            redirect: config.store.download_policy() == DownloadPolicy::Redirect,
            redirect_min_bytes: config.store.redirect_min_bytes,
            presign_ttl: config.store.presign_ttl(),
        }),
    );
    let auth = Arc::new(Authenticator::new(
        meta,
        Config::secs(config.token_lifetime_secs),
        config.sessions()?,
    ));
    let metrics = PrometheusBuilder::new()
        .install_recorder()
        .context("cannot install metrics recorder")?;
    // Histograms buffer their samples until upkeep folds them in: without it, memory grows
    // with the number of requests whenever nobody scrapes /metrics.
    let upkeep = tokio::spawn({
        let metrics = metrics.clone();
        let meta = Arc::clone(service.meta());
        async move {
            let mut ticker = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                ticker.tick().await;
                metrics.run_upkeep();
                let rocks = meta.memory();
                metrics::gauge!("fwrepo_rocksdb_block_cache_bytes").set(rocks.block_cache as f64);
                metrics::gauge!("fwrepo_rocksdb_memtable_bytes").set(rocks.memtables as f64);
                metrics::gauge!("fwrepo_rocksdb_table_readers_bytes")
                    .set(rocks.table_readers as f64);
                if let Some((allocated, resident)) = crate::allocator::usage() {
                    metrics::gauge!("fwrepo_allocator_allocated_bytes").set(allocated as f64);
                    metrics::gauge!("fwrepo_allocator_resident_bytes").set(resident as f64);
                }
            }
        }
    });
    let control = control.map(|listener| {
        tokio::spawn(crate::control::serve(
            listener,
            Arc::clone(&service),
            backup_blobs,
        ))
    });
    let sweeper = tokio::spawn(Arc::clone(&service).run_sweeper(
        Config::secs(config.sweep_interval_secs.max(1)),
        Config::secs(config.store.stale_temp_secs),
    ));

    let retention = (config.retention_interval_secs > 0)
        .then(|| service.spawn_retention_schedule(Config::secs(config.retention_interval_secs)));

    let app = api::router(AppState::new(service, auth, metrics));
    let threads = api::event_loops::thread_count(config.http_threads);
    tracing::info!(listen = %config.listen, http_threads = threads, public_url = %public_url, data_dir = %config.data_dir.display(), "fwrepo-server ready");
    announce_address(config.listen);
    api::event_loops::serve(listener, app, threads, shutdown_signal()).await?;
    sweeper.abort();
    if let Some(retention) = retention {
        retention.abort();
    }
    upkeep.abort();
    if let Some(control) = control {
        control.abort();
        let _ = std::fs::remove_file(crate::control::socket_path(&config.data_dir));
    }
    tracing::info!("fwrepo-server stopped");
    Ok(())
}

/// Where a backup of this server puts the blobs: a filesystem store's go into the backup;
/// an object store's stay in its bucket, which the backup's manifest names.
fn backup_blobs(config: &Config) -> BackupBlobs {
    match config.store.kind {
        StoreKind::Fs => BackupBlobs::Fs(Arc::new(FsBlobStore::inspect(config.blob_dir()))),
        StoreKind::S3 => BackupBlobs::External(StoreRef::S3 {
            endpoint: config.store.endpoint.clone().unwrap_or_default(),
            bucket: config.store.bucket.clone().unwrap_or_default(),
            region: config.store.region.clone(),
            prefix: config.store.prefix.clone(),
        }),
    }
}

/// Prints `listening on <address>` as the one line on stdout once requests are served, so
/// a supervisor (or a test) that asked for port 0 learns the port without racing for it.
/// A closed stdout is no reason not to serve: the address is in the log line too.
fn announce_address(address: std::net::SocketAddr) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on {address}").and_then(|()| stdout.flush());
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler installs");
    tokio::select! {
        _ = interrupt => {},
        _ = terminate.recv() => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
