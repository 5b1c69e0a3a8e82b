//! A loopback SMTP sink for outbound delivery tests: it accepts every
//! envelope, answers the end of each message with the next reply of a
//! script (the last one repeating), and keeps what it accepted.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// A message the sink accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub sender: String,
    /// What MAIL FROM had after the path (`SIZE=… BODY=8BITMIME`).
    pub mail_parameters: String,
    pub recipients: Vec<String>,
    /// The content as sent, dot-stuffing undone, without the final dot.
    pub content: Vec<u8>,
}

#[derive(Default)]
struct State {
    script: Vec<String>,
    /// Replies given to ends of data so far.
    answered: usize,
    received: Vec<Received>,
    /// How long the sink holds its reply to an end of data.
    reply_delay: Duration,
}

/// A running sink; dropping it stops it.
pub struct Sink {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Sink {
    /// Starts a sink on a free loopback port answering ends of data with
    /// `script` in turn, such as `["451 4.3.0 later", "250 2.0.0 ok"]`.
    pub async fn start(script: &[&str]) -> io::Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            script: script.iter().map(|s| (*s).to_owned()).collect(),
            ..State::default()
        }));
        let task = tokio::spawn(serve(listener, state.clone()));
        Ok(Sink { addr, state, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Holds every reply to an end of data for `delay`, after the message
    /// counts as received: a far end slow to confirm.
    pub fn delay_replies(&self, delay: Duration) {
        lock(&self.state).reply_delay = delay;
    }

    /// The messages accepted so far.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.state).received.clone()
    }

    /// How many ends of data were answered, accepted or not.
    pub fn answered(&self) -> usize {
        lock(&self.state).answered
    }

    /// Waits until at least `count` messages were accepted, at most `limit`.
    pub async fn wait_received(&self, count: usize, limit: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the sink got {} messages of {count} within {limit:?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn serve(listener: TcpListener, state: Arc<Mutex<State>>) {
    let mut sessions = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        sessions.spawn(session(stream, state.clone()));
        while sessions.try_join_next().is_some() {}
    }
}

async fn session(stream: TcpStream, state: Arc<Mutex<State>>) -> io::Result<()> {
    // Replies to a pipelined batch are written one by one; with Nagle's
    // algorithm each after the first would wait for the client's delayed
    // ACK (40 ms on Linux), which would then be all a benchmark measures.
    stream.set_nodelay(true)?;
    let mut stream = BufReader::new(stream);
    stream
        .get_mut()
        .write_all(b"220 sink.test ESMTP\r\n")
        .await?;
    let (mut sender, mut recipients) = (String::new(), Vec::new());
    let mut mail_parameters = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if stream.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply = if upper.starts_with("EHLO") {
            "250-sink.test\r\n250-PIPELINING\r\n250-SIZE 100000000\r\n250 8BITMIME\r\n".to_owned()
        } else if upper.starts_with("MAIL FROM:") {
            sender = address(&command[10..]);
            mail_parameters = command
                .split_once('>')
                .map_or("", |(_, rest)| rest.trim())
                .to_owned();
            recipients.clear();
            "250 2.1.0 ok\r\n".to_owned()
        } else if upper.starts_with("RCPT TO:") {
            recipients.push(address(&command[8..]));
            "250 2.1.5 ok\r\n".to_owned()
        } else if upper == "DATA" {
            stream.get_mut().write_all(b"354 go on\r\n").await?;
            let content = read_data(&mut stream).await?;
            let received = Received {
                sender: sender.clone(),
                mail_parameters: mail_parameters.clone(),
                recipients: recipients.clone(),
                content,
            };
            let (reply, delay) = answer(&state, received);
            tokio::time::sleep(delay).await;
            reply
        } else if upper == "QUIT" {
            stream.get_mut().write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else {
            "250 2.0.0 ok\r\n".to_owned()
        };
        stream.get_mut().write_all(reply.as_bytes()).await?;
    }
}

/// The next reply of the script to an end of data, keeping the message if
/// the reply accepts it, and how long to hold that reply.
fn answer(state: &Mutex<State>, message: Received) -> (String, Duration) {
    let mut state = lock(state);
    let index = state.answered.min(state.script.len().saturating_sub(1));
    let reply = state
        .script
        .get(index)
        .cloned()
        .unwrap_or_else(|| "250 2.0.0 ok".to_owned());
    state.answered += 1;
    if reply.starts_with('2') {
        state.received.push(message);
    }
    (format!("{reply}\r\n"), state.reply_delay)
}

/// The address in `<...>`, without parameters.
fn address(path: &str) -> String {
    let start = path.find('<').map_or(0, |i| i + 1);
    let end = path.find('>').unwrap_or(path.len());
    path.get(start..end).unwrap_or_default().to_owned()
}

async fn read_data(stream: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut content = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if stream.read_until(b'\n', &mut line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" {
            return Ok(content);
        }
        let unstuffed = if line.starts_with(b".") {
            &line[1..]
        } else {
            &line[..]
        };
        content.extend_from_slice(unstuffed);
    }
}
