//! The process's memory allocator: jemalloc, for Rust and (unprefixed) RocksDB's C++ alike.
//! glibc's malloc kept pages freed across its per-thread arenas, so RSS climbed for as long
//! as a mixed load ran; jemalloc's background thread returns them after a short decay.

#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc reads its options from this symbol at start-up (`MALLOC_CONF` still overrides).
/// One arena per CPU, not four: the blocking pool's many threads share them, and each arena
/// keeps its own free pages. Small thread caches, for the same reason. Purging runs on a
/// background thread instead of inside a request's free, and freed pages go back to the
/// kernel within a second.
#[cfg(target_os = "linux")]
#[allow(non_upper_case_globals)]
#[export_name = "malloc_conf"]
pub static malloc_conf: &[u8; 96] =
    b"percpu_arena:percpu,tcache_max:4096,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

/// Bytes the application has allocated and bytes the allocator keeps resident, refreshed on
/// each call. None when the statistics are unavailable.
pub fn usage() -> Option<(u64, u64)> {
    #[cfg(target_os = "linux")]
    {
        use tikv_jemalloc_ctl::{epoch, stats};
        epoch::advance().ok()?;
        let allocated = stats::allocated::read().ok()? as u64;
        let resident = stats::resident::read().ok()? as u64;
        Some((allocated, resident))
    }
    #[cfg(not(target_os = "linux"))]
    None
}
