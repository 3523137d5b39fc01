//! Reading request bodies with a size limit, failing in the caller's protocol.

use axum::body::{Body, Bytes};
use morn_protocol::{ApiError, ErrorKind};

/// Reads the whole body, refusing more than `limit` bytes with a 413.
pub async fn read_limited(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|err| {
        let too_large = std::error::Error::source(&err)
            .is_some_and(|source| source.is::<http_body_util::LengthLimitError>())
            || err.to_string().contains("length limit");
        if too_large {
            ApiError::new(
                ErrorKind::PayloadTooLarge,
                format!("The request body exceeds the limit of {limit} bytes."),
            )
        } else {
            ApiError::new(
                ErrorKind::InvalidRequest,
                "The request body could not be read.",
            )
            .with_code("body_read_failed")
        }
    })
}
