//! The examples of RFC 5229 (variables) and of encoded-character
//! (RFC 5228 section 2.4.2.4).

mod common;

use common::{COYOTE, actions, compile_error, fileinto, keep, message};
use postino_sieve::Action;

fn reject(reason: &str) -> Action {
    Action::Reject {
        reason: reason.to_string(),
        extended: false,
    }
}

#[test]
fn section_3_variable_references_are_case_insensitive() {
    let script = r#"require ["variables", "reject"];
set "honorific"  "Mr";
set "first_name" "Wile";
set "last_name"  "Coyote";
set "vacation" text:
Dear ${HONORIFIC} ${last_name},
I'm out, please leave a message after the meep.
.
;
reject "${vacation}";"#;
    assert_eq!(
        actions(script, COYOTE),
        vec![reject(
            "Dear Mr Coyote,\r\nI'm out, please leave a message after the meep.\r\n"
        )]
    );
}

#[test]
fn section_3_unknown_variables_are_empty_and_bad_references_literal() {
    let script = r#"require ["variables", "reject"];
reject "[${unknown}] [${}] [${a-b}] [$${x}]";"#;
    assert_eq!(
        actions(script, COYOTE),
        vec![reject("[] [${}] [${a-b}] [$]")]
    );
}

#[test]
fn section_4_1_modifiers() {
    let cases = [
        ("set \"b\" \"${a}\";", "juMBlEd lETteRS"),
        ("set :length \"b\" \"${a}\";", "15"),
        ("set :lower \"b\" \"${a}\";", "jumbled letters"),
        ("set :upperfirst \"b\" \"${a}\";", "JuMBlEd lETteRS"),
        ("set :upperfirst :lower \"b\" \"${a}\";", "Jumbled letters"),
        ("set :quotewildcard \"b\" \"Rock*\";", "Rock\\*"),
        ("set :lowerfirst \"b\" \"ABC\";", "aBC"),
        ("set :upper :length \"b\" \"abc\";", "3"),
    ];
    for (set, expected) in cases {
        let script = format!(
            "require [\"variables\", \"reject\"];\nset \"a\" \"juMBlEd lETteRS\";\n{set}\nreject \"${{b}}\";"
        );
        assert_eq!(actions(&script, COYOTE), vec![reject(expected)], "{set}");
    }
    let e = compile_error("require \"variables\";\nset :lower :upper \"b\" \"x\";");
    assert_eq!((e.line, e.column), (2, 12));
}

#[test]
fn section_3_2_match_variables() {
    let script = r#"require ["fileinto", "variables"];

if header :matches "List-ID" "*<*@*" {
    fileinto "INBOX.lists.${2}"; stop;
}

# Imagine the header
# Subject: [acme-users] [fwd] version 1.0 is out
if header :matches "Subject" "[*] *" {
    fileinto "INBOX.lists.${1}"; stop;
}

# Imagine the header
# To: coyote@ACME.Example.COM
if address :matches ["To", "Cc"] ["coyote@**.com",
        "wile@**.com"] {
    # ${0} is the matching address
    # ${1} always holds "ACME.Example"
    # ${2} is always empty
    fileinto "INBOX.business.${1}"; stop;
} else {
    # Control wouldn't reach this block if any match was
    # successful, so no match variables are set at this
    # point.
}

if anyof (true, address :domain :matches "To" "*.com") {
    # The second test is never evaluated, so there are
    # still no match variables set.
    fileinto "INBOX.unset.${1}"; stop;
}"#;
    let list = message(&["List-ID: Sieve discussion <ietf-mta-filters@imc.org>"]);
    assert_eq!(
        actions(script, &list),
        vec![fileinto("INBOX.lists.ietf-mta-filters")]
    );
    let subject = message(&["Subject: [acme-users] [fwd] version 1.0 is out"]);
    assert_eq!(
        actions(script, &subject),
        vec![fileinto("INBOX.lists.acme-users")]
    );
    // Every wildcard but the last takes as little as it can, as the
    // "[*] *" example says, so here the first "*" is empty (the comment of
    // the RFC's own example expects the opposite).
    let to = message(&["To: coyote@ACME.Example.COM"]);
    assert_eq!(actions(script, &to), vec![fileinto("INBOX.business.")]);
    let to = message(&["To: wile@ACME.Example.COM"]);
    assert_eq!(actions(script, &to), vec![fileinto("INBOX.business.")]);
    assert_eq!(actions(script, COYOTE), vec![fileinto("INBOX.unset.")]);
}

#[test]
fn section_5_string_test() {
    let script = r#"require ["variables", "fileinto"];
set "state" "${state} pending";
if string :matches " ${state} " "* pending *" {
    # the above test always succeeds
    fileinto "pending";
}
if string :is "${state}" "" { discard; }"#;
    assert_eq!(actions(script, COYOTE), vec![fileinto("pending")]);
    let script = r#"require ["variables", "relational", "comparator-i;ascii-numeric"];
if string :count "eq" :comparator "i;ascii-numeric" ["a", "", "b"] "2" { discard; }"#;
    assert_eq!(actions(script, COYOTE), vec![]);
}

#[test]
fn variables_are_bounded() {
    let script = r#"require ["variables", "reject"];
set "a" "0123456789";
set "a" "${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}";
set "a" "${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}";
set "a" "${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}";
set :length "n" "${a}";
reject "${n}";"#;
    assert_eq!(actions(script, COYOTE), vec![reject("4096")]);
}

#[test]
fn variables_need_require() {
    let e = compile_error("set \"a\" \"b\";");
    assert_eq!((e.line, e.column), (1, 1));
    assert!(e.message.contains("require \"variables\""), "{e}");
    // Without the extension "${...}" is plain text.
    let script = "require \"reject\";\nreject \"${a}\";";
    assert_eq!(actions(script, COYOTE), vec![reject("${a}")]);
    let e = compile_error("require \"variables\";\nset \"1\" \"x\";");
    assert_eq!((e.line, e.column), (2, 5));
    let e = compile_error("require \"variables\";\nset \"a\" \"${ns.x}\";");
    assert!(e.message.contains("namespace"), "{e}");
}

#[test]
fn encoded_character() {
    let script = "require \"encoded-character\";\nif header :contains \"subject\" \"$${hex:24 24}\" { discard; }";
    assert_eq!(
        actions(script, &message(&["Subject: earn $$$ now"])),
        vec![]
    );
    assert_eq!(actions(script, COYOTE), vec![keep()]);
    let script = "require [\"encoded-character\", \"reject\"];\nreject \"${unicode:48 49} ${hex:e2 98 ba} ${hex:zz}\";";
    assert_eq!(
        actions(script, COYOTE),
        vec![reject("HI \u{263a} ${hex:zz}")]
    );
    let e = compile_error(
        "require [\"encoded-character\", \"reject\"];\n\nreject \"${unicode:dfff}\";",
    );
    assert_eq!((e.line, e.column), (3, 8));
    assert!(e.message.contains("not a Unicode character"), "{e}");
}
