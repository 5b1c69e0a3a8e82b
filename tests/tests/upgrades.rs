//! Rolling upgrades: nodes of one installation share a PostgreSQL store
//! and are upgraded one at a time. Several nodes and management commands
//! started together on an empty database apply each migration once and all
//! come up (on SQLite, a server and the commands run beside it); a node
//! of the previous release still starts once a newer release has added
//! migrations it does not know.

use postino_tests::{Backend, Server, TEST_LIMIT, TestConfig, on_both_backends, within};
use sqlx::{Connection, PgConnection};

/// The migrations this build carries, as the store applies them.
fn migrations() -> usize {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../common/migrations/postgres");
    std::fs::read_dir(dir)
        .expect("read the migrations")
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count()
}

#[tokio::test]
async fn nodes_and_commands_started_together_migrate_once() {
    within(TEST_LIMIT, async {
        let first = TestConfig::new(Backend::Postgres).await;
        let url = first.database_url();
        let others = [TestConfig::on_postgres(&url), TestConfig::on_postgres(&url)];

        // Three nodes and three commands, all on the empty database at once.
        let (one, two, three, added_one, added_two, listed) = tokio::join!(
            Server::start(&first),
            Server::start(&others[0]),
            Server::start(&others[1]),
            first.cli(&["domain", "add", "uno.example.it"], None),
            others[0].cli(&["domain", "add", "due.example.it"], None),
            others[1].cli(&["domain", "list", "--json"], None),
        );
        let (servers, commands) = ([one, two, three], [added_one, added_two, listed]);
        for command in &commands {
            command.ok();
        }
        for server in &servers {
            let log = server.log();
            assert!(!log.contains("ERROR"), "a node logged an error:\n{log}");
        }

        let mut db = PgConnection::connect(&url).await.unwrap();
        let applied: Vec<(i64, bool)> =
            sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&mut db)
                .await
                .unwrap();
        assert_eq!(applied.len(), migrations(), "{applied:?}");
        assert!(applied.iter().all(|(_, success)| *success), "{applied:?}");
        let listed = first.cli(&["domain", "list", "--json"], None).await.json();
        assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    })
    .await;
}

/// On SQLite a server and commands started beside it on a new data
/// directory take turns to migrate it.
#[tokio::test]
async fn a_server_and_commands_started_together_on_sqlite_migrate_once() {
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        let (server, added_one, added_two, listed) = tokio::join!(
            Server::start(&config),
            config.cli(&["domain", "add", "uno.example.it"], None),
            config.cli(&["domain", "add", "due.example.it"], None),
            config.cli(&["domain", "list", "--json"], None),
        );
        for command in [added_one, added_two, listed] {
            command.ok();
        }
        let log = server.log();
        assert!(!log.contains("ERROR"), "the server logged an error:\n{log}");
        let listed = config.cli(&["domain", "list", "--json"], None).await.json();
        assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    })
    .await;
}

on_both_backends!(a_node_of_the_previous_release_starts_on_a_newer_schema);

/// The schema a newer release left: its migration recorded, and a column
/// of its own this build ignores.
async fn a_node_of_the_previous_release_starts_on_a_newer_schema(config: &TestConfig) {
    config
        .cli(&["domain", "add", "comune.example.it"], None)
        .await
        .ok();
    let store = config.open_store().await;
    let db = postino_common::store::testing::pool(&store);
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from a newer release', TRUE, $1, 1)",
    )
    .bind(vec![0u8; 48])
    .execute(db)
    .await
    .expect("record a newer migration");
    sqlx::query("ALTER TABLE domains ADD COLUMN newer_setting BIGINT NOT NULL DEFAULT 0")
        .execute(db)
        .await
        .expect("add a newer column");
    store.close().await;

    let mut server = Server::start(config).await;
    let listed = config.cli(&["domain", "list", "--json"], None).await.json();
    assert_eq!(listed[0]["name"], "comune.example.it", "{listed}");
    assert!(server.stop().await.success(), "{}", server.log());
}
