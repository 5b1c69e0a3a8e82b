//! The examples of the action extensions: vacation (RFC 5230) and
//! vacation-seconds (RFC 6131), imap4flags (RFC 5232), reject and ereject
//! (RFC 5429), copy (RFC 3894), mailbox (RFC 5490).

mod common;

use common::{
    COYOTE, Case, actions, fileinto, fileinto_flags, keep, keep_flags, message, redirect,
};
use postino_sieve::{Action, Vacation};

fn vacation_of(script: &str, message: &str) -> Vacation {
    let found: Vec<Vacation> = actions(script, message)
        .into_iter()
        .filter_map(|a| match a {
            Action::Vacation(v) => Some(v),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "one vacation expected from\n{script}");
    found.into_iter().next().expect("one vacation")
}

#[test]
fn rfc5230_section_4_basic_and_keep() {
    let script = r#"require "vacation";
if header :contains "subject" "cyrus" {
    vacation "I'm out -- send mail to cyrus-bugs";
} else {
    vacation "I'm out -- call me at +1 304 555 0123";
}"#;
    let all = actions(script, COYOTE);
    assert_eq!(all.len(), 2);
    assert_eq!(all[1], keep(), "vacation keeps the message");
    let v = vacation_of(script, COYOTE);
    assert_eq!(v.reason, "I'm out -- call me at +1 304 555 0123");
    assert_eq!(v.subject, "Auto: I have a present for you");
    assert_eq!(v.period, 7 * 86_400);
    assert_eq!(v.from, None);
    assert!(!v.mime);
    let cyrus = message(&["Subject: cyrus crashed"]);
    assert_eq!(
        vacation_of(script, &cyrus).reason,
        "I'm out -- send mail to cyrus-bugs"
    );
}

#[test]
fn rfc5230_subject_from_match_variable() {
    let script = r#"require ["vacation", "variables"];
if header :matches "subject" "*" {
    vacation :subject "Automatic response to: ${1}" "I'm away";
}"#;
    assert_eq!(
        vacation_of(script, COYOTE).subject,
        "Automatic response to: I have a present for you"
    );
}

#[test]
fn rfc5230_days_and_addresses() {
    let script = r#"require "vacation";
vacation :days 23 :addresses ["tjs@example.edu",
                              "ts4z@landru.example.edu"]
"I'm away until October 19.
If it's an emergency, call 911, I guess." ;"#;
    let v = vacation_of(script, COYOTE);
    assert_eq!(v.period, 23 * 86_400);
    assert_eq!(
        v.addresses,
        vec!["tjs@example.edu", "ts4z@landru.example.edu"]
    );
    assert_eq!(
        v.reason,
        "I'm away until October 19.\nIf it's an emergency, call 911, I guess."
    );
}

#[test]
fn rfc5230_redirect_or_vacation() {
    let script = r#"require "vacation";
if header :contains "from" "boss@example.edu" {
    redirect "pleeb@isp.example.org";
} else {
    vacation "Sorry, I'm away, I'll read your message when I get around to it.";
}"#;
    let boss = message(&["From: boss@example.edu"]);
    assert_eq!(
        actions(script, &boss),
        vec![redirect("pleeb@isp.example.org")]
    );
    assert!(vacation_of(script, COYOTE).reason.starts_with("Sorry"));
}

#[test]
fn rfc5230_language_and_division() {
    let script = r#"require "vacation";
if header :contains ["accept-language", "content-language"] "en" {
    vacation "I am away this week.";
} else {
    vacation "Estoy ausente esta semana.";
}"#;
    let english = message(&["Content-Language: en-GB"]);
    assert_eq!(vacation_of(script, &english).reason, "I am away this week.");
    assert_eq!(
        vacation_of(script, COYOTE).reason,
        "Estoy ausente esta semana."
    );
    let script = r#"require "vacation";
if address :matches "from" "*@ourdivision.example.com" {
    vacation :subject "Gone fishing"
             "Having lots of fun! Back in a day or two!";
} else {
    vacation :subject "Je suis parti cette semaine"
             "Je lirai votre message quand je retourne.";
}"#;
    let colleague = message(&["From: Bob <bob@ourdivision.example.com>"]);
    assert_eq!(vacation_of(script, &colleague).subject, "Gone fishing");
    assert_eq!(
        vacation_of(script, COYOTE).subject,
        "Je suis parti cette semaine"
    );
}

#[test]
fn rfc5230_mime_and_from() {
    let script = "require \"vacation\";\nvacation :mime :from \"me@example.org\" text:\nContent-Type: text/plain; charset=utf-8\n\nAway.\n.\n;";
    let v = vacation_of(script, COYOTE);
    assert!(v.mime);
    assert_eq!(v.from.as_deref(), Some("me@example.org"));
    assert_eq!(
        v.reason,
        "Content-Type: text/plain; charset=utf-8\r\n\r\nAway.\r\n"
    );
}

#[test]
fn rfc5230_handles() {
    let script = r#"require "vacation";
if header :contains "subject" "lunch" {
    vacation :handle "ran-away" "I'm out and can't meet for lunch";
} else {
    vacation :handle "ran-away" "I'm out";
}"#;
    let lunch = message(&["Subject: lunch?"]);
    assert_eq!(vacation_of(script, &lunch).handle, "ran-away");
    assert_eq!(vacation_of(script, COYOTE).handle, "ran-away");
    // Without :handle, a changed text is a new handle.
    let first = vacation_of("require \"vacation\"; vacation \"a\";", COYOTE).handle;
    let again = vacation_of("require \"vacation\"; vacation \"a\";", COYOTE).handle;
    let other = vacation_of("require \"vacation\"; vacation \"b\";", COYOTE).handle;
    assert_eq!(first, again);
    assert_ne!(first, other);
}

#[test]
fn rfc6131_seconds() {
    let script = r#"require ["vacation-seconds"];
vacation :addresses ["tjs@example.edu", "ts4z@landru.example.edu"]
         :seconds 1800
         "I am in a meeting, and do not have access to email.";"#;
    assert_eq!(vacation_of(script, COYOTE).period, 1800);
    let script = "require \"vacation-seconds\";\nvacation :seconds 0 \"always\";";
    assert_eq!(vacation_of(script, COYOTE).period, 0);
    let e = common::compile_error("require \"vacation\";\nvacation :seconds 10 \"x\";");
    assert_eq!((e.line, e.column), (2, 10));
    let e =
        common::compile_error("require \"vacation-seconds\";\nvacation :days 1 :seconds 10 \"x\";");
    assert_eq!((e.line, e.column), (2, 18));
}

#[test]
fn vacation_twice_is_a_runtime_error() {
    let outcome = Case::new(
        "require \"vacation\";\nvacation \"a\"; vacation \"b\";",
        COYOTE,
    )
    .run();
    assert_eq!(outcome.actions, vec![keep()]);
    assert!(outcome.error.expect("error").contains("vacation"));
}

#[test]
fn rfc5232_internal_flags() {
    let script = r#"require ["imap4flags", "fileinto"];
if header :contains "from" "boss@frobnitzm.example.edu" {
    setflag "\\Flagged";
    fileinto "INBOX.From Boss";
}
if address :contains "To" "ned@fastmail.example.com" {
    setflag "\\Seen";
    fileinto "INBOX.Fastmail";
}"#;
    let boss = message(&[
        "From: boss@frobnitzm.example.edu",
        "To: ned@fastmail.example.com",
    ]);
    assert_eq!(
        actions(script, &boss),
        vec![
            fileinto_flags("INBOX.From Boss", &["\\Flagged"]),
            fileinto_flags("INBOX.Fastmail", &["\\Seen"]),
        ]
    );
}

#[test]
fn rfc5232_flag_variables_and_implicit_keep() {
    let script = r#"require ["imap4flags", "variables", "fileinto", "copy"];
setflag "flagvar" ["\\Deleted", "\\Answered"];
addflag "flagvar" "\\Deleted";
addflag "flagvar" "\\Answered \\Flagged";
removeflag "flagvar" "\\deleted";
fileinto :copy :flags "${flagvar}" "INBOX.Copy";
addflag ["$Work", "\\Seen"];
addflag "\\SEEN";"#;
    assert_eq!(
        actions(script, COYOTE),
        vec![
            fileinto_flags("INBOX.Copy", &["\\Answered", "\\Flagged"]),
            keep_flags(&["$Work", "\\Seen"]),
        ]
    );
    let script = "require \"imap4flags\";\naddflag \"\\\\Seen\";\nkeep :flags \"\\\\Flagged\";";
    assert_eq!(actions(script, COYOTE), vec![keep_flags(&["\\Flagged"])]);
}

#[test]
fn rfc5232_hasflag() {
    let script = r#"require ["imap4flags", "relational", "comparator-i;ascii-numeric", "variables", "fileinto"];
addflag ["\\Seen", "\\Flagged"];
if hasflag :count "ge" :comparator "i;ascii-numeric" "2" {
    fileinto "INBOX.Urgent";
}
setflag "MyVar" "$Junk \\Draft";
if hasflag :contains "MyVar" "Junk" {
    fileinto "Junk";
}
if hasflag "\\flagged" { fileinto "Flagged"; }
if hasflag :is "\\Answered \\Seen" { fileinto "Listed"; }"#;
    assert_eq!(
        actions(script, COYOTE),
        vec![
            fileinto_flags("INBOX.Urgent", &["\\Seen", "\\Flagged"]),
            fileinto_flags("Junk", &["\\Seen", "\\Flagged"]),
            fileinto_flags("Flagged", &["\\Seen", "\\Flagged"]),
            fileinto_flags("Listed", &["\\Seen", "\\Flagged"]),
        ]
    );
}

#[test]
fn rfc5429_reject_and_ereject() {
    let script = r#"require ["reject"];

if header :contains "from" "coyote@desert.example.org" {
    reject text:
I am not taking mail from you, and I don't
want your birdseed, either!
.
;
}"#;
    assert_eq!(
        actions(script, COYOTE),
        vec![Action::Reject {
            reason: "I am not taking mail from you, and I don't\r\nwant your birdseed, either!\r\n"
                .to_string(),
            extended: false,
        }]
    );
    let script = r#"require ["ereject"];

if address :domain :is "from" "example.com" {
    ereject "I no longer accept mail from this domain.";
}"#;
    let from = message(&["From: someone@example.com"]);
    assert_eq!(
        actions(script, &from),
        vec![Action::Reject {
            reason: "I no longer accept mail from this domain.".to_string(),
            extended: true,
        }]
    );
}

#[test]
fn rfc5429_reject_with_other_actions_fails_into_keep() {
    for script in [
        "require [\"reject\", \"fileinto\"]; fileinto \"x\"; reject \"no\";",
        "require \"reject\"; reject \"no\"; keep;",
        "require [\"reject\", \"vacation\"]; vacation \"away\"; reject \"no\";",
        "require [\"reject\", \"ereject\"]; reject \"no\"; ereject \"no\";",
    ] {
        let outcome = Case::new(script, COYOTE).run();
        assert_eq!(outcome.actions, vec![keep()], "{script}");
        assert!(outcome.error.is_some(), "{script}");
    }
    // Discard does not conflict: it only cancels the implicit keep.
    assert_eq!(
        actions("require \"reject\"; discard; reject \"no\";", COYOTE).len(),
        1
    );
}

#[test]
fn rfc3894_copy() {
    let script = "require [\"copy\"];\nif header :contains \"subject\" \"present\" {\n    redirect :copy \"bob@example.com\";\n}";
    assert_eq!(
        actions(script, COYOTE),
        vec![redirect("bob@example.com"), keep()]
    );
    let script = "require [\"copy\", \"fileinto\"];\nfileinto :copy \"incoming\";";
    assert_eq!(actions(script, COYOTE), vec![fileinto("incoming"), keep()]);
    let script =
        "require [\"copy\", \"fileinto\"];\nfileinto :copy \"incoming\"; fileinto \"other\";";
    assert_eq!(
        actions(script, COYOTE),
        vec![fileinto("incoming"), fileinto("other")]
    );
    let script = "require [\"copy\", \"fileinto\", \"imap4flags\"];\nfileinto :copy :flags \"$A\" \"INBOX\"; addflag \"$B\";";
    assert_eq!(actions(script, COYOTE), vec![keep_flags(&["$A", "$B"])]);
}

#[test]
fn rfc5490_mailbox() {
    let script = r#"require ["fileinto", "reject", "mailbox"];
if mailboxexists "Partners" {
    fileinto "Partners";
} else {
    reject "This message was not accepted by the Mailstore";
}"#;
    let mut case = Case::new(script, COYOTE);
    case.mailboxes = &["INBOX", "Partners"];
    assert_eq!(case.actions(), vec![fileinto("Partners")]);
    case.mailboxes = &["INBOX"];
    assert_eq!(
        case.actions(),
        vec![Action::Reject {
            reason: "This message was not accepted by the Mailstore".to_string(),
            extended: false,
        }]
    );
    let script = "require [\"fileinto\", \"mailbox\"];\nfileinto :create \"INBOX.new\";";
    assert_eq!(
        actions(script, COYOTE),
        vec![Action::FileInto {
            mailbox: "INBOX.new".to_string(),
            flags: vec![],
            create: true,
        }]
    );
}
