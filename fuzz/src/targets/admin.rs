//! The admin HTTP service: the Autodiscover request body and the JSON
//! request bodies of the API.

use postino_admin::fuzzing::{autodiscover_request, request_bodies};
use postino_common::address::Address;

use super::{Target, Violation, ensure};
use crate::corpus;

pub const AUTODISCOVER: Target = Target {
    name: "autodiscover_xml",
    checks: "any body gives an address or a 400, never a panic; the address \
             found came from between <EMailAddress> tags and reads back as itself",
    dictionary: &[
        b"<EMailAddress>",
        b"</EMailAddress>",
        b"<?xml version=\"1.0\" encoding=\"utf-8\"?>",
        b"<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\">",
        b"<Request>",
        b"</Request>",
        b"@",
        b"comune.esempio.pu.it",
        b"\xc3\xa9",
        b"xn--",
        b" ",
        b"\0",
    ],
    max_len: 4096,
    seeds: autodiscover_seeds,
    check: autodiscover,
};

pub const JSON: Target = Target {
    name: "http_json",
    checks: "any body parsed as each API request type gives a value or a \
             400/422 refusal, never a panic or another status",
    dictionary: &[
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"",
        b":",
        b",",
        b"null",
        b"true",
        b"-1",
        b"1e999",
        b"18446744073709551616",
        b"\"\\u0000\"",
        b"\"\\ud800\"",
        b"\"name\":",
        b"\"password\":\"",
        b"\"quota_bytes\":",
        b"\"targets\":[",
        b"\"networks\":[\"10.0.0.0/8\"]",
        b"\"algorithm\":\"ed25519\"",
        b"\"grace_seconds\":",
        b"\"unknown\":1",
    ],
    max_len: 4096,
    seeds: json_seeds,
    check: json,
};

fn autodiscover_seeds() -> Vec<Vec<u8>> {
    corpus::own_seeds("autodiscover_xml")
}

fn json_seeds() -> Vec<Vec<u8>> {
    corpus::own_seeds("http_json")
}

fn autodiscover(input: &[u8]) -> Result<(), Violation> {
    let Some(address) = autodiscover_request(input) else {
        return Ok(());
    };
    let body = String::from_utf8_lossy(input);
    ensure(
        body.contains("<EMailAddress>"),
        "an address from no <EMailAddress>",
        || format!("{address:?} from {body:?}"),
    )?;
    let again = address.parse::<Address>().map(|a| a.to_string());
    ensure(
        again.as_ref() == Ok(&address),
        "an address that does not read back",
        || format!("{address:?} read back as {again:?}"),
    )
}

fn json(input: &[u8]) -> Result<(), Violation> {
    for (name, result) in request_bodies(input) {
        if let Err(status) = result {
            ensure(
                status == 400 || status == 422,
                "a body refused with another status",
                || format!("{name}: {status}"),
            )?;
        }
    }
    Ok(())
}
