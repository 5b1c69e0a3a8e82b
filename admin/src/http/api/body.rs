//! Request bodies: JSON only, bounded, with unknown fields refused and
//! every error naming the field it is about.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::http::error::HttpError;

/// The largest request body the API reads.
pub const MAX_BODY: usize = 64 * 1024;

/// A JSON request body of type `T`.
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            let err = HttpError::bad_request(
                "the body must be JSON, sent as Content-Type: application/json",
            );
            return Err(err.into());
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|_| {
            HttpError::bad_request(format!("the body must be at most {MAX_BODY} bytes"))
        })?;
        parse(&bytes).map(Body)
    }
}

/// Parses a JSON document: malformed JSON is `400 bad_request`, a document
/// of the wrong shape `422 invalid` naming the field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut json = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut json).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return HttpError::bad_request(format!("malformed JSON: {inner}")).into();
        }
        invalid_at(&path, &inner.to_string())
    })
}

/// `422 invalid` for a document (or query string) of the wrong shape:
/// `message` is the deserializer's, `path` where it stopped.
pub(super) fn invalid_at(path: &str, message: &str) -> ApiError {
    // A missing field is reported at its parent, with its name in the
    // message between the first pair of backquotes; an unknown one at
    // itself.
    let field = match (missing_field(message), path) {
        (Some(name), ".") => name.to_string(),
        (Some(name), parent) => format!("{parent}.{name}"),
        (None, _) => path.to_string(),
    };
    HttpError::invalid(field, without_position(message)).into()
}

fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(name, _)| name)
}

/// serde_json's message without its " at line L column C" tail.
fn without_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |at| &message[..at])
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Mailbox {
        address: String,
        quota_bytes: Option<u64>,
        limits: Option<Limits>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Limits {
        max: u64,
    }

    fn error_of(json: &str) -> serde_json::Value {
        let error = parse::<Mailbox>(json.as_bytes()).expect_err("refused");
        let response = axum::response::IntoResponse::into_response(error);
        let status = response.status().as_u16();
        let body = futures_body(response);
        serde_json::json!({ "status": status, "error": body["error"] })
    }

    fn futures_body(response: axum::response::Response) -> serde_json::Value {
        let bytes = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(axum::body::to_bytes(response.into_body(), MAX_BODY))
            .expect("body");
        serde_json::from_slice(&bytes).expect("JSON error body")
    }

    #[test]
    fn names_the_field_at_fault() {
        let wrong_type = error_of(r#"{"address": "a@b.it", "quota_bytes": "lots"}"#);
        assert_eq!(wrong_type["status"], 422);
        assert_eq!(wrong_type["error"]["code"], "invalid");
        assert_eq!(wrong_type["error"]["field"], "quota_bytes");

        let unknown = error_of(r#"{"address": "a@b.it", "quota": 5}"#);
        assert_eq!(unknown["error"]["field"], "quota");
        let message = unknown["error"]["message"].as_str().expect("message");
        assert!(message.starts_with("unknown field `quota`"), "{message}");
        assert!(!message.contains("line"), "{message}");

        let nested = error_of(r#"{"address": "a@b.it", "limits": {"maxi": 1}}"#);
        assert_eq!(nested["error"]["field"], "limits.maxi");

        let missing = error_of(r#"{"quota_bytes": 1}"#);
        assert_eq!(missing["error"]["field"], "address");
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        for json in [r#"{"address": "#, "not json", ""] {
            let error = error_of(json);
            assert_eq!(error["status"], 400, "{json}");
            assert_eq!(error["error"]["code"], "bad_request");
        }
    }
}
