//! Low-level pieces, each usable alone: environment, git, CI, cargo, objcopy, HTTP, cache,
//! digests, progress, signatures and provenance. Nothing here knows about commands or output formats.

pub mod cache;
pub mod cargo;
pub mod ci;
pub mod digest;
pub mod env;
pub mod git;
pub mod http;
pub mod objcopy;
pub mod progress;
pub mod provenance;
pub mod sign;
