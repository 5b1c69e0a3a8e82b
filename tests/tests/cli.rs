//! The management commands (`postino domain|mailbox|alias|admin ...`) as an
//! operator runs them, on both store backends.
//!
//! Every refusal is checked the same way: a non-zero exit, one error line
//! `postino: ...` saying why, and no change to anything the list commands
//! show.

use postino_tests::{Output, TestConfig, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    domains,
    mailboxes,
    aliases,
    alias_to_a_missing_mailbox_is_refused_despite_a_catch_all,
    admins,
);

const COMUNE: &str = "comune.esempio.pu.it";
const ALTRO: &str = "altro.esempio.it";
const PASSWORD: Option<&str> = Some("password-robusta\n");
const SHORT_PASSWORD: Option<&str> = Some("corta\n");

/// Runs command lines against one configuration. A line is split at spaces;
/// an argument with a space in it goes through [`TestConfig::cli`].
struct Operator<'c>(&'c TestConfig);

impl Operator<'_> {
    async fn cli(&self, line: &str, stdin: Option<&str>) -> Output {
        let args: Vec<&str> = line.split_whitespace().collect();
        self.0.cli(&args, stdin).await
    }

    /// Runs a command that must succeed, and returns its output.
    async fn run(&self, line: &str) -> String {
        self.run_with(line, None).await
    }

    async fn run_with(&self, line: &str, stdin: Option<&str>) -> String {
        self.cli(line, stdin).await.ok().to_string()
    }

    async fn json(&self, line: &str) -> Value {
        self.cli(line, None).await.json()
    }

    /// Everything the list commands show.
    async fn state(&self) -> Value {
        json!({
            "domains": self.json("domain list --json").await,
            "mailboxes": self.json("mailbox list --json").await,
            "aliases": self.json("alias list --json").await,
        })
    }

    /// Runs a command that must fail, and checks that it changed nothing.
    async fn fails(&self, line: &str, stdin: Option<&str>) -> Output {
        let before = self.state().await;
        let out = self.cli(line, stdin).await;
        assert!(!out.status.success(), "`{line}` succeeded: {out:#?}");
        assert_eq!(self.state().await, before, "`{line}` changed the store");
        out
    }

    /// Runs a command that must be refused with one error line containing
    /// `reason`, and checks that it changed nothing.
    async fn refused(&self, line: &str, reason: &str) {
        self.refused_with(line, None, reason).await;
    }

    async fn refused_with(&self, line: &str, stdin: Option<&str>, reason: &str) {
        let out = self.fails(line, stdin).await;
        let error = out.refused();
        assert!(
            error.contains(reason),
            "`{line}`: expected `{reason}` in: {error}"
        );
    }
}

/// The values of `field` in a JSON array of objects.
fn field(list: &Value, field: &str) -> Vec<Value> {
    let items = list
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"));
    items.iter().map(|item| item[field].clone()).collect()
}

/// The `source -> target` pairs of a list of aliases.
fn alias_pairs(list: &Value) -> Vec<String> {
    let items = list
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"));
    let text = |v: &Value| {
        v.as_str()
            .unwrap_or_else(|| panic!("not a string: {v}"))
            .to_string()
    };
    items
        .iter()
        .map(|a| format!("{} -> {}", text(&a["source"]), text(&a["target"])))
        .collect()
}

async fn domains(config: &TestConfig) {
    let op = Operator(config);
    let out = op
        .run(&format!(
            "domain add {COMUNE} --quota 10GB --max-mailboxes 2"
        ))
        .await;
    assert_eq!(out.trim(), format!("added domain {COMUNE}"));
    // Names are stored in lowercase.
    let out = op.run("domain add Altro.Esempio.IT").await;
    assert_eq!(out.trim(), format!("added domain {ALTRO}"));

    let list = op.json("domain list --json").await;
    assert_eq!(field(&list, "name"), [json!(ALTRO), json!(COMUNE)]);
    assert_eq!(
        field(&list, "quota_bytes"),
        [json!(0), json!(10_000_000_000_u64)]
    );
    assert_eq!(field(&list, "max_mailboxes"), [json!(0), json!(2)]);
    assert_eq!(field(&list, "mailboxes"), [json!(0), json!(0)]);
    assert_eq!(field(&list, "active"), [json!(true), json!(true)]);
    let table = op.run("domain list").await;
    assert!(table.contains(COMUNE) && table.contains(ALTRO), "{table}");

    let shown = op.json(&format!("domain show {COMUNE} --json")).await;
    assert_eq!(shown["name"], COMUNE);
    assert_eq!(shown["quota_bytes"], 10_000_000_000_u64);
    assert_eq!(shown["accounts"], json!([]));
    assert_eq!(shown["aliases"], json!([]));

    op.refused("domain add comune_esempio.it", "not a valid domain name")
        .await;
    op.refused("domain add localhost", "not a valid domain name")
        .await;
    op.refused(&format!("domain add {COMUNE}"), "already exists")
        .await;
    op.refused("domain add COMUNE.Esempio.PU.it", "already exists")
        .await;
    op.refused("domain show sconosciuto.it", "does not exist")
        .await;
    op.refused("domain remove sconosciuto.it", "does not exist")
        .await;

    let out = op.run(&format!("domain remove {ALTRO}")).await;
    assert!(out.contains(&format!("removed domain {ALTRO}")), "{out}");
    let list = op.json("domain list --json").await;
    assert_eq!(field(&list, "name"), [json!(COMUNE)]);

    // A domain with mailboxes goes only with --force, and takes them along.
    op.run(&format!("mailbox add protocollo@{COMUNE}")).await;
    op.run(&format!("alias add info@{COMUNE} protocollo@{COMUNE}"))
        .await;
    op.refused(&format!("domain remove {COMUNE}"), "still has 1 mailboxes")
        .await;
    let out = op.run(&format!("domain remove {COMUNE} --force")).await;
    assert!(
        out.contains(&format!("removed domain {COMUNE} (1 mailboxes)")),
        "{out}"
    );
    let empty = json!({ "domains": [], "mailboxes": [], "aliases": [] });
    assert_eq!(op.state().await, empty);
    // The name is free again.
    op.run(&format!("domain add {COMUNE}")).await;
}

async fn mailboxes(config: &TestConfig) {
    let op = Operator(config);
    op.run(&format!(
        "domain add {COMUNE} --quota 1GB --max-mailboxes 2"
    ))
    .await;
    op.run(&format!("domain add {ALTRO}")).await;
    let mario = format!("mario.rossi@{COMUNE}");
    let ufficio = format!("ufficio@{ALTRO}");

    let args = [
        "mailbox",
        "add",
        &format!("Mario.Rossi@{COMUNE}"),
        "--password-stdin",
    ];
    let options = ["--quota", "200MB", "--name", "Mario Rossi"];
    let out = config.cli(&[&args[..], &options].concat(), PASSWORD).await;
    assert_eq!(out.ok().trim(), format!("added mailbox {mario}"));
    let out = op.run(&format!("mailbox add {ufficio}")).await;
    assert!(out.contains(&format!("added mailbox {ufficio}")), "{out}");
    assert!(out.contains("no password yet"), "{out}");

    let all = op.json("mailbox list --json").await;
    assert_eq!(field(&all, "address"), [json!(mario), json!(ufficio)]);
    let comune = op.json(&format!("mailbox list {COMUNE} --json")).await;
    assert_eq!(field(&comune, "address"), [json!(mario)]);
    assert_eq!(comune[0]["display_name"], "Mario Rossi");
    assert_eq!(comune[0]["quota_bytes"], 200_000_000);
    assert_eq!(comune[0]["used_bytes"], 0);
    assert!(comune[0].get("password_hash").is_none(), "{comune}");
    let table = op.run(&format!("mailbox list {ALTRO}")).await;
    assert!(
        table.contains(&ufficio) && !table.contains(&mario),
        "{table}"
    );

    let shown = op.json(&format!("mailbox show {mario} --json")).await;
    assert_eq!(shown["address"], json!(mario));
    assert!(
        field(&shown["folders"], "name").contains(&json!("INBOX")),
        "{shown}"
    );
    assert!(
        field(&shown["folders"], "special_use").contains(&json!("\\Sent")),
        "{shown}"
    );
    let domain = op.json(&format!("domain show {COMUNE} --json")).await;
    assert_eq!(domain["mailboxes"], 1);
    assert_eq!(field(&domain["accounts"], "address"), [json!(mario)]);

    let passwd = format!("mailbox passwd {mario} --password-stdin");
    let out = op.run_with(&passwd, Some("un-altro-segreto\n")).await;
    assert_eq!(out.trim(), format!("password of {mario} changed"));
    let out = op.run(&format!("mailbox quota {mario} 500MB")).await;
    assert_eq!(out.trim(), format!("quota of {mario} is now 500MB"));
    let comune = op.json(&format!("mailbox list {COMUNE} --json")).await;
    assert_eq!(comune[0]["quota_bytes"], 500_000_000);

    let unknown = "domain `sconosciuto.it` does not exist";
    op.refused("mailbox add nessuno@sconosciuto.it", unknown)
        .await;
    let malformed = "not a valid e-mail address";
    for bad in [
        "mario.rossi",
        "@comune.esempio.pu.it",
        "a..b@comune.esempio.pu.it",
        "x@y@",
    ] {
        op.refused(&format!("mailbox add {bad}"), malformed).await;
    }
    op.refused(&format!("mailbox add {mario}"), "already exists")
        .await;
    op.refused(
        &format!("mailbox add MARIO.ROSSI@{COMUNE}"),
        "already exists",
    )
    .await;
    let add = format!("mailbox add breve@{ALTRO} --password-stdin");
    op.refused_with(&add, SHORT_PASSWORD, "at least 8 characters")
        .await;
    op.refused_with(&passwd, SHORT_PASSWORD, "at least 8 characters")
        .await;
    let missing = format!("mailbox passwd nessuno@{COMUNE} --password-stdin");
    op.refused_with(&missing, PASSWORD, "does not exist").await;
    let too_big = "more than the quota of domain";
    op.refused(&format!("mailbox add grande@{COMUNE} --quota 2GB"), too_big)
        .await;
    op.refused(&format!("mailbox quota {mario} 1001MB"), too_big)
        .await;
    op.refused(
        &format!("mailbox quota nessuno@{COMUNE} 1MB"),
        "does not exist",
    )
    .await;
    op.refused("mailbox list sconosciuto.it", "does not exist")
        .await;
    // A size clap cannot parse is clap's error, not ours: only the exit counts.
    op.fails(&format!("mailbox add x@{COMUNE} --quota 12parsecs"), None)
        .await;
    op.fails(&format!("mailbox quota {mario} 12parsecs"), None)
        .await;

    // The second mailbox fills the domain; a third is over its limit.
    op.run(&format!("mailbox add anagrafe@{COMUNE} --quota 1GB"))
        .await;
    let full = "already has its maximum of 2 mailboxes";
    op.refused(&format!("mailbox add tributi@{COMUNE}"), full)
        .await;

    let out = op.run(&format!("mailbox remove {ufficio}")).await;
    assert!(out.contains(&format!("removed mailbox {ufficio}")), "{out}");
    let all = op.json("mailbox list --json").await;
    let anagrafe = format!("anagrafe@{COMUNE}");
    assert_eq!(field(&all, "address"), [json!(anagrafe), json!(mario)]);
    op.refused(&format!("mailbox remove {ufficio}"), "does not exist")
        .await;
}

async fn aliases(config: &TestConfig) {
    let op = Operator(config);
    op.run(&format!("domain add {COMUNE}")).await;
    let protocollo = format!("protocollo@{COMUNE}");
    let sindaco = format!("sindaco@{COMUNE}");
    let info = format!("info@{COMUNE}");
    op.run(&format!("mailbox add {protocollo}")).await;
    op.run(&format!("mailbox add {sindaco}")).await;

    let out = op
        .run(&format!("alias add {info} {protocollo} {sindaco}"))
        .await;
    let added = [
        format!("{info} -> {protocollo}"),
        format!("{info} -> {sindaco}"),
    ];
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        added.map(|a| format!("added alias {a}"))
    );
    // A target outside the hosted domains is delivered remotely.
    op.run(&format!(
        "alias add Esterno@{COMUNE} qualcuno@altrove.example"
    ))
    .await;

    let missing = format!("nessuno@{COMUNE}");
    op.refused(&format!("alias add {info} {missing}"), "does not exist")
        .await;
    // All or nothing: the good target of a refused command is not added.
    let line = format!("alias add ufficio@{COMUNE} {protocollo} {missing}");
    op.refused(&line, "does not exist").await;
    let unknown = "domain `sconosciuto.it` does not exist";
    op.refused(
        &format!("alias add ufficio@sconosciuto.it {protocollo}"),
        unknown,
    )
    .await;
    let malformed = "not a valid e-mail address";
    op.refused(&format!("alias add ufficio {protocollo}"), malformed)
        .await;
    op.refused(
        &format!("alias add ufficio@{COMUNE} protocollo@"),
        malformed,
    )
    .await;
    let line = format!("alias add @sconosciuto_it {protocollo}");
    op.refused(&line, "not a valid domain name").await;
    op.refused(&format!("alias remove {missing}"), "does not exist")
        .await;

    // A catch-all takes mail for every address of the domain without a mailbox.
    op.run(&format!("alias add @{COMUNE} {protocollo}")).await;
    let expected = [
        format!("@{COMUNE} -> {protocollo}"),
        format!("esterno@{COMUNE} -> qualcuno@altrove.example"),
        format!("{info} -> {protocollo}"),
        format!("{info} -> {sindaco}"),
    ];
    assert_eq!(alias_pairs(&op.json("alias list --json").await), expected);
    let listed = op.json(&format!("alias list {COMUNE} --json")).await;
    assert_eq!(alias_pairs(&listed), expected);
    let domain = op.json(&format!("domain show {COMUNE} --json")).await;
    assert_eq!(alias_pairs(&domain["aliases"]), expected);

    // Removing one target keeps the others; removing the alias removes all.
    let out = op.run(&format!("alias remove {info} {sindaco}")).await;
    assert_eq!(out.trim(), format!("removed alias {info} -> {sindaco}"));
    op.run(&format!("alias remove esterno@{COMUNE}")).await;
    let expected = [
        format!("@{COMUNE} -> {protocollo}"),
        format!("{info} -> {protocollo}"),
    ];
    assert_eq!(alias_pairs(&op.json("alias list --json").await), expected);
}

/// The existence check on a target resolves it as mail would be delivered,
/// so a catch-all made any address of its domain pass for a mailbox.
async fn alias_to_a_missing_mailbox_is_refused_despite_a_catch_all(config: &TestConfig) {
    let op = Operator(config);
    op.run(&format!("domain add {COMUNE}")).await;
    op.run(&format!("mailbox add protocollo@{COMUNE}")).await;
    op.run(&format!("alias add @{COMUNE} protocollo@{COMUNE}"))
        .await;
    let line = format!("alias add info@{COMUNE} nessuno@{COMUNE}");
    op.refused(&line, &format!("nessuno@{COMUNE}` does not exist"))
        .await;
}

async fn admins(config: &TestConfig) {
    let op = Operator(config);
    op.run(&format!("domain add {COMUNE}")).await;
    op.run(&format!("domain add {ALTRO}")).await;

    let line = "admin add provincia --all-domains --password-stdin";
    let out = op.run_with(line, PASSWORD).await;
    assert_eq!(out.trim(), "added admin provincia (all domains)");
    op.refused_with(line, PASSWORD, "admin `provincia` already exists")
        .await;
    let line = format!("admin add sindaco --domain {COMUNE} --domain {ALTRO} --password-stdin");
    let out = op.run_with(&line, PASSWORD).await;
    assert_eq!(
        out.trim(),
        format!("added admin sindaco ({ALTRO}, {COMUNE})")
    );

    // Each refusal leaves the name free, as the last command shows.
    let scoped = "admin add segretario --password-stdin --domain";
    let line = format!("{scoped} sconosciuto.it");
    op.refused_with(&line, PASSWORD, "domain `sconosciuto.it` does not exist")
        .await;
    let line = format!("{scoped} {COMUNE} --domain non_valido");
    op.refused_with(&line, PASSWORD, "not a valid domain name")
        .await;
    let line = format!("{scoped} {COMUNE}");
    op.refused_with(&line, SHORT_PASSWORD, "at least 8 characters")
        .await;
    let line = "admin add Segretario --all-domains --password-stdin";
    op.refused_with(line, PASSWORD, "username").await;
    // Neither --all-domains nor --domain: clap refuses.
    op.fails("admin add segretario --password-stdin", PASSWORD)
        .await;
    let out = op.run_with(&format!("{scoped} {COMUNE}"), PASSWORD).await;
    assert_eq!(out.trim(), format!("added admin segretario ({COMUNE})"));
}
