//! ManageSieve (RFC 5804) as mail clients speak it, on both store
//! backends: Debian's `sieve-connect` (STARTTLS, PLAIN, upload, activate,
//! list, download, check, delete) and a small Python client over a socket
//! (`tests/python/managesieve_steps.py`) that sends every command and
//! reads every response code. What is uploaded is what `postino sieve`
//! and delivery then see: a message delivered afterwards is filed by it.
//! Logins are refused before STARTTLS unless plaintext is allowed, as for
//! IMAP, and failures are throttled as IMAP's are. The certificate is the self-signed one generated on first start,
//! so neither client verifies it.

use postino_tests::smtp::{
    ANNA, DOMAIN, PASSWORD, add_mailbox, data, envelope_with, folder_messages, greeted,
};
use postino_tests::{Output, Server, TestConfig, on_both_backends, run_program};
use serde_json::{Value, json};

on_both_backends!(
    sieve_connect_uploads_activates_lists_and_downloads,
    python_client_sends_every_command,
    wrong_passwords_are_throttled_as_for_imap,
    plaintext_logins_are_taken_where_imap_allows_them,
);

const STEPS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/managesieve_steps.py");

/// A filter as Roundcube's managesieve plugin writes it, with a non-ASCII
/// vacation text and CRLF line ends, which must come back unchanged.
const FILTERS: &str = "# rule:[Delibere]\r\n\
require [\"fileinto\",\"vacation\",\"mailbox\"];\r\n\
if header :contains \"subject\" \"delibera\" {\r\n\
\tfileinto :create \"Delibere\";\r\n\
}\r\n\
vacation :days 7 :subject \"Assente\" \"Sono in ferie fino a lunedì.\";\r\n";

/// A script whose second line misses a semicolon before the brace.
const BROKEN: &str = "require \"fileinto\";\nif true { fileinto \"X\" }\n";

const KEEP: &str = "keep;\n";

async fn start(config: &TestConfig) -> Server {
    config.cli(&["domain", "add", DOMAIN], None).await.ok();
    add_mailbox(config, ANNA, &[]).await;
    Server::start(config).await
}

/// Runs `sieve-connect` as Anna with `password` and `args`, over STARTTLS
/// (`--noclearauth`: it never sends the password in clear).
async fn sieve_connect(config: &TestConfig, password: &str, args: &[&str]) -> Output {
    let port = config.listeners.sieve.port().to_string();
    let mut all = vec![
        "--nosrv",
        "--server",
        "127.0.0.1",
        "--port",
        &port,
        "--user",
        ANNA,
        "--passwordfd",
        "0",
        "--notlsverify",
        "--noclearauth",
    ];
    all.extend_from_slice(args);
    let password = format!("{password}\n");
    run_program("sieve-connect", &all, Some(password.as_bytes())).await
}

async fn sieve_connect_uploads_activates_lists_and_downloads(config: &TestConfig) {
    let mut server = start(config).await;
    let dir = config.dir();
    let path = |name: &str| dir.join(name).to_str().expect("UTF-8 path").to_string();
    std::fs::write(dir.join("filtri.sieve"), FILTERS).expect("write a script");
    std::fs::write(dir.join("riserva.sieve"), KEEP).expect("write a script");
    std::fs::write(dir.join("rotto.sieve"), BROKEN).expect("write a script");

    for (local, remote) in [("filtri.sieve", "filtri"), ("riserva.sieve", "riserva")] {
        let local = path(local);
        let args = ["--upload", "--localsieve", &local, "--remotesieve", remote];
        let out = sieve_connect(config, PASSWORD, &args).await;
        assert!(out.status.success(), "{out:#?}");
    }
    let out = sieve_connect(config, PASSWORD, &["--activate", "--remotesieve", "filtri"]).await;
    assert!(out.status.success(), "{out:#?}");
    let out = sieve_connect(config, PASSWORD, &["--list"]).await;
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines, ["\"filtri\" ACTIVE", "\"riserva\""], "{out:#?}");

    let copy = path("copia.sieve");
    let args = [
        "--download",
        "--remotesieve",
        "filtri",
        "--localsieve",
        &copy,
    ];
    sieve_connect(config, PASSWORD, &args).await.ok();
    assert_eq!(
        std::fs::read(&copy).expect("downloaded"),
        FILTERS.as_bytes()
    );

    let broken = path("rotto.sieve");
    let out = sieve_connect(
        config,
        PASSWORD,
        &["--checkscript", "--localsieve", &broken],
    )
    .await;
    assert!(!out.status.success(), "{out:#?}");
    assert!(out.stderr.contains("line 2, column 24"), "{out:#?}");

    let out = sieve_connect(config, PASSWORD, &["--delete", "--remotesieve", "filtri"]).await;
    assert!(out.stderr.contains("(ACTIVE)"), "{out:#?}");
    let out = sieve_connect(config, PASSWORD, &["--delete", "--remotesieve", "riserva"]).await;
    assert!(out.status.success(), "{out:#?}");
    let out = sieve_connect(config, "sbagliata", &["--list"]).await;
    assert!(!out.status.success(), "{out:#?}");
    assert!(out.stderr.contains("Authentication failed"), "{out:#?}");

    // What was uploaded is what the operator and delivery see: the
    // script files a message (from the null sender, which no vacation
    // answers) into the folder it makes.
    let mut client = greeted(config.listeners.smtp_mx).await;
    envelope_with(&mut client, "<>", &[&format!("<{ANNA}>")]).await;
    let message = format!(
        "From: <x@esterno.example>\r\nTo: <{ANNA}>\r\nSubject: delibera 7\r\n\r\nTesto.\r\n"
    );
    assert_eq!(data(&mut client, message.as_bytes()).await.code, 250);
    server.stop().await;
    let listed = config
        .cli(&["sieve", "list", ANNA, "--json"], None)
        .await
        .json();
    assert_eq!(listed[0]["name"], "filtri", "{listed}");
    assert_eq!(listed[0]["active"], true, "{listed}");
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let store = config.open_store().await;
    let anna = store.account(ANNA).await.expect("read the store");
    let anna = anna.expect("Anna's account");
    let active = store.active_sieve_script(anna.id).await;
    let active = active.expect("read the store");
    let active = active.expect("an active script");
    assert_eq!(
        (active.name.as_str(), active.source.as_str()),
        ("filtri", FILTERS)
    );
    let filed = folder_messages(&store, ANNA, "Delibere").await;
    assert_eq!(
        filed.len(),
        1,
        "the delivered message is filed by the script"
    );
}

/// Runs the Python client through `steps`; one result per step.
async fn python(steps: &[Value]) -> Vec<Value> {
    let input = Value::from(steps.to_vec()).to_string();
    let out = run_program("python3", &[STEPS], Some(input.as_bytes())).await;
    let results: Vec<Value> = serde_json::from_str(out.ok())
        .unwrap_or_else(|err| panic!("managesieve_steps.py output is not JSON ({err}): {out:#?}"));
    assert_eq!(results.len(), steps.len(), "{results:#?}");
    results
}

fn connect(config: &TestConfig) -> Value {
    json!({"op": "connect", "port": config.listeners.sieve.port()})
}

fn send(text: &str) -> Value {
    json!({"op": "send", "text": text})
}

/// PUTSCRIPT `name` with `script` as a non-synchronising literal.
fn put(name: &str, script: &str) -> Value {
    send(&format!(
        "PUTSCRIPT \"{name}\" {{{}+}}\r\n{script}\r\n",
        script.len()
    ))
}

fn check(script: &str) -> Value {
    send(&format!(
        "CHECKSCRIPT {{{}+}}\r\n{script}\r\n",
        script.len()
    ))
}

fn authenticate(password: &str, initial: bool) -> Value {
    json!({"op": "authenticate", "user": ANNA, "password": password, "initial": initial})
}

fn response(result: &Value) -> &str {
    result["response"]
        .as_str()
        .unwrap_or_else(|| panic!("no response: {result}"))
}

fn lines(result: &Value) -> Vec<&str> {
    result["lines"]
        .as_array()
        .unwrap_or_else(|| panic!("no lines: {result}"))
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// A script of `size` bytes: a comment, then `keep;`.
fn script_of(size: usize) -> String {
    let keep = "keep;\n";
    format!("#{}\n{keep}", "x".repeat(size - keep.len() - 2))
}

async fn python_client_sends_every_command(config: &TestConfig) {
    config.set("sieve", "max_script_size = \"1KiB\"");
    config.set("sieve", "max_scripts_size = \"2KiB\"");
    let _server = start(config).await;
    let large = script_of(1000);
    let steps = [
        connect(config),
        authenticate(PASSWORD, true),
        json!({"op": "starttls"}),
        authenticate("sbagliata", true),
        authenticate(PASSWORD, false),
        send("CAPABILITY\r\n"),
        // 6: storing and checking
        put("filtri", FILTERS),
        put("rotto", BROKEN),
        check(BROKEN),
        check(KEEP),
        put("grande", &large),
        // 11: space
        send("HAVESPACE \"enorme\" 5000\r\n"),
        send("HAVESPACE \"altro\" 1000\r\n"),
        send("HAVESPACE \"grande\" 1000\r\n"),
        put("altro", &large),
        put("enorme", &script_of(1500)),
        // 16: listing, activating, reading
        send("LISTSCRIPTS\r\n"),
        send("SETACTIVE \"filtri\"\r\n"),
        send("SETACTIVE \"nessuno\"\r\n"),
        send("LISTSCRIPTS\r\n"),
        send("GETSCRIPT \"filtri\"\r\n"),
        send("GETSCRIPT \"nessuno\"\r\n"),
        // 22: renaming and deleting
        send("RENAMESCRIPT \"grande\" \"filtri\"\r\n"),
        send("RENAMESCRIPT \"nessuno\" \"altro\"\r\n"),
        send("RENAMESCRIPT \"grande\" {8+}\r\narchivio\r\n"),
        send("DELETESCRIPT \"filtri\"\r\n"),
        send("DELETESCRIPT \"archivio\"\r\n"),
        send("SETACTIVE \"\"\r\n"),
        send("LISTSCRIPTS\r\n"),
        // 29: the rest
        send("NOOP \"sync-1\"\r\n"),
        send("FROBNICATE\r\n"),
        send("UNAUTHENTICATE\r\n"),
        send("LISTSCRIPTS\r\n"),
        send("LOGOUT\r\n"),
    ];
    let r = python(&steps).await;

    let greeting = lines(&r[0]);
    for line in [
        "\"IMPLEMENTATION\" \"Postino\"",
        "\"SASL\" \"\"",
        "\"STARTTLS\"",
        "\"MAXREDIRECTS\" \"4\"",
        "\"VERSION\" \"1.0\"",
    ] {
        assert!(greeting.contains(&line), "{line} in {greeting:?}");
    }
    let sieve = greeting
        .iter()
        .find_map(|l| l.strip_prefix("\"SIEVE\" "))
        .expect("a SIEVE capability");
    let extensions: Vec<&str> = sieve.trim_matches('"').split(' ').collect();
    for extension in ["fileinto", "vacation", "include"] {
        assert!(extensions.contains(&extension), "{sieve}");
    }
    assert!(response(&r[0]).starts_with("OK"), "{:?}", r[0]);
    assert!(
        response(&r[1]).starts_with("NO (ENCRYPT-NEEDED)"),
        "{:?}",
        r[1]
    );
    assert!(response(&r[2]).starts_with("OK"), "{:?}", r[2]);
    let after_tls: Vec<&str> = r[2]["tls_lines"]
        .as_array()
        .expect("capabilities after TLS")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(after_tls.contains(&"\"SASL\" \"PLAIN\""), "{after_tls:?}");
    assert!(!after_tls.contains(&"\"STARTTLS\""), "{after_tls:?}");
    assert_eq!(response(&r[3]), "NO \"Authentication failed\"");
    assert_eq!(r[4]["challenge"], "\"\"", "{:?}", r[4]);
    assert!(response(&r[4]).starts_with("OK"), "{:?}", r[4]);
    let owner = format!("\"OWNER\" \"{ANNA}\"");
    assert!(lines(&r[5]).contains(&owner.as_str()), "{:?}", r[5]);

    assert!(response(&r[6]).starts_with("OK"), "{:?}", r[6]);
    for refused in [&r[7], &r[8]] {
        let text = response(refused);
        assert!(text.starts_with("NO \"line 2, column 24: "), "{text}");
    }
    assert!(response(&r[9]).starts_with("OK"), "{:?}", r[9]);
    assert!(response(&r[10]).starts_with("OK"), "{:?}", r[10]);

    assert!(
        response(&r[11]).starts_with("NO (QUOTA/MAXSIZE)"),
        "{:?}",
        r[11]
    );
    assert!(response(&r[12]).starts_with("NO (QUOTA)"), "{:?}", r[12]);
    assert!(response(&r[13]).starts_with("OK"), "{:?}", r[13]);
    assert!(response(&r[14]).starts_with("NO (QUOTA)"), "{:?}", r[14]);
    assert!(
        response(&r[15]).starts_with("NO (QUOTA/MAXSIZE)"),
        "{:?}",
        r[15]
    );

    assert_eq!(lines(&r[16]), ["\"filtri\"", "\"grande\""]);
    assert!(response(&r[17]).starts_with("OK"), "{:?}", r[17]);
    assert!(
        response(&r[18]).starts_with("NO (NONEXISTENT)"),
        "{:?}",
        r[18]
    );
    assert_eq!(lines(&r[19]), ["\"filtri\" ACTIVE", "\"grande\""]);
    assert_eq!(lines(&r[20]), [FILTERS]);
    assert!(response(&r[20]).starts_with("OK"), "{:?}", r[20]);
    assert!(
        response(&r[21]).starts_with("NO (NONEXISTENT)"),
        "{:?}",
        r[21]
    );

    assert!(
        response(&r[22]).starts_with("NO (ALREADYEXISTS)"),
        "{:?}",
        r[22]
    );
    assert!(
        response(&r[23]).starts_with("NO (NONEXISTENT)"),
        "{:?}",
        r[23]
    );
    assert!(response(&r[24]).starts_with("OK"), "{:?}", r[24]);
    assert!(response(&r[25]).starts_with("NO (ACTIVE)"), "{:?}", r[25]);
    assert!(response(&r[26]).starts_with("OK"), "{:?}", r[26]);
    assert!(response(&r[27]).starts_with("OK"), "{:?}", r[27]);
    assert_eq!(lines(&r[28]), ["\"filtri\""]);

    assert_eq!(response(&r[29]), "OK (TAG \"sync-1\") \"Done\"");
    assert!(response(&r[30]).starts_with("NO"), "{:?}", r[30]);
    assert!(response(&r[31]).starts_with("OK"), "{:?}", r[31]);
    assert!(response(&r[32]).starts_with("NO"), "{:?}", r[32]);
    assert!(response(&r[33]).starts_with("OK"), "{:?}", r[33]);
}

async fn wrong_passwords_are_throttled_as_for_imap(config: &TestConfig) {
    config.set("auth", "max_failures_per_ip = 3");
    let server = start(config).await;
    // Another loopback address is another client, locked out alone.
    let mut steps = vec![
        json!({"op": "connect", "port": config.listeners.sieve.port(), "source": "127.0.0.2"}),
        json!({"op": "starttls"}),
    ];
    steps.extend((0..3).map(|_| authenticate("sbagliata", true)));
    steps.push(authenticate(PASSWORD, true));
    steps.extend([connect(config), json!({"op": "starttls"})]);
    steps.push(authenticate(PASSWORD, true));
    let r = python(&steps).await;
    for failed in &r[2..5] {
        assert_eq!(response(failed), "NO \"Authentication failed\"");
    }
    assert!(response(&r[5]).starts_with("NO (TRYLATER)"), "{:?}", r[5]);
    assert!(response(&r[8]).starts_with("OK"), "{:?}", r[8]);
    let log = server.log();
    let failures = log
        .lines()
        .filter(|l| l.contains("authentication failed service=\"managesieve\""))
        .collect::<Vec<_>>();
    assert_eq!(failures.len(), 4, "{log}");
    assert!(failures[3].contains("reason=\"throttled\""), "{log}");
}

async fn plaintext_logins_are_taken_where_imap_allows_them(config: &TestConfig) {
    config.set("imap", "allow_plaintext_auth = true");
    let _server = start(config).await;
    let r = python(&[
        connect(config),
        authenticate(PASSWORD, false),
        send("LISTSCRIPTS\r\n"),
    ])
    .await;
    assert!(lines(&r[0]).contains(&"\"SASL\" \"PLAIN\""), "{:?}", r[0]);
    assert!(response(&r[1]).starts_with("OK"), "{:?}", r[1]);
    assert!(response(&r[2]).starts_with("OK"), "{:?}", r[2]);
}
