//! Increments of per-tag counts as merge operands: a commit that adds to a count writes the
//! delta and reads nothing; RocksDB adds the deltas to the count when it reads or compacts
//! the key. Decrements still read the count first (`MetaStore::stage_delta`), so one that
//! would go below zero is refused before it commits.

use rocksdb::{MergeOperands, Options};

/// The operator's name, which RocksDB records with the family: a database written with it
/// must be opened with it (a build without the operator fails to read a pending delta).
const ADD_U64: &str = "fwrepo.add_u64";

/// How many deltas of one key the memtable keeps before RocksDB folds them into one value
/// as it inserts the next: a read of a busy tag's count merges at most this many.
const MAX_DELTAS_PER_KEY: usize = 32;

/// Sets the operator on a family's options.
pub(super) fn add_u64_merges(options: &mut Options) {
    options.set_merge_operator_associative(ADD_U64, add_u64);
    options.set_max_successive_merges(MAX_DELTAS_PER_KEY);
}

/// The stored count (0 when absent) plus every delta, all big-endian u64 like every count.
/// A value of another length is corruption: no value comes out, and RocksDB fails the read
/// as corrupt rather than answer a wrong count.
fn add_u64(_key: &[u8], stored: Option<&[u8]>, deltas: &MergeOperands) -> Option<Vec<u8>> {
    let mut total = stored.map_or(Some(0), as_u64)?;
    for delta in deltas {
        total = total.checked_add(as_u64(delta)?)?;
    }
    Some(total.to_be_bytes().to_vec())
}

fn as_u64(bytes: &[u8]) -> Option<u64> {
    bytes.try_into().ok().map(u64::from_be_bytes)
}
