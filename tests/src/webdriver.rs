//! A minimal W3C WebDriver client (https://www.w3.org/TR/webdriver2/) for
//! driving headless Chromium through Debian's `chromedriver` in tests of
//! the web console.
//!
//! [`Browser::start`] runs `chromedriver` on a free loopback port, waits
//! until its `/status` says it is ready and opens one session. Each command
//! (from the spec's sections on sessions, navigation, elements and the
//! document; each method names its command) is one HTTP/1.1 request on a
//! loopback connection of its own, with a JSON body. A failed command is
//! an [`Error`] that carries the error JSON the driver answered ("Handling
//! errors").
//!
//! The browser loads only loopback pages: [`Browser::navigate`] refuses
//! any other URL, and every other request, such as a link or redirect
//! leading away or Chromium's own background traffic, goes to a proxy
//! port where nothing listens (Chromium never proxies loopback). Dropping
//! the [`Browser`] deletes the session, which ends Chromium, and kills
//! `chromedriver`.

use std::fmt;
use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

/// Debian's Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's ChromeDriver, of the same version as [`CHROMIUM`].
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long `chromedriver` may take until it is ready for sessions.
const READY_LIMIT: Duration = Duration::from_secs(10);
/// How long one command may take, a page load or starting Chromium included.
const COMMAND_LIMIT: Duration = Duration::from_secs(20);
/// How long Chromium may take to load a page (the session's `pageLoad` timeout).
const PAGE_LOAD_LIMIT: Duration = Duration::from_secs(15);
/// The longest answer read from the driver: page sources included.
const MAX_RESPONSE: usize = 16 * 1024 * 1024;
/// How often [`Browser::wait_for`] looks again.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// The web element identifier: the key of an element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Why a command failed.
#[derive(Debug)]
pub enum Error {
    /// The driver could not be reached, or answered something that is not
    /// a WebDriver response.
    Transport { command: String, detail: String },
    /// The driver answered with an error ("Handling errors"): its HTTP status, its error
    /// code such as `no such element`, its message, and the whole JSON.
    WebDriver {
        command: String,
        status: u16,
        error: String,
        message: String,
        json: Value,
    },
    /// [`Browser::wait_for`] did not find the element in time.
    Timeout { css: String, waited: Duration },
    /// [`Browser::navigate`] was given a URL that is not on loopback.
    NotLoopback { url: String },
}

impl Error {
    /// Whether this is the WebDriver error with code `error`, such as
    /// `no such element`.
    pub fn is(&self, error: &str) -> bool {
        matches!(self, Error::WebDriver { error: code, .. } if code == error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Transport { command, detail } => write!(f, "{command}: {detail}"),
            Error::WebDriver {
                command,
                status,
                error,
                message,
                ..
            } => {
                // Chromium's message repeats the session info on a second line.
                let first = message.lines().next().unwrap_or_default();
                write!(f, "{command}: {status} {error}: {first}")
            }
            Error::Timeout { css, waited } => {
                write!(f, "no element matches {css:?} after {waited:?}")
            }
            Error::NotLoopback { url } => write!(f, "refusing to load {url:?}: not on loopback"),
        }
    }
}

impl std::error::Error for Error {}

/// What kind of browser to start.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Whether pages may run JavaScript.
    pub javascript: bool,
}

/// A web element reference: an element of the current page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element(String);

impl Element {
    /// The reference as JSON, to pass the element to a script.
    pub fn to_json(&self) -> Value {
        json!({ ELEMENT_KEY: self.0 })
    }
}

/// Which of Chromium and ChromeDriver are not installed.
pub fn missing() -> Vec<&'static str> {
    [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|path| !Path::new(path).is_file())
        .collect()
}

/// A headless Chromium with one WebDriver session.
///
/// Fields drop in order, the driver before the profile it logs into.
pub struct Browser {
    driver: Driver,
    /// `None` once the session is deleted.
    session: Option<String>,
    /// Chromium's main process, ended by hand if the session could not be
    /// deleted: it outlives a killed `chromedriver`.
    browser_pid: Option<u64>,
    /// Bound but not listening, so every proxied request is refused.
    _no_proxy: TcpSocket,
    _profile: TempDir,
}

/// The running `chromedriver` and where it listens; dropping it kills it.
struct Driver {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Browser {
    /// Starts `chromedriver`, waits until it is ready and opens a session
    /// on a new headless Chromium with a profile of its own.
    pub async fn start(options: Options) -> Result<Browser, Error> {
        let profile = TempDir::new().map_err(|err| transport("create a profile", err))?;
        let driver = Driver::start(profile.path()).await?;
        let no_proxy = TcpSocket::new_v4()
            .and_then(|socket| socket.bind(([127, 0, 0, 1], 0).into()).map(|()| socket))
            .map_err(|err| transport("bind the proxy port", err))?;
        let proxy = no_proxy
            .local_addr()
            .map_err(|err| transport("bind the proxy port", err))?;
        let user_data = profile.path().join("chromium");
        let mut browser = Browser {
            driver,
            session: None,
            browser_pid: None,
            _no_proxy: no_proxy,
            _profile: profile,
        };
        let javascript = if options.javascript { 1 } else { 2 };
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": {
                        "implicit": 0,
                        "pageLoad": PAGE_LOAD_LIMIT.as_millis() as u64,
                        // axe-core takes a few seconds over a large page on a busy machine.
                        "script": 30_000,
                    },
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            format!("--user-data-dir={}", user_data.display()),
                            format!("--proxy-server=http://{proxy}"),
                            "--no-first-run",
                            "--no-default-browser-check",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-extensions",
                            "--disable-sync",
                        ],
                        "prefs": {
                            "profile.managed_default_content_settings.javascript": javascript,
                        },
                    },
                },
            },
        });
        let value = browser
            .driver
            .command("POST", "/session", Some(&capabilities))
            .await?;
        let Some(session) = value["sessionId"].as_str() else {
            return Err(Error::Transport {
                command: "POST /session".into(),
                detail: format!("no sessionId in {value}"),
            });
        };
        browser.session = Some(session.to_string());
        browser.browser_pid = value["capabilities"]["goog:processID"].as_u64();
        Ok(browser)
    }

    /// Loads `url` and waits for it to load (Navigate To); only loopback URLs.
    pub async fn navigate(&self, url: &str) -> Result<(), Error> {
        if !is_loopback_url(url) {
            return Err(Error::NotLoopback { url: url.into() });
        }
        self.command("POST", "/url", Some(&json!({ "url": url })))
            .await
            .map(drop)
    }

    /// The URL of the current page (Get Current URL).
    pub async fn current_url(&self) -> Result<String, Error> {
        self.command("GET", "/url", None).await.map(string)
    }

    /// The current page's title (Get Title).
    pub async fn title(&self) -> Result<String, Error> {
        self.command("GET", "/title", None).await.map(string)
    }

    /// The first element matching the CSS selector `css` (Find Element);
    /// `no such element` if there is none.
    pub async fn find(&self, css: &str) -> Result<Element, Error> {
        let by = json!({ "using": "css selector", "value": css });
        let value = self.command("POST", "/element", Some(&by)).await?;
        element(&value).ok_or_else(|| Error::Transport {
            command: format!("find {css:?}"),
            detail: format!("not an element reference: {value}"),
        })
    }

    /// Every element matching the CSS selector `css`, in document order
    /// (Find Elements); none is not an error.
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>, Error> {
        let by = json!({ "using": "css selector", "value": css });
        let value = self.command("POST", "/elements", Some(&by)).await?;
        let found = value
            .as_array()
            .map(|all| all.iter().map(element).collect());
        found.flatten().ok_or_else(|| Error::Transport {
            command: format!("find all {css:?}"),
            detail: format!("not a list of element references: {value}"),
        })
    }

    /// Polls for an element matching `css` until one appears or `timeout`
    /// has passed, as after a click whose page is still loading.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.find(css).await {
                Err(err) if err.is("no such element") || err.is("stale element reference") => {}
                found => return found,
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    css: css.into(),
                    waited: timeout,
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Types `text` into an element, as a user would (Element Send Keys).
    pub async fn send_keys(&self, element: &Element, text: &str) -> Result<(), Error> {
        let path = format!("/element/{}/value", element.0);
        self.command("POST", &path, Some(&json!({ "text": text })))
            .await
            .map(drop)
    }

    /// Empties an editable element (Element Clear).
    pub async fn clear(&self, element: &Element) -> Result<(), Error> {
        let path = format!("/element/{}/clear", element.0);
        self.command("POST", &path, Some(&json!({})))
            .await
            .map(drop)
    }

    /// Clicks an element in its centre, following a link or submitting a
    /// form as a user's click would (Element Click).
    pub async fn click(&self, element: &Element) -> Result<(), Error> {
        let path = format!("/element/{}/click", element.0);
        self.command("POST", &path, Some(&json!({})))
            .await
            .map(drop)
    }

    /// An element's rendered text (Get Element Text).
    pub async fn text(&self, element: &Element) -> Result<String, Error> {
        let path = format!("/element/{}/text", element.0);
        self.command("GET", &path, None).await.map(string)
    }

    /// An element's attribute `name`, `None` if it has none (Get Element Attribute).
    pub async fn attribute(&self, element: &Element, name: &str) -> Result<Option<String>, Error> {
        let path = format!("/element/{}/attribute/{name}", element.0);
        let value = self.command("GET", &path, None).await?;
        Ok(value.as_str().map(str::to_string))
    }

    /// The current page's markup as the browser holds it now (Get Page Source).
    pub async fn page_source(&self) -> Result<String, Error> {
        self.command("GET", "/source", None).await.map(string)
    }

    /// Runs `script` as the body of a function in the page, with `args` as
    /// its `arguments`, and returns what it returns (Execute Script).
    pub async fn execute(&self, script: &str, args: &[Value]) -> Result<Value, Error> {
        let body = json!({ "script": script, "args": args });
        self.command("POST", "/execute/sync", Some(&body)).await
    }

    /// Runs `script` as [`Browser::execute`] does, and waits until it calls
    /// its last argument, a callback, with the result (Execute Async
    /// Script), for at most the session's script timeout.
    pub async fn execute_async(&self, script: &str, args: &[Value]) -> Result<Value, Error> {
        let body = json!({ "script": script, "args": args });
        self.command("POST", "/execute/async", Some(&body)).await
    }

    /// Resizes the window so that its outer size is `width` by `height`
    /// CSS pixels (Set Window Rect).
    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<(), Error> {
        let rect = json!({ "width": width, "height": height });
        self.command("POST", "/window/rect", Some(&rect))
            .await
            .map(drop)
    }

    /// Presses and releases one key on whatever has the focus, as a
    /// keyboard would (Perform Actions); `key` is a character or one of
    /// the spec's codes for other keys, such as `"\u{E004}"` for Tab.
    pub async fn press_key(&self, key: &str) -> Result<(), Error> {
        let actions = json!({ "actions": [{
            "type": "key",
            "id": "keyboard",
            "actions": [
                { "type": "keyDown", "value": key },
                { "type": "keyUp", "value": key },
            ],
        }]});
        self.command("POST", "/actions", Some(&actions))
            .await
            .map(drop)
    }

    /// Deletes the session, which ends Chromium (Delete Session), and stops
    /// `chromedriver`.
    pub async fn close(mut self) -> Result<(), Error> {
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        let path = format!("/session/{session}");
        let deleted = self.driver.command("DELETE", &path, None).await;
        if deleted.is_err() {
            self.session = Some(session);
        }
        // Drop ends whatever is left: Chromium if deleting failed, and
        // chromedriver.
        deleted.map(drop)
    }

    /// One command of this session: `path` is relative to
    /// `/session/{session id}`.
    async fn command(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, Error> {
        let Some(session) = &self.session else {
            return Err(Error::Transport {
                command: format!("{method} {path}"),
                detail: "the session is closed".into(),
            });
        };
        let path = format!("/session/{session}{path}");
        self.driver.command(method, &path, body).await
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            // Drop runs inside the test's runtime, which cannot be blocked
            // on; a thread with a runtime of its own can.
            let addr = self.driver.addr;
            let deleted = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|err| transport("start a runtime", err))?;
                let path = format!("/session/{session}");
                runtime.block_on(request(addr, "DELETE", &path, None))
            })
            .join();
            // SIGTERM to Chromium's main process takes its children with it.
            if !matches!(deleted, Ok(Ok(_)))
                && let Some(pid) = self.browser_pid
            {
                StdCommand::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status()
                    .ok();
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("---- chromedriver log ----\n{log}---- end of log ----");
        }
    }
}

impl Driver {
    /// Starts `chromedriver` on a free loopback port, logging into `dir`,
    /// and waits until it is ready for a session (Status).
    async fn start(dir: &Path) -> Result<Driver, Error> {
        let port = crate::bind_unused_port()
            .local_addr()
            .map_err(|err| transport("find a free port", err))?
            .port();
        let log = dir.join("chromedriver.log");
        let file = File::create(&log).map_err(|err| transport("create the driver log", err))?;
        let stderr = file
            .try_clone()
            .map_err(|err| transport("share the driver log", err))?;
        let child = StdCommand::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(stderr)
            .spawn()
            .map_err(|err| transport(&format!("start {CHROMEDRIVER}"), err))?;
        let mut driver = Driver {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
        };
        driver.wait_ready().await?;
        Ok(driver)
    }

    async fn wait_ready(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + READY_LIMIT;
        loop {
            if let Ok(status) = self.command("GET", "/status", None).await
                && status["ready"] == true
            {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::Transport {
                    command: "GET /status".into(),
                    detail: format!("chromedriver exited ({status}) before it was ready"),
                });
            }
            if Instant::now() >= deadline {
                return Err(Error::Transport {
                    command: "GET /status".into(),
                    detail: format!("chromedriver not ready after {READY_LIMIT:?}"),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn command(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, Error> {
        request(self.addr, method, path, body).await
    }
}

/// Sends one WebDriver request and returns the `value` of a successful
/// response, or the error the driver reported.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, Error> {
    let command = format!("{method} {path}");
    let exchange = exchange(addr, method, path, body.map(Value::to_string));
    let (status, body) = match tokio::time::timeout(COMMAND_LIMIT, exchange).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(detail)) => return Err(Error::Transport { command, detail }),
        Err(_) => {
            return Err(Error::Transport {
                command,
                detail: format!("no answer within {COMMAND_LIMIT:?}"),
            });
        }
    };
    let mut json: Value = serde_json::from_slice(&body).map_err(|err| Error::Transport {
        command: command.clone(),
        detail: format!(
            "HTTP {status} with a body that is not JSON ({err}): {}",
            String::from_utf8_lossy(&body)
        ),
    })?;
    if status == 200 {
        return Ok(json["value"].take());
    }
    let error = &json["value"];
    Err(Error::WebDriver {
        command,
        status,
        error: error["error"].as_str().unwrap_or_default().to_string(),
        message: error["message"].as_str().unwrap_or_default().to_string(),
        json,
    })
}

/// One HTTP/1.1 exchange on a connection of its own: the status code and
/// the body, read up to its `Content-Length` or the end of the stream.
async fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<(u16, Vec<u8>), String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|err| format!("connect to chromedriver at {addr}: {err}"))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(body) = &body {
        head.push_str(&format!(
            "Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    head.push_str(body.as_deref().unwrap_or_default());
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|err| format!("send the request: {err}"))?;

    let mut response = Vec::new();
    let mut buf = [0; 16 * 1024];
    let (status, body_start, length) = loop {
        let read = stream
            .read(&mut buf)
            .await
            .map_err(|err| format!("read the response: {err}"))?;
        if read == 0 {
            return Err(format!(
                "the connection closed before the end of the headers: {:?}",
                String::from_utf8_lossy(&response)
            ));
        }
        response.extend_from_slice(&buf[..read]);
        if let Some(end) = find(&response, b"\r\n\r\n") {
            let (status, length) = parse_head(&response[..end])?;
            break (status, end + 4, length);
        }
        if response.len() > MAX_RESPONSE {
            return Err("the response headers never end".into());
        }
    };
    while length.is_none_or(|length| response.len() < body_start + length) {
        let read = stream
            .read(&mut buf)
            .await
            .map_err(|err| format!("read the response body: {err}"))?;
        if read == 0 {
            if length.is_some() {
                return Err("the connection closed before the end of the body".into());
            }
            break;
        }
        response.extend_from_slice(&buf[..read]);
        if response.len() > MAX_RESPONSE {
            return Err(format!("a response longer than {MAX_RESPONSE} bytes"));
        }
    }
    let end = length.map_or(response.len(), |length| body_start + length);
    Ok((status, response[body_start..end].to_vec()))
}

/// The status code and the `Content-Length`, if any, of a response head.
fn parse_head(head: &[u8]) -> Result<(u16, Option<usize>), String> {
    let head = std::str::from_utf8(head).map_err(|_| "response headers not UTF-8".to_string())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP/1.1 status line: {status_line:?}"))?;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("not a header line: {line:?}"));
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            let value = value.trim();
            let parsed = value
                .parse()
                .map_err(|_| format!("bad Content-Length: {value:?}"))?;
            length = Some(parsed);
        }
    }
    Ok((status, length))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Whether `url` is `http` or `https` on a loopback address or `localhost`.
fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The element a web element reference names.
fn element(value: &Value) -> Option<Element> {
    value[ELEMENT_KEY]
        .as_str()
        .map(|id| Element(id.to_string()))
}

fn string(value: Value) -> String {
    match value {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

fn transport(command: &str, err: std::io::Error) -> Error {
    Error::Transport {
        command: command.into(),
        detail: err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_urls_are_loaded() {
        for url in [
            "http://127.0.0.1:8080/console/login",
            "http://127.1.2.3/",
            "https://localhost:8443/x?y#z",
            "http://[::1]:80/",
            "http://LOCALHOST",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "http://example.com/",
            "http://127.0.0.1.example.com/",
            "http://127.0.0.1@example.com/",
            "http://[2001:db8::1]/",
            "data:text/html,<p>x</p>",
            "file:///etc/passwd",
            "ftp://127.0.0.1/",
            "http://10.0.0.1/",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[test]
    fn response_heads_are_parsed() {
        let head = b"HTTP/1.1 404 Not Found\r\nContent-Length:822\r\nContent-Type:application/json";
        assert_eq!(parse_head(head), Ok((404, Some(822))));
        assert_eq!(parse_head(b"HTTP/1.1 200 OK"), Ok((200, None)));
        assert!(parse_head(b"HTTP/1.0 200 OK").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x").is_err());
    }
}
