//! `postino relay add|list|update|remove` as an operator runs them, on both store
//! backends. A refusal exits non-zero with one `postino:` line and changes
//! nothing `relay list` shows.

use postino_tests::{TestConfig, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    relay_clients_are_added_listed_and_removed,
    bad_relay_clients_are_refused,
    relay_clients_are_updated_and_audited,
    bad_relay_updates_are_refused
);

const COMUNE: &str = "comune.esempio.pu.it";
const ALTRO: &str = "altro.esempio.it";

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

/// What `relay list --json` says of the client `name`: networks, password,
/// sender domains, rate.
async fn summary(config: &TestConfig, name: &str) -> Value {
    let clients = list(config).await;
    let client = clients
        .as_array()
        .expect("a JSON array")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no client {name} in {clients}"))
        .clone();
    json!([
        client["networks"],
        client["password"],
        client["sender_domains"],
        client["rate_per_minute"]
    ])
}

/// Adds the clients the update tests change: `suap`, recognised by its
/// network, and `protocollo`, which logs in.
async fn two_clients(config: &TestConfig) {
    for domain in [COMUNE, ALTRO] {
        config.cli(&["domain", "add", domain], None).await.ok();
    }
    let suap = [
        "relay",
        "add",
        "suap",
        "--cidr",
        "10.2.0.0/16",
        "--sender-domain",
        COMUNE,
        "--rate",
        "30/min",
    ];
    config.cli(&suap, None).await.ok();
    let protocollo = [
        "relay",
        "add",
        "protocollo",
        "--password-stdin",
        "--sender-domain",
        COMUNE,
    ];
    config
        .cli(&protocollo, Some("segreto-del-protocollo\n"))
        .await
        .ok();
}

async fn relay_clients_are_updated_and_audited(config: &TestConfig) {
    two_clients(config).await;
    let out = config
        .cli(
            &[
                "relay",
                "update",
                "suap",
                "--cidr",
                "192.0.2.0/24",
                "--cidr",
                "10.3.0.0/16",
                "--sender-domain",
                ALTRO,
                "--sender-domain",
                COMUNE,
                "--rate",
                "60/min",
            ],
            None,
        )
        .await;
    assert!(
        out.ok()
            .contains("relay client suap (from 10.3.0.0/16, 192.0.2.0/24)"),
        "{out:#?}"
    );
    assert_eq!(
        summary(config, "suap").await,
        json!([["10.3.0.0/16", "192.0.2.0/24"], false, [ALTRO, COMUNE], 60])
    );
    // One option changes one thing.
    let out = config
        .cli(&["relay", "update", "suap", "--no-rate-limit"], None)
        .await;
    assert!(out.ok().contains("rate no limit"), "{out:#?}");
    assert_eq!(
        summary(config, "suap").await,
        json!([["10.3.0.0/16", "192.0.2.0/24"], false, [ALTRO, COMUNE], 0])
    );

    let out = config
        .cli(
            &["relay", "update", "protocollo", "--password-stdin"],
            Some("nuovo-segreto-del-protocollo\n"),
        )
        .await;
    assert!(
        out.ok().contains("(by password, password reset)"),
        "{out:#?}"
    );
    assert_eq!(
        summary(config, "protocollo").await,
        json!([[], true, [COMUNE], 0])
    );

    let audit = config
        .cli(&["audit", "--json", "--limit", "10"], None)
        .await;
    let text = audit.ok().to_string();
    let entries: Value = serde_json::from_str(&text).expect("JSON");
    let actions: Vec<&str> = entries
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions[..3],
        ["relay.update", "relay.update", "relay.update"],
        "{text}"
    );
    assert_eq!(entries[0]["origin"], "cli", "{text}");
    for secret in ["segreto-del-protocollo", "argon2"] {
        assert!(!text.contains(secret), "{secret} in the audit log: {text}");
    }
}

async fn bad_relay_updates_are_refused(config: &TestConfig) {
    two_clients(config).await;
    // Usage errors, from the argument parser.
    let before = list(config).await;
    for (args, reason) in [
        (
            &["relay", "update", "suap"][..],
            "required arguments were not provided",
        ),
        (
            &["relay", "update", "suap", "--rate", "0/min"],
            "is not a rate",
        ),
        (
            &["relay", "update", "suap", "--rate", "5", "--no-rate-limit"],
            "cannot be used with",
        ),
    ] {
        let out = config.cli(args, None).await;
        assert!(!out.status.success(), "{args:?}: {out:#?}");
        assert!(out.stderr.contains(reason), "{args:?}: {out:#?}");
    }
    assert_eq!(list(config).await, before);

    let cases: [(&[&str], Option<&str>, &str); 6] = [
        (
            &["relay", "update", "suap", "--cidr", "10.1.2.3/8"],
            None,
            "host bits",
        ),
        (
            &[
                "relay",
                "update",
                "suap",
                "--sender-domain",
                "ignoto.example",
            ],
            None,
            "domain `ignoto.example` does not exist",
        ),
        (
            &["relay", "update", "suap", "--password-stdin"],
            Some("segreto-del-protocollo\n"),
            "recognised by its source networks",
        ),
        (
            &["relay", "update", "protocollo", "--cidr", "10.0.0.0/8"],
            None,
            "logs in with a password",
        ),
        (
            &["relay", "update", "protocollo", "--password-stdin"],
            Some("corta\n"),
            "at least 8 characters",
        ),
        (
            &["relay", "update", "ignoto", "--rate", "5/min"],
            None,
            "relay client `ignoto` does not exist",
        ),
    ];
    for (args, stdin, reason) in cases {
        refused(config, args, stdin, reason).await;
    }
}
