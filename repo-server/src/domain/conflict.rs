//! Why a request conflicts with the current state (409). Each kind has its own stable
//! problem type at the HTTP edge, so a client can tell a duplicate from a blocked change.

/// A conflict other than a duplicate (which is `MetaError::Conflict`, `already-exists`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictKind {
    /// The binary a record names is not (yet) in the partner's repository.
    NotInRepository,
    /// Fields echoed from a pool record differ from that record.
    PoolRecordMismatch,
    /// A collection still has firmware images or devices.
    CollectionNotEmpty,
    /// The image is the target of its collection or of a device.
    InUse,
    /// The record would carry a protected tag without a signature by a trusted key.
    UnsignedProtectedRecord,
}
