//! The admin listener over HTTPS when `[tls] cert` is configured, driven by
//! curl verifying the certificate against the one the test made: health,
//! the API's session cookie and the console's cookies all marked `Secure`,
//! and no plain HTTP on that port.

use std::path::Path;

use postino_tests::{
    Backend, Output, Server, TEST_LIMIT, TestConfig, run_program, self_signed, within,
};

const HOSTNAME: &str = "mx.postino.test";
const PASSWORD: &str = "password-della-provincia";

/// A self-signed certificate for [`HOSTNAME`] in `dir`, made by openssl.
async fn make_certificate(dir: &Path) {
    self_signed(HOSTNAME, &dir.join("cert.pem"), &dir.join("key.pem")).await;
}

/// curl with the response headers included, trusting only the test's
/// certificate, with [`HOSTNAME`] resolved to the admin listener, keeping
/// cookies in the file `jar` as a browser would.
struct Curl<'a> {
    config: &'a TestConfig,
    jar: &'a str,
}

impl Curl<'_> {
    fn url(&self, path: &str) -> String {
        format!(
            "https://{HOSTNAME}:{}{path}",
            self.config.listeners.admin.port()
        )
    }

    async fn run(&self, args: &[&str]) -> Output {
        let dir = self.config.dir();
        let cacert = dir.join("cert.pem");
        let jar = dir.join(self.jar);
        let resolve = format!(
            "{HOSTNAME}:{}:127.0.0.1",
            self.config.listeners.admin.port()
        );
        let mut all = vec![
            "--silent",
            "--show-error",
            "--include",
            "--cacert",
            cacert.to_str().expect("a UTF-8 path"),
            "--resolve",
            &resolve,
            "--cookie",
            jar.to_str().expect("a UTF-8 path"),
            "--cookie-jar",
            jar.to_str().expect("a UTF-8 path"),
        ];
        all.extend_from_slice(args);
        run_program("curl", &all, None).await
    }
}

/// The `Set-Cookie` header values of a response curl printed with
/// `--include`.
fn set_cookies(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, value)| value.trim())
        .collect()
}

/// Asserts that `cookie` goes only over TLS, stays out of scripts' reach
/// and is not sent along with other sites' requests (Lax or Strict).
#[track_caller]
fn assert_secure(cookie: &str) {
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    let has = |wanted: &str| attributes.iter().any(|a| a.eq_ignore_ascii_case(wanted));
    assert!(has("Secure") && has("HttpOnly"), "{cookie}");
    assert!(has("SameSite=Lax") || has("SameSite=Strict"), "{cookie}");
}

/// The value of the form field `name` in `html`.
fn field_value<'a>(html: &'a str, name: &str) -> &'a str {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    let len = html[start..].find('"').expect("the end of the value");
    &html[start..start + len]
}

#[tokio::test]
async fn the_admin_listener_speaks_https_with_secure_cookies() {
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        make_certificate(config.dir()).await;
        config.set("tls", "cert = \"cert.pem\"");
        config.set("tls", "key = \"key.pem\"");
        let stdin = format!("{PASSWORD}\n");
        let added = config
            .cli(
                &[
                    "admin",
                    "add",
                    "provincia",
                    "--all-domains",
                    "--password-stdin",
                ],
                Some(&stdin),
            )
            .await;
        assert!(added.status.success(), "{added:#?}");
        let _server = Server::start(&config).await;
        let curl = Curl {
            config: &config,
            jar: "api-cookies.txt",
        };

        let health = curl.run(&[&curl.url("/healthz")]).await;
        assert!(health.status.success(), "{health:#?}");
        assert!(health.stdout.starts_with("HTTP/1.1 200"), "{health:#?}");

        // The API's session cookie.
        let credentials = format!(r#"{{"username": "provincia", "password": "{PASSWORD}"}}"#);
        let login = curl
            .run(&[
                "--header",
                "Content-Type: application/json",
                "--data",
                &credentials,
                &curl.url("/api/v1/session"),
            ])
            .await;
        assert!(login.stdout.starts_with("HTTP/1.1 200"), "{login:#?}");
        let cookies = set_cookies(&login.stdout);
        assert_eq!(cookies.len(), 1, "{login:#?}");
        assert!(cookies[0].starts_with("postino_session="), "{cookies:?}");
        assert_secure(cookies[0]);

        // The console's login form token, then its session, in a browser
        // of its own.
        let curl = Curl {
            config: &config,
            jar: "console-cookies.txt",
        };
        let form = curl.run(&[&curl.url("/console/login")]).await;
        assert!(form.stdout.starts_with("HTTP/1.1 200"), "{form:#?}");
        let cookies = set_cookies(&form.stdout);
        assert!(!cookies.is_empty(), "a login token cookie: {form:#?}");
        cookies.iter().for_each(|c| assert_secure(c));
        let token = field_value(&form.stdout, "token");
        let logged_in = curl
            .run(&[
                "--data-urlencode",
                &format!("token={token}"),
                "--data-urlencode",
                "username=provincia",
                "--data-urlencode",
                &format!("password={PASSWORD}"),
                &curl.url("/console/login"),
            ])
            .await;
        assert!(
            logged_in.stdout.starts_with("HTTP/1.1 303"),
            "{logged_in:#?}"
        );
        let cookies = set_cookies(&logged_in.stdout);
        let session = cookies
            .iter()
            .find(|c| c.starts_with("postino_session="))
            .unwrap_or_else(|| panic!("a session cookie: {logged_in:#?}"));
        assert_secure(session);
        let domains = curl.run(&[&curl.url("/console/")]).await;
        assert!(domains.stdout.starts_with("HTTP/1.1 200"), "{domains:#?}");

        // No plain HTTP on the TLS port.
        let plain = run_program(
            "curl",
            &[
                "--silent",
                "--max-time",
                "10",
                &format!("http://{}/healthz", config.listeners.admin),
            ],
            None,
        )
        .await;
        assert!(!plain.status.success(), "{plain:#?}");
    })
    .await;
}
