//! The library's one error type and the documented exit codes it maps to.
//! Binaries turn an [`Error`] into a process exit code with [`Error::exit_code`].

use std::path::PathBuf;

/// Documented exit codes (see README "Exit codes").
pub mod exit {
    pub const OK: i32 = 0;
    /// Anything not listed below: bad configuration, I/O, a tool that failed.
    pub const FAILURE: i32 = 1;
    /// Command-line usage error (clap's own code).
    pub const USAGE: i32 = 2;
    /// No record (or type, or file) matched.
    pub const NOT_FOUND: i32 = 3;
    /// A SHA-256 did not match: a download, a cached blob, or `verify FILE`.
    pub const VERIFY_FAILED: i32 = 4;
    /// The server refused the credentials (401) or the scope (403).
    pub const AUTH: i32 = 5;
    /// The server could not be reached, or kept failing after all retries.
    pub const NETWORK: i32 = 6;
    /// Different bytes are already published under this name and version.
    pub const CONFLICT: i32 = 7;
    /// The server rejected the request (4xx other than the above).
    pub const REJECTED: i32 = 8;
    /// `--verify`: the binary (or provenance) has no signature that verifies with a trusted key.
    pub const SIGNATURE: i32 = 9;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Configuration is missing or invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// The version read from a source is not semver.
    #[error("invalid version {version:?} from {source_name}: {reason}")]
    Version {
        version: String,
        source_name: String,
        reason: String,
    },
    /// Reading git facts failed.
    #[error("git: {0}")]
    Git(String),
    /// cargo metadata or cargo build failed, or the artifact was not found.
    #[error("cargo: {0}")]
    Cargo(String),
    /// An external tool (objcopy, ...) failed.
    #[error("{0}")]
    Tool(String),
    /// Nothing matched.
    #[error("not found: {0}")]
    NotFound(String),
    /// A digest check failed.
    #[error("SHA-256 mismatch for {what}: expected {expected}, got {actual}")]
    Verify {
        what: String,
        expected: String,
        actual: String,
    },
    /// 401 or 403 from the server.
    #[error("not authorized ({status}): {detail}")]
    Auth { status: u16, detail: String },
    /// Transport failure or 5xx after all retries.
    #[error("network: {0}")]
    Network(String),
    /// Same name and version with other bytes.
    #[error("{0}")]
    Conflict(String),
    /// A 4xx problem answer from the server.
    #[error("server rejected the request ({status} {kind}): {detail}")]
    Rejected {
        status: u16,
        kind: String,
        detail: String,
    },
    /// A signature is missing, does not verify, or could not be made.
    #[error("signature: {0}")]
    Signature(String),
    /// File system trouble.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NotFound(_) => exit::NOT_FOUND,
            Error::Verify { .. } => exit::VERIFY_FAILED,
            Error::Auth { .. } => exit::AUTH,
            Error::Network(_) => exit::NETWORK,
            Error::Conflict(_) => exit::CONFLICT,
            Error::Rejected { .. } => exit::REJECTED,
            Error::Signature(_) => exit::SIGNATURE,
            Error::Config(_)
            | Error::Version { .. }
            | Error::Git(_)
            | Error::Cargo(_)
            | Error::Tool(_)
            | Error::Io { .. } => exit::FAILURE,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
