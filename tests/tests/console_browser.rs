//! The web console in a real browser: headless Chromium, driven over
//! WebDriver, logs in as a provincial admin of the real binary, opens a
//! domain from the domain list, adds a mailbox with the console's form and
//! reads the DKIM records to publish; the CLI then confirms what the
//! console did and showed, and the new mailbox logs in over IMAP with the
//! password typed into the form. The whole flow runs once with JavaScript and
//! once without, since the console promises to need none.
//!
//! A mailbox user then sets its out-of-office reply the same way: from its
//! navigation to the form, typed in, saved, shown again; the CLI confirms
//! that the generated script is the mailbox's active one.
//!
//! Chromium and ChromeDriver come from Debian (`chromium`,
//! `chromium-driver`, installed by `scripts/test`). Without them the tests
//! are skipped with a note, or fail when `CI` is set.

use std::time::Duration;

use postino_tests::imap::ImapClient;
use postino_tests::webdriver::{self, Browser, Options};
use postino_tests::{Backend, Server, TEST_LIMIT, TestConfig, within};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const DOMAIN: &str = "comune.esempio.it";
const ADMIN: &str = "provincia";
const PASSWORD: &str = "una password lunga abbastanza";
/// The password the console's form gives the new mailbox.
const MAILBOX_PASSWORD: &str = "un'altra password lunga";
/// How long a page may take to appear after a click.
const PAGE_WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn an_admin_adds_a_mailbox_with_javascript() {
    console_flow(Options { javascript: true }).await;
}

#[tokio::test]
async fn an_admin_adds_a_mailbox_without_javascript() {
    console_flow(Options { javascript: false }).await;
}

#[tokio::test]
async fn a_user_sets_its_out_of_office_reply() {
    if !browser_installed() {
        return;
    }
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        config.cli(&["domain", "add", DOMAIN], None).await.ok();
        let address = format!("anna@{DOMAIN}");
        config
            .cli(
                &["mailbox", "add", &address, "--password-stdin"],
                Some(&format!("{MAILBOX_PASSWORD}\n")),
            )
            .await
            .ok();
        let _server = Server::start(&config).await;
        let browser = Browser::start(Options { javascript: true })
            .await
            .expect("start headless Chromium");
        let console = format!("http://{}/console", config.listeners.admin);
        browser
            .navigate(&format!("{console}/login"))
            .await
            .expect("open the login page");
        type_into(&browser, "#username", &address).await;
        type_into(&browser, "#password", MAILBOX_PASSWORD).await;
        click(&browser, "#login-submit").await;
        click(&browser, "a[href=\"/console/account/vacation\"]").await;
        // Chromium asks for English; the page is wanted in Italian.
        click(&browser, "a[hreflang=\"it\"]").await;
        browser
            .wait_for("#vacation-message", PAGE_WAIT)
            .await
            .expect("the out-of-office form");
        click(&browser, "#vacation-on").await;
        type_into(&browser, "#vacation-start", "24/12/2026").await;
        type_into(&browser, "#vacation-end", "06/01/2027").await;
        type_into(&browser, "#vacation-subject", "Assente per ferie").await;
        type_into(
            &browser,
            "#vacation-message",
            "Sono in ferie fino al 6 gennaio.\nPer urgenze: segreteria@comune.esempio.it.",
        )
        .await;
        click(&browser, "#vacation-submit").await;

        let flash = browser
            .wait_for("#flash", PAGE_WAIT)
            .await
            .expect("a message after saving");
        let flash = browser.text(&flash).await.expect("the message's text");
        assert_eq!(flash, "Risposta automatica salvata.");
        for (css, expected) in [
            ("#vacation-start", "24/12/2026"),
            ("#vacation-end", "06/01/2027"),
            ("#vacation-subject", "Assente per ferie"),
        ] {
            let field = browser.find(css).await.expect("a field");
            let value = browser.attribute(&field, "value").await.expect("its value");
            assert_eq!(value.as_deref(), Some(expected), "{css} after saving");
        }
        let on = browser.find("#vacation-on").await.expect("the on button");
        let checked = browser.attribute(&on, "checked").await.expect("checked");
        assert!(checked.is_some(), "the reply is not shown on after saving");

        let listed = config
            .cli(&["sieve", "list", &address, "--json"], None)
            .await
            .json();
        let scripts: Vec<(&str, bool)> = listed
            .as_array()
            .expect("a list of scripts")
            .iter()
            .map(|s| (s["name"].as_str().unwrap_or_default(), s["active"] == true))
            .collect();
        assert_eq!(scripts, [("postino", true)], "{listed:#}");
        let script = config
            .cli(&["sieve", "get", &address, "postino"], None)
            .await
            .ok()
            .to_string();
        assert!(
            script.contains(
                "vacation :days 1 :subject \"Assente per ferie\" \"Sono in ferie fino al 6 gennaio.\nPer urgenze: segreteria@comune.esempio.it.\";"
            ),
            "{script}"
        );
        assert!(
            script.contains("currentdate :zone \"+0100\" :value \"ge\" \"date\" \"2026-12-24\""),
            "{script}"
        );
        browser.close().await.expect("close the browser");
    })
    .await
}

/// Whether Chromium and ChromeDriver are installed; without them, CI fails
/// and anywhere else the test is skipped.
fn browser_installed() -> bool {
    let missing = webdriver::missing();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the console browser tests need {} (Debian: apt-get install chromium chromium-driver; \
         scripts/test installs them)",
        missing.join(" and ")
    );
    eprintln!(
        "skipping the console browser test: {} not installed \
         (apt-get install chromium chromium-driver)",
        missing.join(" and ")
    );
    false
}

async fn console_flow(options: Options) {
    if !browser_installed() {
        return;
    }
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        // For logging in to the new mailbox over IMAP on loopback.
        config.set("imap", "allow_plaintext_auth = true");
        config.cli(&["domain", "add", DOMAIN], None).await.ok();
        config
            .cli(
                &["admin", "add", ADMIN, "--all-domains", "--password-stdin"],
                Some(&format!("{PASSWORD}\n")),
            )
            .await
            .ok();
        config.cli(&["dkim", "generate", DOMAIN], None).await.ok();

        let _server = Server::start(&config).await;
        // Not alongside the server: a browser dropped while its session is
        // being created would leave Chromium running.
        let browser = Browser::start(options)
            .await
            .expect("start headless Chromium");
        check_javascript(&browser, options.javascript).await;

        let console = format!("http://{}/console", config.listeners.admin);
        log_in(&browser, &console).await;
        let address = add_mailbox(&browser, &console).await;

        let listed = config
            .cli(&["mailbox", "list", DOMAIN, "--json"], None)
            .await
            .json();
        let stored: Vec<(&str, &str, i64)> = listed
            .as_array()
            .expect("a list of mailboxes")
            .iter()
            .map(|mailbox| {
                (
                    mailbox["address"].as_str().unwrap_or_default(),
                    mailbox["display_name"].as_str().unwrap_or_default(),
                    mailbox["quota_bytes"].as_i64().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            stored,
            [(address.as_str(), "Ufficio Anagrafe", 2_000_000_000)],
            "mailboxes in the store: {listed:#}"
        );
        let mut imap = ImapClient::connect(config.listeners.imap).await;
        imap.command(&format!("LOGIN \"{address}\" \"{MAILBOX_PASSWORD}\""))
            .await
            .ok();
        imap.logout().await;

        check_dkim_records(&browser, &console, &config).await;
        browser.close().await.expect("close the browser");
    })
    .await
}

/// Checks that page scripts run exactly when they should, on a page of a
/// loopback server of this test whose script renames it; and that the
/// browser loads nothing off loopback, asked to or by following a link.
async fn check_javascript(browser: &Browser, enabled: bool) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the probe page's port");
    let url = format!("http://{}/", listener.local_addr().expect("its address"));
    let page = tokio::spawn(serve_probe_page(listener));
    browser.navigate(&url).await.expect("open the probe page");
    let title = browser.title().await.expect("the probe page's title");
    let expected = if enabled { "scripts ran" } else { "no scripts" };
    assert_eq!(title, expected, "JavaScript enabled: {enabled}");
    click(browser, "#away").await;
    let source = browser
        .page_source()
        .await
        .expect("the page after the link");
    // `.invalid` never resolves (RFC 6761), so a browser not held back by
    // its refusing proxy would say ERR_NAME_NOT_RESOLVED instead.
    assert!(
        source.contains("ERR_PROXY_CONNECTION_FAILED"),
        "a link off loopback was not stopped at the proxy: {source}"
    );
    page.abort();

    let refused = browser.navigate("http://example.com/").await;
    assert!(
        matches!(refused, Err(webdriver::Error::NotLoopback { .. })),
        "loaded a page off loopback: {refused:?}"
    );
}

/// Answers every request with one page whose script changes its title and
/// whose link leads off loopback.
async fn serve_probe_page(listener: TcpListener) {
    let page = "<!DOCTYPE html><html><head><title>no scripts</title>\
                <script>document.title = 'scripts ran';</script></head>\
                <body><a id=\"away\" href=\"http://postino.invalid/\">away</a></body></html>";
    while let Ok((mut stream, _)) = listener.accept().await {
        // What the request asks for does not matter, only where it ends.
        let mut request = Vec::new();
        let mut buf = [0; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 64 * 1024 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{page}",
            page.len()
        );
        stream.write_all(response.as_bytes()).await.ok();
    }
}

async fn log_in(browser: &Browser, console: &str) {
    browser
        .navigate(&format!("{console}/login"))
        .await
        .expect("open the login page");
    type_into(browser, "#username", ADMIN).await;
    type_into(browser, "#password", PASSWORD).await;
    assert_password_field(browser, "#password").await;
    click(browser, "#login-submit").await;
    // A login that went through leaves the login page for the home page.
    let deadline = tokio::time::Instant::now() + PAGE_WAIT;
    while current_path(browser).await.ends_with("/console/login") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still on the login page after {PAGE_WAIT:?}: {}",
            browser.page_source().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        current_path(browser).await,
        "/console/",
        "an admin's home is the domain list"
    );
}

/// Opens the domain from the domain list, adds a mailbox with the form and
/// returns its address once the page lists it.
async fn add_mailbox(browser: &Browser, console: &str) -> String {
    browser
        .navigate(&format!("{console}/"))
        .await
        .expect("open the domain list");
    click(browser, &format!("a[href=\"/console/domains/{DOMAIN}\"]")).await;
    browser
        .wait_for("#new-mailbox-local", PAGE_WAIT)
        .await
        .expect("the domain's page with the new-mailbox form");
    type_into(browser, "#new-mailbox-local", "anagrafe").await;
    type_into(browser, "#new-mailbox-name", "Ufficio Anagrafe").await;
    type_into(browser, "#new-mailbox-password", MAILBOX_PASSWORD).await;
    assert_password_field(browser, "#new-mailbox-password").await;
    let quota = browser
        .find("#new-mailbox-quota")
        .await
        .expect("the quota field");
    browser.clear(&quota).await.expect("clear the quota field");
    browser
        .send_keys(&quota, "2GB")
        .await
        .expect("type the quota");
    click(browser, "#new-mailbox-submit").await;

    let flash = browser
        .wait_for("#flash", PAGE_WAIT)
        .await
        .expect("a message after adding the mailbox");
    let flash = browser.text(&flash).await.expect("the message's text");
    let mut listed = Vec::new();
    for row in browser
        .find_all("#mailboxes tbody th[scope=row]")
        .await
        .expect("the mailbox table's rows")
    {
        listed.push(browser.text(&row).await.expect("a row's address"));
    }
    let address = format!("anagrafe@{DOMAIN}");
    assert_eq!(listed, [address.as_str()], "after the message {flash:?}");
    address
}

/// Checks that the DKIM page shows the `._domainkey.` TXT records that
/// `postino dns` prints, names and data alike.
async fn check_dkim_records(browser: &Browser, console: &str, config: &TestConfig) {
    browser
        .navigate(&format!("{console}/domains/{DOMAIN}/dkim"))
        .await
        .expect("open the domain's DKIM page");
    let records = browser
        .find("#dns-records")
        .await
        .expect("the DNS records on the DKIM page");
    let shown = browser.text(&records).await.expect("the records' text");
    let shown = words(&shown);

    let dns = config.cli(&["dns", DOMAIN, "--json"], None).await.json();
    let dkim: Vec<&Value> = dns
        .as_array()
        .expect("a list of records")
        .iter()
        .filter(|r| r["type"] == "TXT")
        .filter(|r| {
            r["name"]
                .as_str()
                .is_some_and(|n| n.contains("._domainkey."))
        })
        .collect();
    assert_eq!(dkim.len(), 2, "an RSA and an Ed25519 key record: {dns:#}");
    for record in dkim {
        let name = record["name"].as_str().expect("a name");
        let data = words(record["data"].as_str().expect("data"));
        assert!(shown.contains(name), "{name} not on the DKIM page: {shown}");
        assert!(
            shown.contains(&data),
            "the TXT data of {name} not on the DKIM page: {data}\npage: {shown}"
        );
    }
}

/// `text` with every run of white space made one space, since a page
/// may wrap long records where the CLI does not.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn type_into(browser: &Browser, css: &str, text: &str) {
    let field = browser
        .find(css)
        .await
        .unwrap_or_else(|err| panic!("no field {css}: {err}"));
    browser
        .send_keys(&field, text)
        .await
        .unwrap_or_else(|err| panic!("type into {css}: {err}"));
}

/// Checks that the field at `css` hides what is typed into it.
async fn assert_password_field(browser: &Browser, css: &str) {
    let field = browser.find(css).await.expect("a password field");
    let kind = browser.attribute(&field, "type").await.expect("its type");
    assert_eq!(kind.as_deref(), Some("password"), "the type of {css}");
}

async fn click(browser: &Browser, css: &str) {
    let element = browser
        .wait_for(css, PAGE_WAIT)
        .await
        .unwrap_or_else(|err| panic!("nothing to click at {css}: {err}"));
    browser
        .click(&element)
        .await
        .unwrap_or_else(|err| panic!("click {css}: {err}"));
}

/// The path of the current page's URL.
async fn current_path(browser: &Browser) -> String {
    let url = browser.current_url().await.expect("the current URL");
    let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |at| &after_scheme[at..]);
    path.split(['?', '#'])
        .next()
        .unwrap_or_default()
        .to_string()
}
