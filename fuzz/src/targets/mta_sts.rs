//! MTA-STS (RFC 8461): the policy files and `_mta-sts` records outbound
//! delivery reads from other domains.

use postino_common::mta_sts::{MAX_MAX_AGE, Policy, record_id};

use super::{Target, Violation, ensure};
use crate::corpus;

pub const POLICY: Target = Target {
    name: "mta_sts_policy",
    checks: "any file gives a policy or an error, never a panic; a policy has \
             max_age within a year, MX patterns unless its mode is none, and \
             renders to a file that parses back to it; any line read as a TXT \
             record gives no id or one of 1 to 32 letters and digits",
    dictionary: &[
        b"version: STSv1\n",
        b"mode: enforce\n",
        b"mode: testing\n",
        b"mode: none\n",
        b"mx: ",
        b"*.",
        b"mx.example.org",
        b"max_age: ",
        b"31557600",
        b"31557601",
        b"v=STSv1; id=",
        b";",
        b"\r\n",
        b"\t",
        b"\xc3\xa9",
    ],
    max_len: 4096,
    seeds,
    check: policy,
};

fn seeds() -> Vec<Vec<u8>> {
    corpus::own_seeds("mta_sts_policy")
}

fn policy(input: &[u8]) -> Result<(), Violation> {
    let text = String::from_utf8_lossy(input);
    let id = record_id(text.lines());
    ensure(
        id.as_ref().is_none_or(|id| {
            (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
        }),
        "a record id is 1 to 32 letters and digits",
        || format!("{id:?}"),
    )?;
    let Ok(policy) = Policy::parse(input) else {
        return Ok(());
    };
    ensure(
        policy.max_age <= MAX_MAX_AGE,
        "max_age within a year",
        || format!("{policy:?}"),
    )?;
    for host in text.lines() {
        policy.names(host);
    }
    let rendered = policy.render();
    let again = Policy::parse(rendered.as_bytes());
    ensure(
        again.as_ref() == Ok(&policy),
        "a rendered policy parses back",
        || format!("{policy:?} -> {rendered:?} -> {again:?}"),
    )
}
