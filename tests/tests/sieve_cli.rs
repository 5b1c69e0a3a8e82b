//! `postino sieve` as an operator runs it, on both store backends: scripts
//! stored from a file and from standard input and read back byte for byte,
//! one active at a time, refused when they do not compile (with their line
//! and column) or do not fit the `[sieve]` sizes, renamed and removed, and
//! every change in the audit log by the script's name, never its source.

use postino_tests::smtp::{ANNA, BRUNO, DOMAIN};
use postino_tests::{TestConfig, on_both_backends};
use serde_json::Value;

on_both_backends!(
    scripts_are_stored_listed_and_read_back,
    scripts_are_activated_renamed_and_removed,
    bad_and_oversized_scripts_are_refused,
);

/// A filter as Roundcube's managesieve plugin writes it, with a non-ASCII
/// vacation text and CRLF line ends, which must come back unchanged.
const FILTERS: &str = "# rule:[Delibere]\r\n\
require [\"fileinto\",\"vacation\"];\r\n\
if header :contains \"subject\" \"delibera\" {\r\n\
\tfileinto \"Delibere\";\r\n\
}\r\n\
vacation :days 7 :subject \"Assente\" \"Sono in ferie fino a lunedì. Per urgenze: segreteria.\";\r\n";

const KEEP: &str = "keep;\n";

async fn site(config: &TestConfig) {
    config.cli(&["domain", "add", DOMAIN], None).await.ok();
    for address in [ANNA, BRUNO] {
        config.cli(&["mailbox", "add", address], None).await.ok();
    }
}

async fn list(config: &TestConfig, address: &str) -> Vec<(String, bool, i64)> {
    let listed = config
        .cli(&["sieve", "list", address, "--json"], None)
        .await
        .json();
    listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("a name").to_string(),
                s["active"].as_bool().expect("a flag"),
                s["size"].as_i64().expect("a size"),
            )
        })
        .collect()
}

fn listed(scripts: &[(&str, bool, usize)]) -> Vec<(String, bool, i64)> {
    scripts
        .iter()
        .map(|&(name, active, size)| (name.to_string(), active, size as i64))
        .collect()
}

async fn refused(config: &TestConfig, args: &[&str], stdin: Option<&str>, reason: &str) {
    let out = config.cli(args, stdin).await;
    let error = out.refused();
    assert!(
        error.contains(reason),
        "{args:?}: expected `{reason}` in: {error}"
    );
}

/// An entry's `before` or `after`, JSON kept as text; `null` if none.
fn values(field: &Value) -> Value {
    field.as_str().map_or(Value::Null, |text| {
        serde_json::from_str(text).expect("JSON")
    })
}

/// The audit log's sieve entries, oldest first: action, target, before, after.
async fn sieve_audit(config: &TestConfig) -> Vec<(String, String, Value, Value)> {
    let log = config.cli(&["audit", "--json"], None).await.json();
    let mut entries: Vec<_> = log
        .as_array()
        .expect("a list")
        .iter()
        .filter(|e| {
            e["action"]
                .as_str()
                .is_some_and(|a| a.starts_with("sieve."))
        })
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_string(),
                e["target"].as_str().unwrap_or_default().to_string(),
                values(&e["before"]),
                values(&e["after"]),
            )
        })
        .collect();
    entries.reverse();
    entries
}

async fn scripts_are_stored_listed_and_read_back(config: &TestConfig) {
    site(config).await;
    let file = config.dir().join("filtri.sieve");
    std::fs::write(&file, FILTERS).expect("write the script");
    let path = file.to_str().expect("a UTF-8 path");
    let out = config
        .cli(&["sieve", "put", ANNA, "filtri", path], None)
        .await;
    assert!(out.ok().contains("stored sieve script filtri"), "{out:#?}");
    config
        .cli(&["sieve", "put", ANNA, "vuoto", "-"], Some(KEEP))
        .await
        .ok();
    assert_eq!(
        list(config, ANNA).await,
        listed(&[
            ("filtri", false, FILTERS.len()),
            ("vuoto", false, KEEP.len())
        ])
    );
    assert!(list(config, BRUNO).await.is_empty());

    let got = config.cli(&["sieve", "get", ANNA, "filtri"], None).await;
    assert_eq!(got.ok(), FILTERS);
    let got = config.cli(&["sieve", "get", ANNA, "vuoto"], None).await;
    assert_eq!(got.ok(), KEEP);
    refused(
        config,
        &["sieve", "get", BRUNO, "filtri"],
        None,
        "sieve script `filtri` does not exist",
    )
    .await;
    refused(
        config,
        &["sieve", "list", "nessuno@altro.esempio.it"],
        None,
        "does not exist",
    )
    .await;

    // Storing again replaces the source, under the same name.
    config
        .cli(&["sieve", "put", ANNA, "filtri", "-"], Some(KEEP))
        .await
        .ok();
    let got = config.cli(&["sieve", "get", ANNA, "filtri"], None).await;
    assert_eq!(got.ok(), KEEP);
    let table = config.cli(&["sieve", "list", ANNA], None).await;
    assert!(table.ok().starts_with("SCRIPT"), "{table:#?}");

    let audit = sieve_audit(config).await;
    let actions: Vec<_> = audit
        .iter()
        .map(|(a, t, ..)| (a.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("sieve.put", ANNA),
            ("sieve.put", ANNA),
            ("sieve.put", ANNA)
        ]
    );
    assert_eq!(audit[0].3["name"], "filtri");
    assert_eq!(audit[0].3["size"], FILTERS.len());
    let whole = config.cli(&["audit", "--json"], None).await;
    assert!(!whole.ok().contains("Delibere"), "the source is audited");
}

async fn scripts_are_activated_renamed_and_removed(config: &TestConfig) {
    site(config).await;
    config
        .cli(
            &["sieve", "put", ANNA, "filtri", "-", "--activate"],
            Some(FILTERS),
        )
        .await
        .ok();
    config
        .cli(&["sieve", "put", ANNA, "riserva", "-"], Some(KEEP))
        .await
        .ok();
    assert_eq!(
        list(config, ANNA).await,
        listed(&[
            ("filtri", true, FILTERS.len()),
            ("riserva", false, KEEP.len())
        ])
    );

    // One active at a time; the active one cannot be removed.
    config
        .cli(&["sieve", "activate", ANNA, "riserva"], None)
        .await
        .ok();
    assert_eq!(
        list(config, ANNA).await,
        listed(&[
            ("filtri", false, FILTERS.len()),
            ("riserva", true, KEEP.len())
        ])
    );
    refused(
        config,
        &["sieve", "remove", ANNA, "riserva"],
        None,
        "is active; deactivate it first",
    )
    .await;
    refused(
        config,
        &["sieve", "activate", ANNA, "nessuno"],
        None,
        "sieve script `nessuno` does not exist",
    )
    .await;

    // Renaming keeps it active; a taken or bad name is refused.
    config
        .cli(&["sieve", "rename", ANNA, "riserva", "ferie"], None)
        .await
        .ok();
    refused(
        config,
        &["sieve", "rename", ANNA, "ferie", "filtri"],
        None,
        "already exists",
    )
    .await;
    refused(
        config,
        &["sieve", "rename", ANNA, "ferie", "a/b"],
        None,
        "must not contain `/`",
    )
    .await;
    config.cli(&["sieve", "deactivate", ANNA], None).await.ok();
    assert_eq!(
        list(config, ANNA).await,
        listed(&[
            ("ferie", false, KEEP.len()),
            ("filtri", false, FILTERS.len())
        ])
    );
    config
        .cli(&["sieve", "remove", ANNA, "ferie"], None)
        .await
        .ok();
    assert_eq!(
        list(config, ANNA).await,
        listed(&[("filtri", false, FILTERS.len())])
    );

    let audit = sieve_audit(config).await;
    let actions: Vec<_> = audit.iter().map(|(a, ..)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "sieve.put",
            "sieve.activate",
            "sieve.put",
            "sieve.activate",
            "sieve.rename",
            "sieve.deactivate",
            "sieve.remove",
        ]
    );
    let names = |v: &Value| v["name"].as_str().map(str::to_string);
    let changes: Vec<_> = audit
        .iter()
        .map(|(_, _, before, after)| (names(before), names(after)))
        .collect();
    let some = |name: &str| Some(name.to_string());
    assert_eq!(changes[1], (None, some("filtri")));
    assert_eq!(changes[3], (some("filtri"), some("riserva")));
    assert_eq!(changes[4], (some("riserva"), some("ferie")));
    assert_eq!(changes[5], (some("ferie"), None));
    assert_eq!(changes[6], (some("ferie"), None));
}

async fn bad_and_oversized_scripts_are_refused(config: &TestConfig) {
    config.set("sieve", "max_script_size = \"300B\"");
    config.set("sieve", "max_scripts_size = \"400B\"");
    site(config).await;
    let broken = "require \"fileinto\";\nif true {\n  fileinot \"Junk\";\n}\n";
    refused(
        config,
        &["sieve", "put", ANNA, "rotto", "-"],
        Some(broken),
        "postino: rotto:3:3: ",
    )
    .await;
    // An extension used without its require is found too.
    refused(
        config,
        &["sieve", "put", ANNA, "rotto", "-"],
        Some("if true {\n    fileinto \"Junk\";\n}\n"),
        "postino: rotto:2:5: ",
    )
    .await;
    let big = format!("# {}\nkeep;\n", "x".repeat(300));
    refused(
        config,
        &["sieve", "put", ANNA, "grande", "-"],
        Some(&big),
        "is larger than 300B (sieve.max_script_size)",
    )
    .await;
    refused(
        config,
        &["sieve", "put", ANNA, "", "-"],
        Some(KEEP),
        "must not be empty",
    )
    .await;

    // Two scripts of 250 bytes do not fit in 400 together.
    let half = format!("# {}\nkeep;\n", "x".repeat(240));
    config
        .cli(&["sieve", "put", ANNA, "uno", "-"], Some(&half))
        .await
        .ok();
    refused(
        config,
        &["sieve", "put", ANNA, "due", "-"],
        Some(&half),
        "over their limit of 400",
    )
    .await;
    // Another mailbox has room of its own.
    config
        .cli(&["sieve", "put", BRUNO, "due", "-"], Some(&half))
        .await
        .ok();
    assert_eq!(
        list(config, ANNA).await,
        listed(&[("uno", false, half.len())])
    );
    let audit = sieve_audit(config).await;
    assert_eq!(audit.len(), 2, "{audit:?}");
}
