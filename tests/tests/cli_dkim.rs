//! DKIM key management and the DNS records of a domain, as an operator
//! runs them: `postino dkim generate|list|rotate` and `postino dns`, on
//! both store backends.
//!
//! The records `postino dns` prints are parsed as a zone file would be,
//! and the DKIM keys in them must be the ones `dkim list` shows. Every
//! refusal is a non-zero exit with one `postino: ...` line and changes
//! nothing the list commands show.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use postino_tests::{Output, TestConfig, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    keys_are_generated_listed_and_published,
    rotation_keeps_old_keys_published_for_the_grace_period,
    refusals_change_nothing,
    removing_a_domain_removes_its_keys,
);

const COMUNE: &str = "comune.esempio.pu.it";
const ALTRO: &str = "altro.esempio.it";
/// The `hostname` of every [`TestConfig`].
const HOSTNAME: &str = "mx.postino.test";

struct Operator<'c>(&'c TestConfig);

impl Operator<'_> {
    async fn cli(&self, line: &str) -> Output {
        let args: Vec<&str> = line.split_whitespace().collect();
        self.0.cli(&args, None).await
    }

    async fn run(&self, line: &str) -> String {
        self.cli(line).await.ok().to_string()
    }

    async fn json(&self, line: &str) -> Value {
        self.cli(line).await.json()
    }

    /// Every key and domain, as the list commands show them.
    async fn state(&self) -> Value {
        json!({
            "domains": self.json("domain list --json").await,
            "keys": self.json("dkim list --json").await,
        })
    }

    /// Runs a command that must be refused with one error line containing
    /// `reason`, and checks that it changed nothing.
    async fn refused(&self, line: &str, reason: &str) {
        let before = self.state().await;
        let out = self.cli(line).await;
        let error = out.refused();
        assert!(
            error.contains(reason),
            "`{line}`: expected `{reason}` in: {error}"
        );
        assert_eq!(self.state().await, before, "`{line}` changed the store");
    }

    /// `dkim list DOMAIN --json` as an array.
    async fn keys(&self, domain: &str) -> Vec<Value> {
        let list = self.json(&format!("dkim list {domain} --json")).await;
        list.as_array()
            .unwrap_or_else(|| panic!("not an array: {list}"))
            .clone()
    }

    async fn zone(&self, domain: &str) -> Zone {
        Zone::parse(&self.run(&format!("dns {domain}")).await)
    }
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

fn texts<'v>(keys: &'v [Value], field: &str) -> Vec<&'v str> {
    keys.iter().map(|k| text(&k[field])).collect()
}

/// One record of `postino dns`: `NAME. IN TYPE DATA`, after a `; comment`.
#[derive(Debug, Clone)]
struct Record {
    name: String,
    kind: String,
    data: String,
    comment: String,
}

impl Record {
    /// The character-strings of a TXT record, unquoted.
    fn strings(&self) -> Vec<String> {
        assert_eq!(self.kind, "TXT", "{self:?}");
        let mut strings = Vec::new();
        let mut rest = self.data.as_str();
        while let Some(start) = rest.find('"') {
            let after = &rest[start + 1..];
            let end = after
                .find('"')
                .unwrap_or_else(|| panic!("unterminated string: {self:?}"));
            strings.push(after[..end].to_string());
            rest = &after[end + 1..];
        }
        assert!(rest.trim().is_empty(), "text after the strings: {self:?}");
        strings
    }

    /// The TXT value as a receiver sees it: the strings joined.
    fn txt(&self) -> String {
        self.strings().concat()
    }

    /// The tags of a DKIM key record.
    fn tags(&self) -> BTreeMap<String, String> {
        self.txt()
            .split(';')
            .filter(|t| !t.trim().is_empty())
            .map(|t| {
                let (k, v) = t
                    .split_once('=')
                    .unwrap_or_else(|| panic!("not a tag: {t:?}"));
                (k.trim().to_string(), v.trim().to_string())
            })
            .collect()
    }
}

/// The records of `postino dns`, parsed as zone-file lines.
#[derive(Debug)]
struct Zone(Vec<Record>);

impl Zone {
    fn parse(output: &str) -> Zone {
        let mut records = Vec::new();
        let mut comment = None;
        for line in output.lines().filter(|l| !l.trim().is_empty()) {
            if let Some(text) = line.strip_prefix("; ") {
                comment = Some(text.to_string());
                continue;
            }
            let mut fields = line.splitn(4, ' ');
            let (Some(name), Some("IN"), Some(kind), Some(data)) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                panic!("not a zone-file record: {line:?}");
            };
            let name = name
                .strip_suffix('.')
                .unwrap_or_else(|| panic!("owner name not fully qualified: {line:?}"));
            records.push(Record {
                name: name.to_string(),
                kind: kind.to_string(),
                data: data.to_string(),
                comment: comment
                    .take()
                    .unwrap_or_else(|| panic!("record without comment: {line:?}")),
            });
        }
        Zone(records)
    }

    /// The one record of `name` and `kind`.
    fn one(&self, name: &str, kind: &str) -> &Record {
        let found: Vec<&Record> = self
            .0
            .iter()
            .filter(|r| r.name == name && r.kind == kind)
            .collect();
        assert_eq!(found.len(), 1, "not one {name} {kind} in {self:#?}");
        found[0]
    }

    /// The DKIM key records, by selector.
    fn dkim(&self, domain: &str) -> BTreeMap<String, &Record> {
        let suffix = format!("._domainkey.{domain}");
        self.0
            .iter()
            .filter_map(|r| {
                let selector = r.name.strip_suffix(&suffix)?;
                assert_eq!(r.kind, "TXT", "{r:?}");
                Some((selector.to_string(), r))
            })
            .collect()
    }
}

/// Checks that the zone publishes exactly `keys` (from `dkim list --json`),
/// each with its own public key.
fn assert_publishes(zone: &Zone, domain: &str, keys: &[&Value]) {
    let records = zone.dkim(domain);
    let selectors: Vec<&str> = keys.iter().map(|k| text(&k["selector"])).collect();
    let mut expected = selectors.clone();
    expected.sort_unstable();
    assert_eq!(
        records.keys().map(String::as_str).collect::<Vec<_>>(),
        expected,
        "{zone:#?}"
    );
    for key in keys {
        let record = records[text(&key["selector"])];
        let tags = record.tags();
        assert_eq!(tags["v"], "DKIM1", "{record:?}");
        let (k, raw_len) = match text(&key["algorithm"]) {
            // A 2048-bit SubjectPublicKeyInfo, in two strings.
            "rsa-sha256" => ("rsa", 294),
            "ed25519-sha256" => ("ed25519", 32),
            other => panic!("unknown algorithm {other}"),
        };
        assert_eq!(tags["k"], k, "{record:?}");
        assert_eq!(tags["p"], text(&key["public_key"]), "{record:?}");
        let raw = STANDARD.decode(&tags["p"]).expect("p= is base64");
        assert_eq!(raw.len(), raw_len, "{record:?}");
        let strings = record.strings();
        assert!(strings.iter().all(|s| s.len() <= 255), "{record:?}");
        if k == "rsa" {
            assert_eq!(strings.len(), 2, "{record:?}");
        }
    }
}

/// Reads one column of the `dkim_keys` table, and the audit log, directly.
async fn stored(config: &TestConfig) -> (Vec<String>, Vec<String>) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&config.database_url())
        .await
        .expect("connect to the store");
    let keys: Vec<String> = sqlx::query_scalar("SELECT private_key FROM dkim_keys ORDER BY id")
        .fetch_all(&pool)
        .await
        .expect("read dkim_keys");
    let audit: Vec<String> = sqlx::query_scalar(
        "SELECT action || ' ' || COALESCE(before, '') || ' ' || COALESCE(after, '') \
         FROM audit_log ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .expect("read audit_log");
    pool.close().await;
    (keys, audit)
}

async fn keys_are_generated_listed_and_published(config: &TestConfig) {
    let op = Operator(config);
    op.run(&format!("domain add {COMUNE}")).await;
    op.run(&format!("domain add {ALTRO}")).await;

    let out = op.run(&format!("dkim generate {COMUNE}")).await;
    assert!(out.contains("generated rsa-sha256 key"), "{out}");
    assert!(out.contains("generated ed25519-sha256 key"), "{out}");
    assert!(out.contains(&format!("postino dns {COMUNE}")), "{out}");
    let keys = op.keys(COMUNE).await;
    assert_eq!(texts(&keys, "algorithm"), ["rsa-sha256", "ed25519-sha256"]);
    assert_eq!(texts(&keys, "state"), ["active", "active"]);
    assert_eq!(texts(&keys, "domain"), [COMUNE, COMUNE]);
    // Default selectors: the date, then the algorithm.
    let selectors = texts(&keys, "selector");
    for (selector, suffix) in selectors.iter().zip(["-rsa", "-ed"]) {
        let date = selector
            .strip_suffix(suffix)
            .unwrap_or_else(|| panic!("selector {selector}"));
        assert!(
            date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()),
            "{selector}"
        );
    }
    for key in &keys {
        assert_eq!(key["retire_at"], Value::Null, "{key}");
        let fields: Vec<&String> = key.as_object().expect("an object").keys().collect();
        assert!(
            !fields.iter().any(|f| f.contains("private")),
            "private key listed: {key}"
        );
    }

    let out = op
        .run(&format!(
            "dkim generate {ALTRO} --algorithm ed25519 --selector Posta2025"
        ))
        .await;
    assert!(out.contains("key posta2025 for"), "{out}");
    let all = op.json("dkim list --json").await;
    let all = all.as_array().expect("an array");
    assert_eq!(texts(all, "domain"), [ALTRO, COMUNE, COMUNE]);
    assert_eq!(texts(&op.keys(ALTRO).await, "selector"), ["posta2025"]);
    let table = op.run("dkim list").await;
    for selector in ["posta2025", selectors[0], selectors[1]] {
        assert!(table.contains(selector), "{table}");
    }

    let zone = op.zone(COMUNE).await;
    assert_eq!(zone.one(COMUNE, "MX").data, format!("10 {HOSTNAME}."));
    assert_eq!(zone.one(COMUNE, "TXT").txt(), "v=spf1 mx -all");
    assert_eq!(
        zone.one(&format!("_dmarc.{COMUNE}"), "TXT").txt(),
        format!("v=DMARC1; p=quarantine; rua=mailto:postmaster@{COMUNE}")
    );
    for prefix in ["autoconfig", "autodiscover"] {
        let cname = zone.one(&format!("{prefix}.{COMUNE}"), "CNAME");
        assert_eq!(cname.data, format!("{HOSTNAME}."));
    }
    // POP3 after IMAP: a larger priority number (RFC 6186 §3.4).
    for (service, priority, port) in [
        ("_imaps._tcp", 0, 993),
        ("_pop3s._tcp", 10, 995),
        ("_pop3._tcp", 10, 110),
        ("_submissions._tcp", 0, 465),
        ("_submission._tcp", 0, 587),
        ("_sieve._tcp", 0, 4190),
    ] {
        let srv = zone.one(&format!("{service}.{COMUNE}"), "SRV");
        assert_eq!(srv.data, format!("{priority} 1 {port} {HOSTNAME}."));
    }
    // MTA-STS: a record whose id changes with the policy, the policy's
    // host, and where TLS reports go.
    let mta_sts = zone.one(&format!("_mta-sts.{COMUNE}"), "TXT").txt();
    assert!(mta_sts.starts_with("v=STSv1; id="), "{mta_sts}");
    let cname = zone.one(&format!("mta-sts.{COMUNE}"), "CNAME");
    assert_eq!(cname.data, format!("{HOSTNAME}."));
    assert_eq!(
        zone.one(&format!("_smtp._tls.{COMUNE}"), "TXT").txt(),
        format!("v=TLSRPTv1; rua=mailto:postmaster@{COMUNE}")
    );
    op.run(&format!("domain update {COMUNE} --mta-sts enforce"))
        .await;
    let enforced = op.zone(COMUNE).await;
    let enforced = enforced.one(&format!("_mta-sts.{COMUNE}"), "TXT").txt();
    assert_ne!(enforced, mta_sts, "a new policy, a new id");
    assert_publishes(&zone, COMUNE, &keys.iter().collect::<Vec<_>>());
    assert_eq!(zone.0.len(), 2 + 2 + 1 + 3 + 2 + 6, "{zone:#?}");
    // Another domain's key is not in this zone, and the other way round.
    assert!(zone.dkim(ALTRO).is_empty());
    let altro = op.zone(ALTRO).await;
    assert_publishes(
        &altro,
        ALTRO,
        &op.keys(ALTRO).await.iter().collect::<Vec<_>>(),
    );

    // The same records as JSON.
    let records = op.json(&format!("dns {COMUNE} --json")).await;
    let records = records.as_array().expect("an array");
    assert_eq!(records.len(), zone.0.len());
    assert_eq!(records[0]["type"], "MX");

    // The private keys are stored as PKCS#8 PEM, and never audited.
    let (private_keys, audit) = stored(config).await;
    assert_eq!(private_keys.len(), 3);
    for pem in &private_keys {
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
        assert!(pem.trim_end().ends_with("-----END PRIVATE KEY-----"));
    }
    let generated: Vec<&String> = audit
        .iter()
        .filter(|e| e.starts_with("dkim.generate "))
        .collect();
    assert_eq!(generated.len(), 2, "{audit:#?}");
    assert!(generated[0].contains(selectors[0]), "{audit:#?}");
    assert!(
        audit.iter().all(|e| !e.contains("PRIVATE KEY")),
        "{audit:#?}"
    );
}

async fn rotation_keeps_old_keys_published_for_the_grace_period(config: &TestConfig) {
    let op = Operator(config);
    op.run(&format!("domain add {COMUNE}")).await;
    op.run(&format!("dkim generate {COMUNE}")).await;
    let first = op.keys(COMUNE).await;

    let out = op.run(&format!("dkim rotate {COMUNE} --grace 2d")).await;
    assert!(out.contains("keep it published until"), "{out}");
    let keys = op.keys(COMUNE).await;
    assert_eq!(
        texts(&keys, "state"),
        ["retiring", "retiring", "active", "active"]
    );
    assert_eq!(keys[..2].len(), first.len());
    for (old, was) in keys[..2].iter().zip(&first) {
        assert_eq!(old["selector"], was["selector"]);
        assert_eq!(old["public_key"], was["public_key"]);
        let created = old["created_at"].as_i64().expect("a time");
        let retire_at = old["retire_at"]
            .as_i64()
            .expect("a retiring key has retire_at");
        // Two days from the rotation, which came after the generation.
        assert!(
            (created + 2 * 86_400..created + 2 * 86_400 + 120).contains(&retire_at),
            "{old}"
        );
    }
    // New selectors on the same day, new keys of the same algorithms.
    for (new, old) in keys[2..].iter().zip(&first) {
        assert_eq!(
            text(&new["selector"]),
            format!("{}-2", text(&old["selector"]))
        );
        assert_eq!(new["algorithm"], old["algorithm"]);
        assert_ne!(new["public_key"], old["public_key"]);
    }
    // Both generations are published; the old ones say until when.
    let zone = op.zone(COMUNE).await;
    assert_publishes(&zone, COMUNE, &keys.iter().collect::<Vec<_>>());
    let records = zone.dkim(COMUNE);
    for old in &keys[..2] {
        let comment = &records[text(&old["selector"])].comment;
        assert!(comment.contains("retiring"), "{comment}");
        assert!(comment.contains("until"), "{comment}");
    }
    for new in &keys[2..] {
        let comment = &records[text(&new["selector"])].comment;
        assert!(comment.contains("signing"), "{comment}");
    }

    // With no grace, the replaced keys leave DNS at once...
    op.run(&format!("dkim rotate {COMUNE} --grace 0s")).await;
    let keys = op.keys(COMUNE).await;
    assert_eq!(
        texts(&keys, "state"),
        [
            "retiring", "retiring", "retiring", "retiring", "active", "active"
        ]
    );
    let zone = op.zone(COMUNE).await;
    let published: Vec<&Value> = [0, 1, 4, 5].iter().map(|&i| &keys[i]).collect();
    assert_publishes(&zone, COMUNE, &published);
    // ...and the next key change retires them; the first ones still wait.
    op.run(&format!("dkim rotate {COMUNE}")).await;
    let keys = op.keys(COMUNE).await;
    assert_eq!(
        texts(&keys, "state"),
        [
            "retiring", "retiring", "retired", "retired", "retiring", "retiring", "active",
            "active"
        ]
    );
    // The default grace is a week.
    let week = keys[4]["retire_at"].as_i64().expect("a time")
        - keys[6]["created_at"].as_i64().expect("a time");
    assert!((7 * 86_400 - 60..=7 * 86_400).contains(&week), "{week}");
    let (_, audit) = stored(config).await;
    let actions: Vec<&str> = audit
        .iter()
        .filter_map(|e| e.split(' ').next())
        .filter(|a| a.starts_with("dkim."))
        .collect();
    assert_eq!(
        actions,
        [
            "dkim.generate",
            "dkim.rotate",
            "dkim.rotate",
            "dkim.retire",
            "dkim.rotate"
        ]
    );
}

async fn refusals_change_nothing(config: &TestConfig) {
    let op = Operator(config);
    op.run(&format!("domain add {COMUNE}")).await;
    op.run(&format!("domain add {ALTRO}")).await;

    let unknown = "domain `sconosciuto.it` does not exist";
    op.refused("dkim generate sconosciuto.it", unknown).await;
    op.refused("dkim rotate sconosciuto.it", unknown).await;
    op.refused("dkim list sconosciuto.it", unknown).await;
    op.refused("dns sconosciuto.it", unknown).await;
    op.refused("dkim generate comune_esempio.it", "not a valid domain name")
        .await;
    op.refused(
        &format!("dkim generate {COMUNE} --algorithm dsa"),
        "algorithm: `dsa` is not one of rsa, ed25519, both",
    )
    .await;
    op.refused(
        &format!("dkim generate {COMUNE} --algorithm rsa --selector cattivo_selettore"),
        "not a valid selector",
    )
    .await;
    op.refused(
        &format!("dkim generate {COMUNE} --selector uno"),
        "a selector names one key",
    )
    .await;
    op.refused(&format!("dkim rotate {COMUNE}"), "no active DKIM key")
        .await;

    op.run(&format!("dkim generate {COMUNE}")).await;
    op.refused(&format!("dkim generate {COMUNE}"), "rotate it instead")
        .await;
    op.refused(
        &format!("dkim generate {COMUNE} --algorithm ed25519"),
        "already has an active ed25519-sha256 key",
    )
    .await;
    op.run(&format!(
        "dkim generate {ALTRO} --algorithm ed25519 --selector uno"
    ))
    .await;
    op.refused(
        &format!("dkim generate {ALTRO} --algorithm rsa --selector UNO"),
        "DKIM selector `uno` already exists",
    )
    .await;

    // A grace that is not a duration is refused by the argument parser.
    let before = op.state().await;
    let out = op
        .cli(&format!("dkim rotate {COMUNE} --grace 3parsecs"))
        .await;
    assert!(!out.status.success(), "{out:#?}");
    assert_eq!(op.state().await, before);
}

async fn removing_a_domain_removes_its_keys(config: &TestConfig) {
    let op = Operator(config);
    op.run(&format!("domain add {COMUNE}")).await;
    op.run(&format!("domain add {ALTRO}")).await;
    op.run(&format!("dkim generate {COMUNE}")).await;
    op.run(&format!("dkim rotate {COMUNE}")).await;
    op.run(&format!("dkim generate {ALTRO} --algorithm rsa"))
        .await;

    op.run(&format!("domain remove {COMUNE}")).await;
    let left = op.json("dkim list --json").await;
    assert_eq!(texts(left.as_array().expect("an array"), "domain"), [ALTRO]);
    let (private_keys, _) = stored(config).await;
    assert_eq!(private_keys.len(), 1);

    // The name comes back without keys, and its zone has none.
    op.run(&format!("domain add {COMUNE}")).await;
    assert!(op.keys(COMUNE).await.is_empty());
    assert!(op.zone(COMUNE).await.dkim(COMUNE).is_empty());
    op.run(&format!("dkim generate {COMUNE}")).await;
    assert_eq!(op.keys(COMUNE).await.len(), 2);
}
