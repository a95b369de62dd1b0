//! fwrepo build plugin: stamps a firmware build with its version, git and CI facts, publishes
//! it to an fwrepo server, and queries and pulls published binaries.
//!
//! Layout: `ops/` holds the low-level pieces (git, CI, cargo, HTTP, cache), `stamp` the pure
//! version and tag rules, `commands/` what users invoke, `cli` the shared command line. The
//! binaries only parse arguments and call [`cli::run`].

/// `print!` that ignores a closed stdout (`fwrepo list | head`) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `println!` that ignores a closed stdout.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod ops;
pub mod stamp;

pub use error::{Error, Result};
