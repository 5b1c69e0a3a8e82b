//! A raw HTTP/1.1 client for the admin service's tests: one request per
//! connection, no library between the test and the bytes.
//!
//! - [`request`] sends a body as `text/xml` and returns the status and body
//!   (the autoconfiguration tests).
//! - [`Request`] builds any request, with the headers the JSON API needs
//!   (a bearer token, the session cookie, the CSRF header, a JSON body);
//!   [`Request::send`] returns a [`Response`] with status, headers and
//!   body.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::READ_LIMIT;

/// One HTTP/1.1 request over a raw connection: the status code and the body.
pub async fn request(addr: SocketAddr, method: &str, target: &str, body: &str) -> (u16, String) {
    let response = Request::new(method, target)
        .body("text/xml", body)
        .send(addr)
        .await;
    (response.status, response.body)
}

/// A request to send: its method, target, headers and body.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    target: String,
    /// The Host header; the server's address when not set.
    host: Option<String>,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    pub fn new(method: &str, target: &str) -> Request {
        Request {
            method: method.to_string(),
            target: target.to_string(),
            host: None,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn get(target: &str) -> Request {
        Request::new("GET", target)
    }

    pub fn post(target: &str) -> Request {
        Request::new("POST", target)
    }

    pub fn put(target: &str) -> Request {
        Request::new("PUT", target)
    }

    pub fn patch(target: &str) -> Request {
        Request::new("PATCH", target)
    }

    pub fn delete(target: &str) -> Request {
        Request::new("DELETE", target)
    }

    /// Adds a header; several with one name are all sent.
    /// Sends `host` as the Host header, as a client asking for that name.
    pub fn host(mut self, host: &str) -> Request {
        self.host = Some(host.to_string());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// `Authorization: Bearer TOKEN`.
    pub fn bearer(self, token: &str) -> Request {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    /// `Cookie: COOKIE`, such as `postino_session=...`.
    pub fn cookie(self, cookie: &str) -> Request {
        self.header("Cookie", cookie)
    }

    /// `X-CSRF-Token: TOKEN`.
    pub fn csrf(self, token: &str) -> Request {
        self.header("X-CSRF-Token", token)
    }

    /// A JSON body, with `Content-Type: application/json`.
    pub fn json(self, value: &serde_json::Value) -> Request {
        self.body("application/json", &value.to_string())
    }

    /// A body of any type, sent as it is.
    pub fn body(mut self, content_type: &str, body: &str) -> Request {
        self.headers
            .push(("Content-Type".to_string(), content_type.to_string()));
        self.body = body.to_string();
        self
    }

    /// Sends the request on a connection of its own and reads the whole
    /// response, each read bounded by [`READ_LIMIT`].
    pub async fn send(&self, addr: SocketAddr) -> Response {
        let mut stream = TcpStream::connect(addr)
            .await
            .expect("connect to the HTTP server");
        let host = self.host.clone().unwrap_or_else(|| addr.to_string());
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n",
            self.method, self.target
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", self.body.len()));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(self.body.as_bytes());
        stream.write_all(&bytes).await.expect("send the request");
        let mut response = Vec::new();
        let mut buf = [0; 8192];
        loop {
            let read = tokio::time::timeout(READ_LIMIT, stream.read(&mut buf))
                .await
                .expect("HTTP response within the read limit");
            match read {
                Ok(0) => break,
                Ok(n) => response.extend_from_slice(&buf[..n]),
                // A server refusing a body it has not read may reset the
                // connection after its answer.
                Err(_) if !response.is_empty() => break,
                Err(err) => panic!("read the response: {err}"),
            }
        }
        Response::parse(&response)
    }
}

/// A response: its status, its headers in order, its body as text.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    fn parse(bytes: &[u8]) -> Response {
        let text = String::from_utf8(bytes.to_vec()).expect("a UTF-8 response");
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no end of headers: {text:?}"));
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP/1.1 status line: {head:?}"));
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line
                    .split_once(':')
                    .unwrap_or_else(|| panic!("not a header line: {line:?}"));
                (name.to_string(), value.trim().to_string())
            })
            .collect();
        let mut response = Response {
            status,
            headers,
            body: body.to_string(),
        };
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        if chunked {
            response.body = dechunk(body);
        }
        response
    }

    /// The first header named `name` (in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers_named(name).into_iter().next()
    }

    /// Every header named `name` (in any case), in order.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as JSON; panics, showing the response, if it is not.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("the body is not JSON ({err}): {self:#?}"))
    }
}

/// A chunked body (RFC 9112 §7.1) put back together; trailers are dropped.
fn dechunk(mut body: &str) -> String {
    let mut whole = String::new();
    loop {
        let (size, rest) = body
            .split_once("\r\n")
            .unwrap_or_else(|| panic!("a chunk without its size line: {body:?}"));
        let size = size.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .unwrap_or_else(|_| panic!("not a chunk size: {size:?}"));
        if size == 0 {
            return whole;
        }
        let chunk = rest
            .get(..size)
            .unwrap_or_else(|| panic!("a chunk cut short: {rest:?}"));
        whole.push_str(chunk);
        body = rest.get(size + 2..).unwrap_or_default();
    }
}
