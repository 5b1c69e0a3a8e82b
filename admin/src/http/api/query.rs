//! Query strings, held to the same contract as request bodies: unknown
//! parameters are refused, and a parameter of the wrong type is a JSON
//! `422 invalid` naming it, never axum's plain-text `400`.

use std::error::Error as _;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::body;
use super::error::ApiError;
use crate::http::error::HttpError;

/// The query string, deserialized into `T`.
pub struct Params<T>(pub T);

impl<S, T> FromRequestParts<S> for Params<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Query::try_from_uri(&parts.uri)
            .map(|Query(params)| Params(params))
            .map_err(|rejection| rejected(&rejection))
    }
}

/// The error of a refused query string. axum keeps the deserializer's
/// error, with the path to the parameter at fault, as the rejection's
/// source's source.
fn rejected(rejection: &QueryRejection) -> ApiError {
    let cause = rejection
        .source()
        .and_then(|axum_error| axum_error.source())
        .and_then(|cause| {
            cause.downcast_ref::<serde_path_to_error::Error<serde::de::value::Error>>()
        });
    match cause {
        Some(error) => body::invalid_at(&error.path().to_string(), &error.inner().to_string()),
        None => HttpError::bad_request(rejection.body_text()).into(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Uri;
    use axum::response::IntoResponse;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Removal {
        force: Option<bool>,
        limit: Option<i64>,
    }

    fn error_of(query: &str) -> (u16, serde_json::Value) {
        let uri: Uri = format!("/x?{query}").parse().expect("a URI");
        let rejection = Query::<Removal>::try_from_uri(&uri).expect_err("refused");
        let response = rejected(&rejection).into_response();
        let status = response.status().as_u16();
        let bytes = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(axum::body::to_bytes(response.into_body(), 4096))
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&bytes).expect("a JSON error");
        (status, body["error"].clone())
    }

    #[test]
    fn names_the_parameter_at_fault() {
        let (status, error) = error_of("force=maybe");
        assert_eq!(status, 422);
        assert_eq!(error["code"], "invalid");
        assert_eq!(error["field"], "force");

        let (_, error) = error_of("limit=ten");
        assert_eq!(error["field"], "limit");

        let (status, error) = error_of("forse=true");
        assert_eq!(status, 422);
        assert_eq!(error["field"], "forse");
        let message = error["message"].as_str().expect("a message");
        assert!(message.starts_with("unknown field `forse`"), "{message}");
    }
}
