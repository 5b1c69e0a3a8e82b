//! The examples of RFC 5228 (the base language) run against the sample
//! message of its section 3.1 and small variants of it.

mod common;

use common::{COYOTE, Case, actions, fileinto, keep, message, redirect};
use postino_sieve::Action;

#[test]
fn section_2_3_comments() {
    let big = format!("Subject: x\r\n\r\n{}", "x".repeat(200 * 1024));
    let script = "if size :over 100k { # this is a comment\n    discard;\n}";
    assert_eq!(actions(script, &big), vec![]);
    assert_eq!(actions(script, COYOTE), vec![keep()]);
    let script = "if size :over 100K { /* this is a comment\n    this is still a comment */ discard /* this is a comment\n    */ ;\n}";
    assert_eq!(actions(script, &big), vec![]);
}

#[test]
fn section_2_4_2_multiline_string() {
    let script = "require \"reject\";\nif header :contains \"subject\" \"present\" {\nreject text:\n.. and here is a dot-stuffed line\nsecond line\n.\n;\n}";
    assert_eq!(
        actions(script, COYOTE),
        vec![Action::Reject {
            reason: ". and here is a dot-stuffed line\r\nsecond line\r\n".to_string(),
            extended: false,
        }]
    );
}

#[test]
fn section_3_1_if_elsif_else() {
    let script = r#"require "fileinto";
        if header :contains "from" "coyote" {
            discard;
        } elsif header :contains ["subject"] ["$$$"] {
            discard;
        } else {
            fileinto "INBOX";
        }"#;
    assert_eq!(actions(script, COYOTE), vec![]);
    let money = message(&["From: friend@example.org", "Subject: $$$ for you"]);
    assert_eq!(actions(script, &money), vec![]);
    let other = message(&["From: friend@example.org", "Subject: lunch"]);
    // Filing into INBOX is a keep.
    assert_eq!(actions(script, &other), vec![keep()]);
}

#[test]
fn section_3_2_require() {
    for script in [
        "require [\"fileinto\", \"reject\"];",
        "require \"fileinto\";\nrequire \"vacation\";",
    ] {
        assert_eq!(actions(script, COYOTE), vec![keep()]);
    }
}

#[test]
fn section_3_3_stop() {
    let script = "if header :contains \"from\" \"coyote\" { stop; }\ndiscard;";
    assert_eq!(actions(script, COYOTE), vec![keep()]);
    let script = "discard; stop; keep;";
    assert_eq!(actions(script, COYOTE), vec![]);
}

#[test]
fn section_4_1_fileinto() {
    let script = "require \"fileinto\";\nif header :contains [\"from\"] \"coyote\" {\n    fileinto \"INBOX.harassment\";\n}";
    assert_eq!(actions(script, COYOTE), vec![fileinto("INBOX.harassment")]);
}

#[test]
fn section_4_2_redirect() {
    let script =
        "if exists \"x-spam\" { redirect \"bart@example.com\"; }\nredirect \"bart@example.com\";";
    assert_eq!(actions(script, COYOTE), vec![redirect("bart@example.com")]);
}

#[test]
fn section_4_3_keep_and_4_4_discard() {
    let script = "if size :under 1M { keep; } else { discard; }";
    assert_eq!(actions(script, COYOTE), vec![keep()]);
    let script = "if header :contains [\"from\"] [\"idiot@example.com\"] { discard; }";
    assert_eq!(actions(script, COYOTE), vec![keep()]);
    let idiot = message(&["From: The Idiot <idiot@example.com>"]);
    assert_eq!(actions(script, &idiot), vec![]);
}

#[test]
fn section_2_10_2_implicit_keep() {
    // Only discard, fileinto and redirect cancel it; keep replaces it.
    assert_eq!(actions("", COYOTE), vec![keep()]);
    assert_eq!(actions("keep;", COYOTE), vec![keep()]);
    assert_eq!(actions("discard;", COYOTE), vec![]);
    assert_eq!(actions("keep; discard;", COYOTE), vec![keep()]);
    assert_eq!(
        actions("redirect \"a@example.com\";", COYOTE),
        vec![redirect("a@example.com")]
    );
}

#[test]
fn section_2_10_3_duplicate_actions() {
    let script = "require \"fileinto\";\nfileinto \"a\"; keep; fileinto \"a\"; keep; redirect \"x@example.com\"; redirect \"X@Example.com\";";
    assert_eq!(
        actions(script, COYOTE),
        vec![fileinto("a"), keep(), redirect("x@example.com")]
    );
    let script = "require \"fileinto\";\nkeep; fileinto \"inbox\"; fileinto \"INBOX\";";
    assert_eq!(actions(script, COYOTE), vec![keep()]);
}

#[test]
fn section_5_1_address() {
    let script = "if address :is :all \"from\" \"tim@example.com\" { discard; }";
    assert_eq!(actions(script, COYOTE), vec![keep()]);
    let tim = message(&["From: Tim <tim@example.com>"]);
    assert_eq!(actions(script, &tim), vec![]);
    let script = "if address :domain :is \"to\" \"ACME.example.com\" { discard; }";
    assert_eq!(actions(script, COYOTE), vec![]);
    let script = "if address :localpart :is \"from\" \"coyote\" { discard; }";
    assert_eq!(actions(script, COYOTE), vec![]);
}

#[test]
fn section_5_2_allof_and_5_3_anyof() {
    let script = "if allof (header :contains \"From\" \"Cream\", header :contains \"Subject\" \"Blue\") { discard; }";
    let both = message(&["From: Cream <c@example.com>", "Subject: Blue Moon"]);
    let one = message(&["From: Cream <c@example.com>", "Subject: Red"]);
    assert_eq!(actions(script, &both), vec![]);
    assert_eq!(actions(script, &one), vec![keep()]);
    let script = script.replace("allof", "anyof");
    assert_eq!(actions(&script, &one), vec![]);
    assert_eq!(actions(&script, COYOTE), vec![keep()]);
}

#[test]
fn section_5_4_envelope() {
    let script =
        "require \"envelope\";\nif envelope :all :is \"from\" \"tim@example.com\" { discard; }";
    assert_eq!(actions(script, COYOTE), vec![keep()]);
    let mut case = Case::new(script, COYOTE);
    case.from = "tim@example.com";
    assert_eq!(case.actions(), vec![]);
    let script =
        "require \"envelope\";\nif envelope :domain :is \"to\" \"acme.example.com\" { discard; }";
    assert_eq!(actions(script, COYOTE), vec![]);
    // The null sender is the empty string.
    let script = "require \"envelope\";\nif envelope :is \"from\" \"\" { discard; }";
    let mut case = Case::new(script, COYOTE);
    case.from = "";
    assert_eq!(case.actions(), vec![]);
}

#[test]
fn section_5_5_exists_and_5_8_not() {
    let script = "if exists [\"From\",\"Date\"] { discard; }";
    assert_eq!(actions(script, COYOTE), vec![]);
    let script = "if not exists [\"From\",\"X-Nope\"] { discard; }";
    assert_eq!(actions(script, COYOTE), vec![]);
}

#[test]
fn section_5_7_header_empty_keys() {
    let caffeine = message(&["X-Caffeine: "]);
    let script = "if header :is [\"X-Caffeine\"] [\"\"] { discard; }";
    assert_eq!(actions(script, &caffeine), vec![]);
    assert_eq!(actions(script, COYOTE), vec![keep()]);
    let script = "if header :contains \"X-Caffeine\" \"\" { discard; }";
    assert_eq!(actions(script, &message(&["X-Caffeine: double"])), vec![]);
    assert_eq!(actions(script, COYOTE), vec![keep()]);
}

#[test]
fn section_5_9_size_and_true_false() {
    assert_eq!(
        actions("if size :over 500K { discard; }", COYOTE),
        vec![keep()]
    );
    assert_eq!(
        actions("if size :under 1 { discard; }", COYOTE),
        vec![keep()]
    );
    assert_eq!(actions("if true { discard; }", COYOTE), vec![]);
    assert_eq!(actions("if false { discard; }", COYOTE), vec![keep()]);
}

#[test]
fn section_2_7_match_types_and_comparators() {
    let script = "if header :matches \"subject\" \"I have a ?resent *\" { discard; }";
    assert_eq!(actions(script, COYOTE), vec![]);
    let script = "if header :is :comparator \"i;octet\" \"subject\" \"i have a present for you\" { discard; }";
    assert_eq!(actions(script, COYOTE), vec![keep()]);
    let script = "if header :is \"subject\" \"i have a PRESENT for you\" { discard; }";
    assert_eq!(actions(script, COYOTE), vec![]);
    let script = "require \"comparator-i;ascii-numeric\";\nif header :is :comparator \"i;ascii-numeric\" \"x-n\" \"42\" { discard; }";
    assert_eq!(actions(script, &message(&["X-N: 042 apples"])), vec![]);
}

#[test]
fn header_decodes_rfc_2047() {
    let encoded = message(&["Subject: =?ISO-8859-1?Q?Caf=E9?= =?utf-8?B?w6A=?= ok"]);
    // White space between adjacent encoded words is not part of the text (RFC 2047 section 6.2).
    let script = "if header :is \"subject\" \"Caféà ok\" { discard; }";
    assert_eq!(actions(script, &encoded), vec![]);
}

#[test]
fn section_9_extended_example() {
    let script = r#"#
# Example Sieve Filter
# Declare any optional features or extension used by the script
#
require ["fileinto"];

#
# Handle messages from known mailing lists
# Move messages from IETF filter discussion list to filter mailbox
#
if header :is "Sender" "owner-ietf-mta-filters@imc.org"
        {
        fileinto "filter";  # move to "filter" mailbox
        }
#
# Keep all messages to or from people in my company
#
elsif address :DOMAIN :is ["From", "To"] "example.com"
        {
        keep;               # keep in "In" mailbox
        }

#
# Try and catch unsolicited email.  If a message is not to me,
# or it contains a subject known to be spam, file it away.
#
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        fileinto "spam";   # move to "spam" mailbox
        }
else
        {
        # Move all other (non-company) mail to "personal"
        # mailbox.
        fileinto "personal";
        }
"#;
    let list = message(&[
        "Sender: owner-ietf-mta-filters@imc.org",
        "To: me@example.com",
    ]);
    assert_eq!(actions(script, &list), vec![fileinto("filter")]);
    let colleague = message(&["From: boss@example.com", "To: me@example.com"]);
    assert_eq!(actions(script, &colleague), vec![keep()]);
    let not_me = message(&["From: x@example.net", "To: you@example.net"]);
    assert_eq!(actions(script, &not_me), vec![fileinto("spam")]);
    let spam = message(&[
        "From: x@example.net",
        "To: list@example.net",
        "Cc: me@example.com",
        "Subject: MAKE MONEY FAST now",
    ]);
    assert_eq!(actions(script, &spam), vec![fileinto("spam")]);
    let personal = message(&[
        "From: mum@example.net",
        "Cc: me@example.com",
        "Subject: dinner",
    ]);
    assert_eq!(actions(script, &personal), vec![fileinto("personal")]);
}
