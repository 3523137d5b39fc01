//! Reading request bodies with a size limit, failing in the caller's protocol.

use std::error::Error;

use axum::body::{Body, Bytes};
use morn_protocol::{ApiError, ErrorKind};

use crate::h1::BodyReadTimeout;

/// Reads the whole body, refusing more than `limit` bytes with a 413, and a body that
/// stalled (a connection served by hyper, see `h1/handoff.rs`) with a 408.
pub async fn read_limited(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|err| {
        if caused_by::<BodyReadTimeout>(&err) {
            return ApiError::new(
                ErrorKind::RequestTimeout,
                "The request body stopped arriving before it was complete.",
            );
        }
        let too_large = caused_by::<http_body_util::LengthLimitError>(&err)
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

/// Whether `err` or any error in its chain of sources is an `E`.
fn caused_by<E: Error + 'static>(err: &(dyn Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(err) = next {
        if err.is::<E>() {
            return true;
        }
        next = err.source();
    }
    false
}
