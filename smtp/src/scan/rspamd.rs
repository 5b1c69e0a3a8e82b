//! rspamd's HTTP protocol (<https://rspamd.com/doc/developers/protocol.html>).
//! Scanning: the message as the body of `POST /checkv2` to a normal worker,
//! the envelope in request headers, and a JSON reply naming the action.
//! Learning: the message as the body of `POST /learnspam` or `/learnham` to
//! a controller, which answers with its status code.

use std::collections::BTreeMap;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::ext::ReasonPhrase;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use postino_common::auth::Secret;
use postino_common::store::Lesson;
use serde::Deserialize;
use tokio::net::TcpStream;

use super::{Envelope, ScanError};

/// The largest reply read: a verdict with every symbol is a few KB.
const MAX_REPLY: usize = 1 << 20;

/// What rspamd says to do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    NoAction,
    Greylist,
    AddHeader,
    RewriteSubject,
    SoftReject,
    Reject,
}

impl Action {
    /// rspamd's name for the action. Custom actions an operator may define
    /// (`discard`, `quarantine`) are taken as spam, to be filed in Junk,
    /// so that nothing is dropped without a trace.
    fn from_name(name: &str) -> Action {
        match name {
            "no action" => Action::NoAction,
            "greylist" => Action::Greylist,
            "rewrite subject" => Action::RewriteSubject,
            "soft reject" => Action::SoftReject,
            "reject" => Action::Reject,
            _ => Action::AddHeader,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Action::NoAction => "no action",
            Action::Greylist => "greylist",
            Action::AddHeader => "add header",
            Action::RewriteSubject => "rewrite subject",
            Action::SoftReject => "soft reject",
            Action::Reject => "reject",
        }
    }
}

/// rspamd's verdict on one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub action: Action,
    pub score: f64,
    pub required_score: f64,
    /// The rules that matched, by name, highest score first.
    pub symbols: Vec<(String, f64)>,
    /// The SMTP text rspamd gives for a refusal, if any.
    pub smtp_message: Option<String>,
}

/// The part of the `/checkv2` reply Postino reads.
#[derive(Deserialize)]
struct CheckReply {
    action: String,
    #[serde(default)]
    score: f64,
    #[serde(default)]
    required_score: f64,
    #[serde(default)]
    symbols: BTreeMap<String, Symbol>,
    #[serde(default)]
    messages: Messages,
}

#[derive(Deserialize)]
struct Symbol {
    #[serde(default)]
    score: f64,
}

#[derive(Default, Deserialize)]
struct Messages {
    smtp_message: Option<String>,
}

impl Verdict {
    fn parse(body: &[u8]) -> Result<Verdict, serde_json::Error> {
        let reply: CheckReply = serde_json::from_slice(body)?;
        let mut symbols: Vec<(String, f64)> = reply
            .symbols
            .into_iter()
            .map(|(name, symbol)| (name, symbol.score))
            .collect();
        symbols.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(Verdict {
            action: Action::from_name(&reply.action),
            score: reply.score,
            required_score: reply.required_score,
            symbols,
            smtp_message: reply.messages.smtp_message,
        })
    }
}

/// Asks the rspamd worker at `server` (`host:port`) about `message`, in
/// at most `timeout`.
pub async fn check(
    server: &str,
    timeout: Duration,
    envelope: &Envelope<'_>,
    message: Bytes,
) -> Result<Verdict, ScanError> {
    let exchange = async {
        let reply = post(server, "/checkv2", envelope.headers(), message).await?;
        if reply.status != StatusCode::OK {
            return Err(ScanError::Status {
                server: server.to_string(),
                status: reply.status,
            });
        }
        Verdict::parse(&reply.body).map_err(|source| ScanError::Reply {
            server: server.to_string(),
            source,
        })
    };
    super::within(server, timeout, exchange).await
}

/// What rspamd's controller made of a message to learn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LearnReply {
    /// Learned now.
    Learned,
    /// Learned before, as the same class (rspamd answers 208).
    AlreadyKnown,
    /// Not learnable, such as a message with too few words for the
    /// classifier (rspamd answers 204), with rspamd's reason.
    Unlearnable(String),
}

/// Has the rspamd controller at `server` (`host:port`) learn `message` as
/// spam or ham, in at most `timeout`; `password` is sent as the
/// `Password` header.
pub async fn learn(
    server: &str,
    timeout: Duration,
    password: Option<&Secret>,
    lesson: Lesson,
    message: Bytes,
) -> Result<LearnReply, ScanError> {
    let path = match lesson {
        Lesson::Spam => "/learnspam",
        Lesson::Ham => "/learnham",
    };
    let headers = password.map(|password| ("Password", password.expose().to_string()));
    let exchange = async {
        let reply = post(server, path, headers.into_iter(), message).await?;
        // 204 and 208 are refusals too, each told in the reason phrase.
        match reply.status.as_u16() {
            200 => Ok(LearnReply::Learned),
            208 => Ok(LearnReply::AlreadyKnown),
            204 => Ok(LearnReply::Unlearnable(reply.reason)),
            _ => Err(ScanError::Status {
                server: server.to_string(),
                status: reply.status,
            }),
        }
    };
    super::within(server, timeout, exchange).await
}

/// An HTTP reply from rspamd.
struct Reply {
    status: StatusCode,
    /// The reason phrase as sent, where rspamd says why it refused.
    reason: String,
    body: Bytes,
}

/// Posts `body` to `path` on the rspamd worker at `server`, with `headers`,
/// on a connection of its own, and reads the whole reply.
async fn post(
    server: &str,
    path: &str,
    headers: impl Iterator<Item = (&'static str, String)>,
    body: Bytes,
) -> Result<Reply, ScanError> {
    let http = |source: hyper::Error| ScanError::Http {
        server: server.to_string(),
        source: source.into(),
    };
    let stream = TcpStream::connect(server)
        .await
        .map_err(|source| ScanError::Io {
            server: server.to_string(),
            source,
        })?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await.map_err(http)?;
    // The connection runs beside the request and ends with it.
    let driver = tokio::spawn(connection);
    let request = headers
        .fold(
            Request::post(path).header("Host", server),
            |request, (name, value)| request.header(name, value),
        )
        .body(Full::new(body))
        .map_err(|source| ScanError::Http {
            server: server.to_string(),
            source: source.into(),
        })?;
    let response = sender.send_request(request).await.map_err(http)?;
    let status = response.status();
    let reason = response
        .extensions()
        .get::<ReasonPhrase>()
        .map(|reason| String::from_utf8_lossy(reason.as_bytes()).into_owned())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or_default().to_string());
    let body = Limited::new(response.into_body(), MAX_REPLY)
        .collect()
        .await
        .map_err(|source| ScanError::Http {
            server: server.to_string(),
            source,
        })?
        .to_bytes();
    driver.abort();
    Ok(Reply {
        status,
        reason,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_becomes_a_verdict() {
        let body = br#"{"is_skipped":false,"score":16.5,"required_score":15.0,
            "action":"reject","symbols":{"GTUBE":{"name":"GTUBE","score":0.0},
            "R_SPF_NA":{"name":"R_SPF_NA","score":0.5},"BAYES_SPAM":{"score":16.0}},
            "messages":{"smtp_message":"Gtube pattern"},"message-id":"x"}"#;
        let verdict = Verdict::parse(body).expect("a verdict");
        assert_eq!(verdict.action, Action::Reject);
        assert_eq!((verdict.score, verdict.required_score), (16.5, 15.0));
        let names: Vec<&str> = verdict.symbols.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["BAYES_SPAM", "R_SPF_NA", "GTUBE"]);
        assert_eq!(verdict.smtp_message.as_deref(), Some("Gtube pattern"));
    }

    #[test]
    fn every_action_is_known_and_custom_ones_are_spam() {
        for action in [
            Action::NoAction,
            Action::Greylist,
            Action::AddHeader,
            Action::RewriteSubject,
            Action::SoftReject,
            Action::Reject,
        ] {
            assert_eq!(Action::from_name(action.name()), action);
        }
        assert_eq!(Action::from_name("discard"), Action::AddHeader);
        let minimal = Verdict::parse(br#"{"action":"no action"}"#).expect("a verdict");
        assert_eq!(minimal.action, Action::NoAction);
        assert!(Verdict::parse(b"<html>").is_err());
        assert!(Verdict::parse(br#"{"score":1}"#).is_err());
    }
}
