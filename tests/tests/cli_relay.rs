//! `postino relay add|list|remove` as an operator runs them, on both store
//! backends. A refusal exits non-zero with one `postino:` line and changes
//! nothing `relay list` shows.

use postino_tests::{TestConfig, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    relay_clients_are_added_listed_and_removed,
    bad_relay_clients_are_refused
);

const COMUNE: &str = "comune.esempio.pu.it";

async fn list(config: &TestConfig) -> Value {
    config.cli(&["relay", "list", "--json"], None).await.json()
}

/// Runs `args`, which must be refused with one error line containing
/// `reason` and no change to the relay clients.
async fn refused(config: &TestConfig, args: &[&str], stdin: Option<&str>, reason: &str) {
    let before = list(config).await;
    let out = config.cli(args, stdin).await;
    let error = out.refused();
    assert!(
        error.contains(reason),
        "{args:?}: expected `{reason}` in: {error}"
    );
    assert_eq!(
        list(config).await,
        before,
        "{args:?} changed the relay clients"
    );
}

async fn relay_clients_are_added_listed_and_removed(config: &TestConfig) {
    config.cli(&["domain", "add", COMUNE], None).await.ok();
    let out = config
        .cli(
            &[
                "relay",
                "add",
                "suap",
                "--cidr",
                "10.2.0.0/16",
                "--cidr",
                "2001:db8::/32",
                "--sender-domain",
                COMUNE,
                "--rate",
                "30/min",
            ],
            None,
        )
        .await;
    assert!(out.ok().contains("added relay client suap"), "{out:#?}");
    let out = config
        .cli(
            &[
                "relay",
                "add",
                "Protocollo",
                "--password-stdin",
                "--sender-domain",
                COMUNE,
            ],
            Some("segreto-del-protocollo\n"),
        )
        .await;
    assert!(
        out.ok()
            .contains("added relay client protocollo (by password)"),
        "{out:#?}"
    );

    let clients = list(config).await;
    let summary: Vec<Value> = clients
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|c| {
            json!([
                c["name"],
                c["networks"],
                c["password"],
                c["sender_domains"],
                c["rate_per_minute"]
            ])
        })
        .collect();
    assert_eq!(
        summary,
        [
            json!(["protocollo", [], true, [COMUNE], 0]),
            json!([
                "suap",
                ["10.2.0.0/16", "2001:db8::/32"],
                false,
                [COMUNE],
                30
            ]),
        ]
    );
    let text = clients.to_string();
    assert!(
        !text.contains("argon2"),
        "no password hash in the list: {text}"
    );
    let table = config.cli(&["relay", "list"], None).await;
    assert!(table.ok().contains("30/min"), "{table:#?}");

    let out = config.cli(&["relay", "remove", "suap"], None).await;
    assert!(out.ok().contains("removed relay client suap"), "{out:#?}");
    assert_eq!(list(config).await.as_array().map(Vec::len), Some(1));
}

async fn bad_relay_clients_are_refused(config: &TestConfig) {
    config.cli(&["domain", "add", COMUNE], None).await.ok();
    config
        .cli(
            &[
                "relay",
                "add",
                "suap",
                "--cidr",
                "10.0.0.0/8",
                "--sender-domain",
                COMUNE,
            ],
            None,
        )
        .await
        .ok();
    let cases: [(&[&str], Option<&str>, &str); 8] = [
        (
            &[
                "relay",
                "add",
                "altro",
                "--cidr",
                "10.0.0.0/8",
                "--sender-domain",
                "ignoto.example",
            ],
            None,
            "domain `ignoto.example` does not exist",
        ),
        (
            &["relay", "add", "altro", "--sender-domain", COMUNE],
            None,
            "needs source networks or a password",
        ),
        (
            &["relay", "add", "altro", "--cidr", "10.0.0.0/8"],
            None,
            "at least one sender domain",
        ),
        (
            &[
                "relay",
                "add",
                "altro",
                "--cidr",
                "10.1.2.3/8",
                "--sender-domain",
                COMUNE,
            ],
            None,
            "host bits",
        ),
        (
            &[
                "relay",
                "add",
                "altro",
                "--cidr",
                "10.0.0.0/8",
                "--password-stdin",
                "--sender-domain",
                COMUNE,
            ],
            Some("segreto-del-protocollo\n"),
            "not both",
        ),
        (
            &[
                "relay",
                "add",
                "altro",
                "--password-stdin",
                "--sender-domain",
                COMUNE,
            ],
            Some("corta\n"),
            "at least 8 characters",
        ),
        (
            &[
                "relay",
                "add",
                "suap",
                "--cidr",
                "10.9.0.0/16",
                "--sender-domain",
                COMUNE,
            ],
            None,
            "relay client `suap` already exists",
        ),
        (
            &["relay", "remove", "ignoto"],
            None,
            "relay client `ignoto` does not exist",
        ),
    ];
    for (args, stdin, reason) in cases {
        refused(config, args, stdin, reason).await;
    }
    let out = config
        .cli(
            &[
                "relay",
                "add",
                "a@b",
                "--cidr",
                "10.0.0.0/8",
                "--sender-domain",
                COMUNE,
            ],
            None,
        )
        .await;
    assert!(out.refused().contains("name:"), "{out:#?}");
}
