//! The crate's error type and its stable, documented error codes.
//!
//! Every failure that reaches JavaScript carries one of the codes below. The napi layer puts the code in
//! front of the message (`[ERR_NOT_FOUND] ...`) because napi-rs async functions can only reject with its
//! default status type; the TypeScript layer reads the code back into `error.code`.

/// Result alias used across the crate.
pub type Result<T, E = RtError> = std::result::Result<T, E>;

/// Everything that can go wrong while opening or reading a hierarchy.
///
/// Messages name the offending store path or key and never contain credentials.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RtError {
    /// A source, group, node or key that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A source string that cannot be resolved (unknown scheme, malformed URL).
    #[error("{0}")]
    InvalidSource(String),
    /// `zarr.json` (or consolidated metadata) that is not valid Zarr v3 metadata.
    #[error("{0}")]
    InvalidMetadata(String),
    /// A codec this build cannot decode.
    #[error("{0}")]
    UnsupportedCodec(String),
    /// A data type this build cannot represent.
    #[error("{0}")]
    UnsupportedDtype(String),
    /// A format or format version that is recognised but not supported yet (Zarr v2).
    #[error("{0}")]
    UnsupportedFormat(String),
    /// The store failed to answer (I/O error, server error after retries, timeout).
    #[error("{0}")]
    Storage(String),
    /// The store refused the credentials, or they do not allow the request (HTTP 401/403).
    #[error("{0}")]
    PermissionDenied(String),
    /// A chunk that could not be decoded (corrupt bytes, wrong size).
    #[error("{0}")]
    Decode(String),
    /// A selection or chunk coordinate outside the array.
    #[error("{0}")]
    InvalidSelection(String),
    /// A bad option value passed by the caller.
    #[error("{0}")]
    InvalidArgument(String),
    /// CF attributes that cannot be decoded (bad time units, out-of-range dates).
    #[error("{0}")]
    CfDecode(String),
    /// The caller's `AbortSignal` fired.
    #[error("{0}")]
    Aborted(String),
    /// A bug: a Rust panic or broken invariant, reported instead of crashing Node.
    #[error("{0}")]
    Internal(String),
}

impl RtError {
    /// The stable code, in Node's `ERR_*` style, that JavaScript sees as `error.code`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "ERR_NOT_FOUND",
            Self::InvalidSource(_) => "ERR_INVALID_SOURCE",
            Self::InvalidMetadata(_) => "ERR_INVALID_METADATA",
            Self::UnsupportedCodec(_) => "ERR_UNSUPPORTED_CODEC",
            Self::UnsupportedDtype(_) => "ERR_UNSUPPORTED_DTYPE",
            Self::UnsupportedFormat(_) => "ERR_UNSUPPORTED_FORMAT",
            Self::Storage(_) => "ERR_STORAGE",
            Self::PermissionDenied(_) => "ERR_PERMISSION_DENIED",
            Self::Decode(_) => "ERR_DECODE",
            Self::InvalidSelection(_) => "ERR_INVALID_SELECTION",
            Self::InvalidArgument(_) => "ERR_INVALID_ARGUMENT",
            Self::CfDecode(_) => "ERR_CF_DECODE",
            Self::Aborted(_) => "ERR_ABORTED",
            Self::Internal(_) => "ERR_INTERNAL",
        }
    }

    /// The message without the code.
    #[must_use]
    pub fn message(&self) -> &str {
        match self {
            Self::NotFound(m)
            | Self::InvalidSource(m)
            | Self::InvalidMetadata(m)
            | Self::UnsupportedCodec(m)
            | Self::UnsupportedDtype(m)
            | Self::UnsupportedFormat(m)
            | Self::Storage(m)
            | Self::PermissionDenied(m)
            | Self::Decode(m)
            | Self::InvalidSelection(m)
            | Self::InvalidArgument(m)
            | Self::CfDecode(m)
            | Self::Aborted(m)
            | Self::Internal(m) => m,
        }
    }

    /// The reason string handed to napi: `[CODE] message`.
    #[must_use]
    pub fn to_reason(&self) -> String {
        format!("[{}] {}", self.code(), self.message())
    }

    /// The same error with `secrets` scrubbed from its message.
    #[must_use]
    pub fn scrubbed(self, secrets: &[String]) -> Self {
        let clean = crate::source::options::scrub(self.message(), secrets);
        match self {
            Self::NotFound(_) => Self::NotFound(clean),
            Self::InvalidSource(_) => Self::InvalidSource(clean),
            Self::InvalidMetadata(_) => Self::InvalidMetadata(clean),
            Self::UnsupportedCodec(_) => Self::UnsupportedCodec(clean),
            Self::UnsupportedDtype(_) => Self::UnsupportedDtype(clean),
            Self::UnsupportedFormat(_) => Self::UnsupportedFormat(clean),
            Self::Storage(_) => Self::Storage(clean),
            Self::PermissionDenied(_) => Self::PermissionDenied(clean),
            Self::Decode(_) => Self::Decode(clean),
            Self::InvalidSelection(_) => Self::InvalidSelection(clean),
            Self::InvalidArgument(_) => Self::InvalidArgument(clean),
            Self::CfDecode(_) => Self::CfDecode(clean),
            Self::Aborted(_) => Self::Aborted(clean),
            Self::Internal(_) => Self::Internal(clean),
        }
    }
}

/// Put in front of a storage message by the object-store adapters when the store answered 401/403, so
/// that the error keeps its kind through zarrs' and icechunk's string-only error types.
pub(crate) const PERMISSION_DENIED_TAG: &str = "\u{1}permission-denied\u{1}";

/// Turns a storage error into [`RtError::Storage`] (or [`RtError::PermissionDenied`] when the message
/// carries [`PERMISSION_DENIED_TAG`]), naming the key.
pub(crate) fn storage_error(key: &str, err: &impl std::fmt::Display) -> RtError {
    classify_storage(format!("reading {key:?} failed: {err}"))
}

/// [`RtError::Storage`] or [`RtError::PermissionDenied`] for a message from the storage layers.
pub(crate) fn classify_storage(message: String) -> RtError {
    if message.contains(PERMISSION_DENIED_TAG) {
        RtError::PermissionDenied(message.replace(PERMISSION_DENIED_TAG, ""))
    } else {
        RtError::Storage(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_starts_with_the_code() {
        let err = RtError::NotFound("no group at \"/a\"".into());
        assert_eq!(err.to_reason(), "[ERR_NOT_FOUND] no group at \"/a\"");
    }
}
