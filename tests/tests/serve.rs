//! `postino serve` from a configuration file: every listener answers, the
//! protocol greetings and the health check work, and SIGTERM shuts it down
//! cleanly, telling connected clients (SMTP `421`, RFC 5321 §3.8; IMAP
//! `* BYE`, RFC 9051 §7.1.5; ManageSieve `BYE`, RFC 5804 §1.3). Runs on both store backends; on PostgreSQL,
//! the health check also says when the database stops answering.

use std::time::{Duration, Instant};

use postino_common::store::testing::postgres_url;
use postino_tests::http::request;
use postino_tests::{
    Backend, LineClient, STOP_LIMIT, Server, TEST_LIMIT, TestConfig, on_both_backends, within,
};
use sqlx::{Connection, PgConnection};
use tokio::net::TcpStream;

on_both_backends!(serves_every_listener_and_stops_on_sigterm);

async fn serves_every_listener_and_stops_on_sigterm(config: &TestConfig) {
    let mut server = Server::start(config).await;
    let listeners = config.listeners;

    for addr in [listeners.smtp_mx, listeners.smtp_submission] {
        let mut smtp = LineClient::connect(addr).await;
        let greeting = smtp.read_line().await;
        assert!(greeting.starts_with("220 "), "SMTP greeting: {greeting}");
        assert!(greeting.contains("mx.postino.test"), "{greeting}");
        smtp.send("QUIT").await;
        let bye = smtp.read_line().await;
        assert!(bye.starts_with("221"), "reply to QUIT: {bye}");
    }
    let mut imap = LineClient::connect(listeners.imap).await;
    let greeting = imap.read_line().await;
    assert!(greeting.starts_with("* OK"), "IMAP greeting: {greeting}");
    // The implicit-TLS listeners want a handshake; accepting TCP is their part here.
    for addr in [
        listeners.smtp_submissions,
        listeners.imap_tls,
        listeners.pop3_tls,
    ] {
        TcpStream::connect(addr)
            .await
            .expect("TLS listener accepts TCP");
    }
    let (status, body) = request(listeners.admin, "GET", "/healthz", "").await;
    assert_eq!(status, 200, "GET /healthz: {body}");

    // Clients idle in a session when the stop comes.
    let mut smtp = LineClient::connect(listeners.smtp_mx).await;
    assert!(smtp.read_line().await.starts_with("220 "));
    let mut imap = LineClient::connect(listeners.imap).await;
    assert!(imap.read_line().await.starts_with("* OK"));
    let mut pop3 = LineClient::connect(listeners.pop3).await;
    assert_eq!(pop3.read_line().await, "+OK Postino ready.");
    let mut sieve = LineClient::connect(listeners.sieve).await;
    let greeting = managesieve_greeting(&mut sieve).await;
    assert_eq!(
        greeting[0], "\"IMPLEMENTATION\" \"Postino\"",
        "{greeting:?}"
    );

    let asked = Instant::now();
    server.terminate();
    let last = smtp.read_line().await;
    assert!(last.starts_with("421 "), "SMTP at shutdown: {last}");
    let last = imap.read_line().await;
    assert!(last.starts_with("* BYE"), "IMAP at shutdown: {last}");
    let last = pop3.read_line().await;
    assert_eq!(
        last, "-ERR [SYS/TEMP] Server shutting down.",
        "POP3 at shutdown"
    );
    let last = sieve.read_line().await;
    assert!(
        last.starts_with("BYE (TRYLATER)"),
        "ManageSieve at shutdown: {last}"
    );
    let status = server.wait(STOP_LIMIT).await;
    assert!(status.success(), "exit after SIGTERM: {status}");
    assert!(asked.elapsed() < STOP_LIMIT);
}

/// ManageSieve's greeting: capability lines up to the OK (RFC 5804 §1.7).
async fn managesieve_greeting(client: &mut LineClient) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let line = client.read_line().await;
        if line.starts_with("OK") {
            return lines;
        }
        lines.push(line);
    }
}

/// Lets connections to `database` in, or shuts them out and ends those open.
async fn set_database_open(database: &str, open: bool) {
    let mut admin = PgConnection::connect(&postgres_url())
        .await
        .expect("connect to PostgreSQL");
    let alter = format!("ALTER DATABASE \"{database}\" WITH ALLOW_CONNECTIONS {open}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(alter))
        .execute(&mut admin)
        .await
        .expect("alter the database");
    if !open {
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(database)
        .execute(&mut admin)
        .await
        .expect("end the open connections");
    }
}

#[tokio::test]
async fn the_health_check_follows_the_database() {
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Postgres).await;
        let _server = Server::start(&config).await;
        let admin = config.listeners.admin;
        let url = config.database_url();
        let database = url
            .rsplit('/')
            .next()
            .and_then(|tail| tail.split('?').next())
            .expect("a database name")
            .to_string();
        assert_eq!(request(admin, "GET", "/healthz", "").await.0, 200);

        set_database_open(&database, false).await;
        let asked = Instant::now();
        let (status, body) = request(admin, "GET", "/healthz", "").await;
        assert_eq!((status, body.as_str()), (503, "store unreachable\n"));
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "{:?}",
            asked.elapsed()
        );

        set_database_open(&database, true).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while request(admin, "GET", "/healthz", "").await.0 != 200 {
            assert!(
                Instant::now() < deadline,
                "still unhealthy with the database back"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
}
