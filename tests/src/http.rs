//! A raw HTTP/1.1 client for the admin service's tests: one request per
//! connection, no library between the test and the bytes.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::READ_LIMIT;

/// One HTTP/1.1 request over a raw connection: the status code and the body.
pub async fn request(addr: SocketAddr, method: &str, target: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("connect to the HTTP server");
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
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
    let response = String::from_utf8(response).expect("a UTF-8 response");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers: {response:?}"));
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP/1.1 status line: {head:?}"));
    (status, body.to_string())
}
