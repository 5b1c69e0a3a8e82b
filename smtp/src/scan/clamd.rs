//! ClamAV's daemon, clamd, over its `INSTREAM` command (clamd(8)): the
//! whole message in length-prefixed chunks, a zero-length chunk to end
//! it, and one reply line, `stream: OK` or `stream: <signature> FOUND`.
//! clamd takes the message apart itself (MIME parts, archives), so every
//! attachment is scanned.

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use super::ScanError;

/// The size of the chunks the message is sent in.
const CHUNK: usize = 64 * 1024;
/// The longest reply read: a signature name is short.
const MAX_REPLY: u64 = 4096;

/// Where clamd listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clamd {
    /// `host:port` (clamd's `TCPSocket`).
    Tcp(String),
    /// A Unix socket (clamd's `LocalSocket`, Debian's default).
    Unix(PathBuf),
}

impl std::fmt::Display for Clamd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Clamd::Tcp(addr) => f.write_str(addr),
            Clamd::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// What clamd found in a message: `None` when it is clean, else the name
/// of the signature that matched.
pub async fn scan(
    clamd: &Clamd,
    timeout: Duration,
    message: &[u8],
) -> Result<Option<String>, ScanError> {
    let server = clamd.to_string();
    let io = |source| ScanError::Io {
        server: server.clone(),
        source,
    };
    super::within(&server, timeout, async {
        let reply = match clamd {
            Clamd::Tcp(addr) => {
                let stream = TcpStream::connect(addr.as_str()).await.map_err(&io)?;
                exchange(stream, message).await.map_err(&io)?
            }
            Clamd::Unix(path) => {
                let stream = UnixStream::connect(path).await.map_err(&io)?;
                exchange(stream, message).await.map_err(&io)?
            }
        };
        verdict(&reply).ok_or_else(|| ScanError::Refused {
            server: server.clone(),
            reply,
        })
    })
    .await
}

/// Sends `message` with `INSTREAM` and reads clamd's reply.
async fn exchange(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    message: &[u8],
) -> std::io::Result<String> {
    stream.write_all(b"zINSTREAM\0").await?;
    for chunk in message.chunks(CHUNK) {
        let length = u32::try_from(chunk.len()).expect("a chunk fits in 32 bits");
        stream.write_all(&length.to_be_bytes()).await?;
        stream.write_all(chunk).await?;
    }
    stream.write_all(&0u32.to_be_bytes()).await?;
    stream.flush().await?;
    let mut reply = Vec::new();
    stream.take(MAX_REPLY).read_to_end(&mut reply).await?;
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

/// The signature in a reply to `INSTREAM`: `Some(None)` for `stream: OK`,
/// `Some(Some(name))` for `stream: name FOUND`, `None` for anything else
/// (an error such as `INSTREAM size limit exceeded. ERROR`).
fn verdict(reply: &str) -> Option<Option<String>> {
    let line = reply
        .trim_end_matches(['\0', '\n'])
        .strip_prefix("stream: ")?;
    if line == "OK" {
        return Some(None);
    }
    let name = line.strip_suffix(" FOUND")?;
    Some(Some(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_as_clean_infected_or_failed() {
        assert_eq!(verdict("stream: OK\0"), Some(None));
        assert_eq!(
            verdict("stream: Eicar-Test-Signature FOUND\0"),
            Some(Some("Eicar-Test-Signature".to_string()))
        );
        assert_eq!(verdict("INSTREAM size limit exceeded. ERROR\0"), None);
        assert_eq!(verdict("stream: lstat() failed. ERROR\0"), None);
        assert_eq!(verdict(""), None);
    }
}
