//! Accessibility of the web console (WCAG 2.1 AA, as Legge 4/2004 and
//! EN 301 549 ask): headless Chromium logs in to the real binary as each
//! kind of user, opens every page that user can reach, in Italian and in
//! English, forms refused with their errors included, and runs axe-core
//! on each for the WCAG 2.1 A and AA rules; there must be no violation.
//! On the same pages it checks, with the keyboard, that the first Tab
//! reaches the skip link, which shows its focus and moves the focus to the
//! main content; and that nothing scrolls sideways in a window 320 px wide
//! (WCAG 1.4.10) or 640 px wide (a 1280 px screen at 200% zoom, 1.4.4).
//!
//! axe-core is the npm package, pinned in `scripts/test`, which installs it
//! under `target/axe-core` and names its script in `POSTINO_AXE_CORE`.
//! Without it, or without Chromium and ChromeDriver, the tests are skipped
//! with a note, or fail when `CI` is set.

use std::path::PathBuf;
use std::time::Duration;

use postino_tests::webdriver::{self, Browser, Options};
use postino_tests::{Backend, Server, TestConfig, within};
use serde_json::{Value, json};

const DOMAIN: &str = "comune.esempio.it";
const PASSWORD: &str = "una password lunga abbastanza";
const PROVINCE_ADMIN: &str = "provincia";
const COMUNE_ADMIN: &str = "segreteria";
const USER: &str = "anna@comune.esempio.it";
/// A relay client, so that its page exists.
const RELAY: &str = "protocollo";
/// The WCAG 2.1 A and AA rules of axe-core.
const WCAG_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
/// The window widths, in CSS pixels, at which nothing may scroll sideways.
const NARROW_WIDTHS: [u32; 2] = [320, 640];
const WIDE: (u32, u32) = (1280, 900);
const LANGUAGES: [&str; 2] = ["it", "en"];
/// How long one role's whole round may take.
const ROUND_LIMIT: Duration = Duration::from_secs(420);
/// How long a page may take to appear after a click.
const PAGE_WAIT: Duration = Duration::from_secs(10);

/// Who browses the console.
#[derive(Debug, Clone, Copy)]
enum Role {
    /// Not logged in.
    Visitor,
    /// An admin of every domain.
    Province,
    /// An admin of the comune's domain only.
    Comune,
    /// A mailbox's own user.
    User,
}

/// One page to check.
#[derive(Debug)]
enum Visit {
    /// The page at this path.
    Open(String),
    /// The page at `path` after its form with the submit button `submit`
    /// is sent empty, browser checks off: the form refused, with its
    /// errors.
    SubmitEmpty { path: String, submit: &'static str },
}

/// Every console page `role` can reach. A new page or form goes here, for
/// every role that can reach it, with its refused state if it has a form.
fn pages(role: Role) -> Vec<Visit> {
    let open = |path: &str| Visit::Open(path.to_string());
    let submit = |path: &str, submit| Visit::SubmitEmpty {
        path: path.to_string(),
        submit,
    };
    let domain = format!("/console/domains/{DOMAIN}");
    let mailbox = format!("{domain}/mailboxes/anna");
    match role {
        Role::Visitor => vec![
            open("/console/login"),
            submit("/console/login", "#login-submit"),
        ],
        Role::Province | Role::Comune => {
            let mut pages = vec![
                open("/console/"),
                open(&domain),
                submit(&domain, "#new-mailbox-submit"),
                submit(&domain, "#new-alias-submit"),
                submit(&domain, "#new-relay-submit"),
                open(&mailbox),
                submit(&mailbox, "#set-password-submit"),
                open(&format!("{mailbox}/vacation")),
                open(&format!("{mailbox}/forwarding")),
                open(&format!("{mailbox}/delete")),
                open(&format!("{domain}/relay/clients/{RELAY}")),
                open(&format!("{domain}/dkim")),
                open("/console/audit"),
                open("/console/no-such-page"),
            ];
            if matches!(role, Role::Province) {
                pages.push(submit("/console/", "#new-domain-submit"));
            } else {
                pages.push(open("/console/domains/altro.esempio.it"));
            }
            pages
        }
        Role::User => vec![
            open("/console/account"),
            submit("/console/account", "#change-password-submit"),
            open("/console/account/vacation"),
            open("/console/account/forwarding"),
        ],
    }
}

#[tokio::test]
async fn the_login_page_is_accessible() {
    check_role(Role::Visitor).await;
}

#[tokio::test]
async fn a_provincial_admins_pages_are_accessible() {
    check_role(Role::Province).await;
}

#[tokio::test]
async fn a_comune_admins_pages_are_accessible() {
    check_role(Role::Comune).await;
}

#[tokio::test]
async fn a_users_pages_are_accessible() {
    check_role(Role::User).await;
}

async fn check_role(role: Role) {
    let Some(axe) = axe_core() else {
        return;
    };
    within(ROUND_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        let console = set_up(&config).await;
        let _server = Server::start(&config).await;
        let browser = Browser::start(Options { javascript: true })
            .await
            .expect("start headless Chromium");
        browser
            .set_window_size(WIDE.0, WIDE.1)
            .await
            .expect("a wide window");
        log_in(&browser, &console, role).await;

        let mut problems = Vec::new();
        for lang in LANGUAGES {
            set_language(&browser, &console, lang).await;
            for visit in pages(role) {
                let page = open(&browser, &console, &visit, lang).await;
                problems.extend(run_axe(&browser, &axe, &page).await);
                if matches!(visit, Visit::Open(_)) {
                    problems.extend(check_skip_link(&browser, &page).await);
                }
            }
        }
        for width in NARROW_WIDTHS {
            browser
                .set_window_size(width, WIDE.1)
                .await
                .expect("a narrow window");
            for lang in LANGUAGES {
                set_language(&browser, &console, lang).await;
                for visit in pages(role) {
                    let page = open(&browser, &console, &visit, lang).await;
                    problems.extend(check_reflow(&browser, &page, width).await);
                }
            }
        }
        browser.close().await.expect("close the browser");
        assert!(
            problems.is_empty(),
            "{role:?}: {} accessibility problems:\n{}",
            problems.len(),
            problems.join("\n")
        );
    })
    .await
}

/// axe-core's script, or `None` when the test is to be skipped.
fn axe_core() -> Option<String> {
    let path = std::env::var_os("POSTINO_AXE_CORE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/axe-core/node_modules/axe-core/axe.min.js")
        });
    let mut missing: Vec<String> = webdriver::missing()
        .into_iter()
        .map(str::to_string)
        .collect();
    let script = std::fs::read_to_string(&path).ok();
    if script.is_none() {
        missing.push(format!("axe-core ({})", path.display()));
    }
    if missing.is_empty() {
        return script;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the console accessibility tests need {} (scripts/test installs them)",
        missing.join(" and ")
    );
    eprintln!(
        "skipping the console accessibility test: {} not installed (scripts/test installs them)",
        missing.join(" and ")
    );
    None
}

/// A domain with a mailbox, an alias, a relay client and DKIM keys; an
/// admin of each kind. Returns the console's URL.
async fn set_up(config: &TestConfig) -> String {
    let password = format!("{PASSWORD}\n");
    let steps: [&[&str]; 7] = [
        &["domain", "add", DOMAIN],
        &["domain", "add", "altro.esempio.it"],
        &["mailbox", "add", USER, "--password-stdin", "--name", "Anna"],
        &["alias", "add", &format!("ufficio@{DOMAIN}"), USER],
        &["dkim", "generate", DOMAIN],
        &[
            "admin",
            "add",
            PROVINCE_ADMIN,
            "--all-domains",
            "--password-stdin",
        ],
        &[
            "admin",
            "add",
            COMUNE_ADMIN,
            "--domain",
            DOMAIN,
            "--password-stdin",
        ],
    ];
    for args in steps {
        config.cli(args, Some(&password)).await.ok();
    }
    config
        .cli(
            &[
                "relay",
                "add",
                RELAY,
                "--cidr",
                "192.0.2.0/24",
                "--sender-domain",
                DOMAIN,
            ],
            None,
        )
        .await
        .ok();
    format!("http://{}/console", config.listeners.admin)
}

async fn log_in(browser: &Browser, console: &str, role: Role) {
    let user = match role {
        Role::Visitor => return,
        Role::Province => PROVINCE_ADMIN,
        Role::Comune => COMUNE_ADMIN,
        Role::User => USER,
    };
    browser
        .navigate(&format!("{console}/login"))
        .await
        .expect("open the login page");
    for (css, text) in [("#username", user), ("#password", PASSWORD)] {
        let field = browser.find(css).await.expect("a login field");
        browser.send_keys(&field, text).await.expect("type");
    }
    mark_page(browser).await;
    let submit = browser.find("#login-submit").await.expect("the button");
    browser.click(&submit).await.expect("log in");
    wait_for_new_page(browser).await;
    let url = browser.current_url().await.expect("the URL");
    assert!(!url.ends_with("/console/login"), "{role:?} did not log in");
}

/// Chooses the console's language with its own switch.
async fn set_language(browser: &Browser, console: &str, lang: &str) {
    browser
        .navigate(&format!("{console}/lang?set={lang}&next=/console/"))
        .await
        .expect("switch the language");
}

/// Opens a page as `visit` says; returns its name for the report.
async fn open(browser: &Browser, console: &str, visit: &Visit, lang: &str) -> String {
    let origin = console.trim_end_matches("/console");
    match visit {
        Visit::Open(path) => {
            browser
                .navigate(&format!("{origin}{path}"))
                .await
                .unwrap_or_else(|err| panic!("open {path}: {err}"));
        }
        Visit::SubmitEmpty { path, submit } => {
            browser
                .navigate(&format!("{origin}{path}"))
                .await
                .unwrap_or_else(|err| panic!("open {path}: {err}"));
            let button = browser
                .find(submit)
                .await
                .unwrap_or_else(|err| panic!("no {submit} on {path}: {err}"));
            // Empty text fields: the server is to refuse, not the browser.
            browser
                .execute(
                    "const form = arguments[0].form; form.noValidate = true;
                     for (const f of form.querySelectorAll('input[type=text], input[type=password], \
                       input[type=email], textarea')) { f.value = ''; }",
                    &[button.to_json()],
                )
                .await
                .expect("empty the form");
            mark_page(browser).await;
            browser.click(&button).await.expect("send the form");
            wait_for_new_page(browser).await;
            let error = browser.find_all(".error").await.expect("errors");
            assert!(!error.is_empty(), "{submit} on {path} was not refused");
        }
    }
    let shown = browser
        .execute("return document.documentElement.lang;", &[])
        .await
        .expect("the page's language");
    let page = match visit {
        Visit::Open(path) => format!("{path} [{lang}]"),
        Visit::SubmitEmpty { path, submit } => format!("{path} with {submit} sent empty [{lang}]"),
    };
    assert_eq!(shown, lang, "the lang attribute of {page}");
    page
}

/// Marks the current page, so that [`wait_for_new_page`] knows when
/// another has replaced it.
async fn mark_page(browser: &Browser) {
    browser
        .execute("window.postinoOld = true;", &[])
        .await
        .expect("mark the page");
}

async fn wait_for_new_page(browser: &Browser) {
    let deadline = tokio::time::Instant::now() + PAGE_WAIT;
    loop {
        let loaded = browser
            .execute(
                "return window.postinoOld === undefined && document.readyState === 'complete';",
                &[],
            )
            .await;
        if matches!(loaded, Ok(Value::Bool(true))) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no new page after {PAGE_WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// axe-core's WCAG 2.1 A and AA violations on the current page, one line
/// per element at fault: the rule, the element and the rule's help page.
async fn run_axe(browser: &Browser, axe: &str, page: &str) -> Vec<String> {
    browser
        .execute(&format!("{axe}\nreturn typeof axe;"), &[])
        .await
        .expect("load axe-core into the page");
    let found = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: { type: 'tag', values: arguments[0] } })
               .then(r => done(r.violations.map(v => ({
                   rule: v.id, help: v.help, url: v.helpUrl,
                   targets: v.nodes.map(n => n.target.join(' ')) }))))
               .catch(e => done({ error: String(e) }));",
            &[json!(WCAG_TAGS)],
        )
        .await
        .expect("run axe-core");
    let Some(violations) = found.as_array() else {
        panic!("axe-core failed on {page}: {found}");
    };
    let mut problems = Vec::new();
    for v in violations {
        for target in v["targets"].as_array().into_iter().flatten() {
            problems.push(format!(
                "{page}: {} ({}) at {} — {}",
                v["rule"].as_str().unwrap_or_default(),
                v["help"].as_str().unwrap_or_default(),
                target.as_str().unwrap_or_default(),
                v["url"].as_str().unwrap_or_default(),
            ));
        }
    }
    problems
}

/// With the keyboard from the top of the page: the first Tab reaches the
/// skip link, drawn with a visible focus ring, and Enter on it moves the
/// focus to the main content.
async fn check_skip_link(browser: &Browser, page: &str) -> Vec<String> {
    let focused = "const e = document.activeElement;
                   return { id: e.id, skip: e.classList.contains('skip'),
                            outline: getComputedStyle(e).outlineStyle };";
    let start = browser.execute(focused, &[]).await.expect("the focus");
    if start["id"] != "" || start["skip"] == true {
        // A page that puts the focus in its form (the login page) starts
        // from there, not from the top.
        return Vec::new();
    }
    browser.press_key("\u{E004}").await.expect("press Tab");
    let first = browser.execute(focused, &[]).await.expect("the focus");
    if first["skip"] != true {
        return vec![format!(
            "{page}: the first Tab reaches {first}, not the skip link"
        )];
    }
    let mut problems = Vec::new();
    if first["outline"] == "none" {
        problems.push(format!("{page}: the focused skip link shows no outline"));
    }
    browser.press_key("\u{E007}").await.expect("press Enter");
    let after = browser.execute(focused, &[]).await.expect("the focus");
    if after["id"] != "main" {
        problems.push(format!(
            "{page}: the skip link moves the focus to {after}, not to main"
        ));
    }
    problems
}

/// Nothing scrolls sideways in a window `width` CSS pixels wide. A page
/// that does is reported with the innermost elements that stick out.
async fn check_reflow(browser: &Browser, page: &str, width: u32) -> Vec<String> {
    let sizes = browser
        .execute(
            "const inner = window.innerWidth;
             const out = [...document.body.querySelectorAll('*')]
               .filter(e => e.getBoundingClientRect().right > inner
                 && ![...e.children].some(c => c.getBoundingClientRect().right > inner))
               .slice(0, 5)
               .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                 + [...e.classList].map(c => '.' + c).join(''));
             return [document.scrollingElement.scrollWidth, inner, out];",
            &[],
        )
        .await
        .expect("the page's width");
    let scroll = sizes[0].as_u64().unwrap_or(u64::MAX);
    let inner = sizes[1].as_u64().unwrap_or_default();
    assert!(
        inner <= u64::from(width),
        "the window is {inner} px wide inside, asked for {width}"
    );
    if scroll > inner {
        vec![format!(
            "{page}: {scroll} px wide in a window of {inner} px: it scrolls sideways; \
             sticking out: {}",
            sizes[2]
        )]
    } else {
        Vec::new()
    }
}
