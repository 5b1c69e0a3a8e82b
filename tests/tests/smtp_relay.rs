//! Relay clients (agency systems) over SMTP: recognised by source address
//! on MX and submission, or by AUTH with their own name and password;
//! refused outside their sender domains (`553 5.7.1`) and past their rate
//! (`451 4.7.1`); delivering to local mailboxes and queueing the rest. A
//! client whose network does not contain the peer is anybody: never a relay.

use postino_common::store::Store;
use postino_tests::smtp::{
    ANNA, DOMAIN, data, envelope, greeted, inbox, only_message, outside_world_unreachable, site,
    stopped,
};
use postino_tests::{LineClient, Output, Server, TestConfig, on_both_backends, run_program};

on_both_backends!(
    a_client_is_recognised_by_address_on_mx_and_submission,
    a_client_on_another_network_is_anonymous,
    a_client_logs_in_with_its_password,
    a_client_is_held_to_its_rate,
);

const SENDER: &str = "protocollo@comune.esempio.pu.it";
const REMOTE: &str = "cittadino@esterno.example";
const RELAY_PASSWORD: &str = "segreto-del-protocollo";

fn message(subject: &str) -> String {
    format!(
        "From: <{SENDER}>\r\nTo: <{REMOTE}>\r\nSubject: {subject}\r\nMessage-ID: <{subject}@comune.esempio.pu.it>\r\n\r\nComunicazione {subject}.\r\n"
    )
}

/// The outbound queue's senders and recipients, `[sender, recipient]`, in
/// the store's order.
async fn queued(store: &Store) -> Vec<[String; 2]> {
    let queued = store.queued_recipients().await.expect("read the queue");
    queued.into_iter().map(|r| [r.sender, r.address]).collect()
}

async fn add_relay(config: &TestConfig, args: &[&str], stdin: Option<&str>) {
    let mut all = vec!["relay", "add"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--sender-domain", DOMAIN]);
    config.cli(&all, stdin).await.ok();
}

/// Runs swaks on the submission port with STARTTLS and AUTH PLAIN.
async fn swaks(config: &TestConfig, user: &str, password: &str, from: &str) -> Output {
    let server = config.listeners.smtp_submission.to_string();
    let args = [
        "--helo",
        "protocollo.example",
        "--timeout",
        "20",
        "--server",
        &server,
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        user,
        "--auth-password",
        password,
        "--from",
        from,
        "--to",
        REMOTE,
        "--header",
        "Subject: swaks",
    ];
    run_program("swaks", &args, None).await
}

async fn a_client_is_recognised_by_address_on_mx_and_submission(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA]).await;
    outside_world_unreachable(config);
    add_relay(config, &["protocollo-rete", "--cidr", "127.0.0.0/8"], None).await;
    let server = Server::start(config).await;

    // On MX, where agency systems are often pointed: local and remote.
    let mut mx = greeted(config.listeners.smtp_mx).await;
    envelope(&mut mx, SENDER, &[ANNA, REMOTE]).await;
    data(&mut mx, message("mx").as_bytes())
        .await
        .expect(250, "2.0.0");
    mx.command("MAIL FROM:<protocollo@esterno.example>")
        .await
        .expect(553, "5.7.1");
    mx.command("MAIL FROM:<>").await.expect(553, "5.7.1");
    mx.command("QUIT").await;

    // On submission: no AUTH, and no TLS, needed from its network.
    let mut submission = greeted(config.listeners.smtp_submission).await;
    envelope(&mut submission, SENDER, &[REMOTE]).await;
    data(&mut submission, message("submission").as_bytes())
        .await
        .expect(250, "2.0.0");
    submission.command("QUIT").await;

    let log = server.log();
    assert!(
        log.lines()
            .any(|l| l.contains("relay=protocollo-rete") && l.contains("session=")),
        "log lines name the session and the client: {log}"
    );
    let store = stopped(server, config).await;
    let text = String::from_utf8_lossy(&only_message(&store, ANNA).await).into_owned();
    assert!(text.contains("Subject: mx"), "{text}");
    assert!(
        !text.contains("Authentication-Results"),
        "a relay client's mail is not checked as the world's: {text}"
    );
    assert_eq!(queued(&store).await, [[SENDER, REMOTE], [SENDER, REMOTE]]);
}

async fn a_client_on_another_network_is_anonymous(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA]).await;
    outside_world_unreachable(config);
    add_relay(config, &["protocollo-rete", "--cidr", "10.0.0.0/8"], None).await;
    let server = Server::start(config).await;

    let mut mx = greeted(config.listeners.smtp_mx).await;
    mx.command(&format!("MAIL FROM:<{SENDER}>"))
        .await
        .expect(250, "2.1.0");
    mx.command(&format!("RCPT TO:<{REMOTE}>"))
        .await
        .expect(550, "5.7.1");
    mx.command("QUIT").await;

    let mut submission = greeted(config.listeners.smtp_submission).await;
    submission
        .command(&format!("MAIL FROM:<{SENDER}>"))
        .await
        .expect(530, "5.7.0");
    submission.command("QUIT").await;

    let store = stopped(server, config).await;
    assert!(queued(&store).await.is_empty());
}

async fn a_client_logs_in_with_its_password(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA]).await;
    outside_world_unreachable(config);
    add_relay(
        config,
        &["protocollo", "--password-stdin"],
        Some(&format!("{RELAY_PASSWORD}\n")),
    )
    .await;
    let server = Server::start(config).await;

    let sent = swaks(config, "protocollo", RELAY_PASSWORD, SENDER).await;
    assert!(sent.status.success(), "{sent:#?}");
    let wrong = swaks(config, "protocollo", "sbagliata", SENDER).await;
    assert!(!wrong.status.success(), "{wrong:#?}");
    assert!(wrong.stdout.contains("535 5.7.8"), "{wrong:#?}");
    let foreign = swaks(
        config,
        "protocollo",
        RELAY_PASSWORD,
        "protocollo@esterno.example",
    )
    .await;
    assert!(!foreign.status.success(), "{foreign:#?}");
    assert!(foreign.stdout.contains("553 5.7.1"), "{foreign:#?}");

    // Without TLS nobody logs in, a relay client no more than a user.
    let mut clear = greeted(config.listeners.smtp_submission).await;
    clear
        .command("AUTH PLAIN AHByb3RvY29sbG8Ac2VncmV0by1kZWwtcHJvdG9jb2xsbw==")
        .await
        .expect(538, "5.7.11");
    clear.command("QUIT").await;

    let store = stopped(server, config).await;
    assert_eq!(
        queued(&store).await,
        [[SENDER, REMOTE]],
        "only the accepted message is queued"
    );
}

async fn a_client_is_held_to_its_rate(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA]).await;
    outside_world_unreachable(config);
    add_relay(
        config,
        &[
            "protocollo-rete",
            "--cidr",
            "127.0.0.0/8",
            "--rate",
            "2/min",
        ],
        None,
    )
    .await;
    let server = Server::start(config).await;
    let mut client: LineClient = greeted(config.listeners.smtp_mx).await;
    for subject in ["primo", "secondo"] {
        envelope(&mut client, SENDER, &[ANNA]).await;
        data(&mut client, message(subject).as_bytes())
            .await
            .expect(250, "2.0.0");
    }
    client
        .command(&format!("MAIL FROM:<{SENDER}>"))
        .await
        .expect(451, "4.7.1");
    client.command("QUIT").await;
    // Another connection shares the count.
    let mut again = greeted(config.listeners.smtp_mx).await;
    again
        .command(&format!("MAIL FROM:<{SENDER}>"))
        .await
        .expect(451, "4.7.1");
    again.command("QUIT").await;

    let store = stopped(server, config).await;
    assert_eq!(inbox(&store, ANNA).await.len(), 2);
}
