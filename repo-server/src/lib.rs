//! fwrepo-server: a content-addressed firmware artifact repository speaking the Afero OTA API.
//! Layers point one way: `api` → `service` → {`meta`, `store`, `auth`} → `domain`.

pub mod allocator;
pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod control;
pub mod domain;
pub mod fsck;
pub mod meta;
pub mod migrate;
pub mod restore;
pub mod server;
pub mod service;
pub mod store;

/// Sets up tracing: human-readable lines, or JSON when asked. `RUST_LOG` filters.
pub fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a person at a terminal, never in files or log collectors.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
