//! The admin HTTP service's parsers of request bytes, opened to the fuzz
//! targets in `fuzz/` (the service itself is private to this crate). Each
//! runs exactly the code its handler runs.

use axum::response::IntoResponse;

/// The address a POX Autodiscover request body asks about, as the handler
/// reads it before looking its domain up; None when it answers `400`.
pub fn autodiscover_request(body: &[u8]) -> Option<String> {
    crate::http::autodiscover_request(body)
        .ok()
        .map(|address| address.to_string())
}

/// `json` parsed as each JSON request body of the API, by type name: `Ok`
/// when it is one, else the HTTP status the API answers.
pub fn request_bodies(json: &[u8]) -> Vec<(&'static str, Result<(), u16>)> {
    crate::http::REQUEST_BODIES
        .iter()
        .map(|(name, parse)| {
            let result = parse(json).map_err(|err| err.into_response().status().as_u16());
            (*name, result)
        })
        .collect()
}
