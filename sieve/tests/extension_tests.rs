//! The examples of the test extensions: body (RFC 5173), relational
//! (RFC 5231), subaddress (RFC 5233), date and index (RFC 5260).

mod common;

use common::{COYOTE, Case, actions, fileinto, keep, message, redirect};
use postino_sieve::Action;

const MULTIPART: &str = "From: agent@example.org\r\n\
To: roadrunner@acme.example.com\r\n\
Subject: plans\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"XX\"\r\n\
\r\n\
--XX\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
The missile coordinates are attached. Caf=C3=A9 at noon.\r\n\
--XX\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><body><p>Read the <b>project schedule</b></p></body></html>\r\n\
--XX\r\n\
Content-Type: audio/mp3\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjU4Ljc2LjEwMAAAAAAAAAAAAAAA\r\n\
--XX--\r\n";

#[test]
fn rfc5173_raw() {
    let script = "require \"body\";\nif body :raw :contains \"MAKE MONEY FAST\" { discard; }";
    let spam = "Subject: hi\r\n\r\nPlease MAKE MONEY FAST today\r\n";
    assert_eq!(actions(script, spam), vec![]);
    assert_eq!(actions(script, COYOTE), vec![keep()]);
    // :raw does not decode: the quoted-printable stays as written.
    let script = "require \"body\";\nif body :raw :contains \"Caf=C3=A9\" { discard; }";
    assert_eq!(actions(script, MULTIPART), vec![]);
}

#[test]
fn rfc5173_content() {
    let script = r#"require ["body", "fileinto"];

# Save any message with any text MIME part that contains the
# words "missile" or "coordinates" in the "secrets" folder.

if body :content "text" :contains ["missile", "coordinates"] {
        fileinto "secrets";
}

# Save any message with an audio/mp3 MIME part in
# the "jukebox" folder.

if body :content "audio/mp3" :contains "" {
        fileinto "jukebox";
}"#;
    assert_eq!(
        actions(script, MULTIPART),
        vec![fileinto("secrets"), fileinto("jukebox")]
    );
    assert_eq!(actions(script, COYOTE), vec![keep()]);
}

#[test]
fn rfc5173_text_decodes_and_strips_html() {
    let script = "require [\"body\", \"fileinto\"];\nif body :text :contains \"project schedule\" { fileinto \"project/schedule\"; }";
    assert_eq!(
        actions(script, MULTIPART),
        vec![fileinto("project/schedule")]
    );
    let script = "require \"body\";\nif body :contains \"Café at noon\" { discard; }";
    assert_eq!(actions(script, MULTIPART), vec![]);
    let script = "require \"body\";\nif body :text :contains \"SUQzBAAA\" { discard; }";
    assert_eq!(actions(script, MULTIPART), vec![keep()]);
    let script = "require \"body\";\nif body :contains \"anvil\" { discard; }";
    assert_eq!(actions(script, COYOTE), vec![]);
}

#[test]
fn rfc5231_relational() {
    let script = r#"require ["relational", "comparator-i;ascii-numeric", "fileinto"];

if header :value "lt" :comparator "i;ascii-numeric"
          ["x-priority"] ["3"]
{
    fileinto "Priority";
}

elsif address :count "gt" :comparator "i;ascii-numeric"
          ["to"] ["5"]
{
    # everything with more than 5 recipients in the "to" field
    # is considered SPAM
    fileinto "SPAM";
}

elsif address :value "gt" :all :comparator "i;ascii-casemap"
          ["from"] ["M"]
{
    fileinto "From N-Z";
} else {
    fileinto "From A-M";
}

if allof ( address :count "eq" :comparator "i;ascii-numeric"
                   ["to", "cc"] ["1"] ,
           address :all :comparator "i;ascii-casemap"
                   ["to", "cc"] ["me@foo.example.com"] )
{
    fileinto "Only me";
}"#;
    let urgent = message(&[
        "X-Priority: 1 (Highest)",
        "From: zed@example.com",
        "To: me@foo.example.com",
    ]);
    assert_eq!(
        actions(script, &urgent),
        vec![fileinto("Priority"), fileinto("Only me")]
    );
    let crowd = message(&[
        "From: a@example.com",
        "To: a@x.example, b@x.example, c@x.example, d@x.example, e@x.example, f@x.example",
    ]);
    assert_eq!(actions(script, &crowd), vec![fileinto("SPAM")]);
    let late = message(&[
        "From: nancy@example.com",
        "To: me@foo.example.com",
        "Cc: you@foo.example.com",
    ]);
    assert_eq!(actions(script, &late), vec![fileinto("From N-Z")]);
    let early = message(&["From: alice@example.com", "To: me@foo.example.com"]);
    assert_eq!(
        actions(script, &early),
        vec![fileinto("From A-M"), fileinto("Only me")]
    );
}

#[test]
fn rfc5231_count_of_headers() {
    let script = "require \"relational\";\nif header :count \"ge\" \"received\" \"3\" { discard; }";
    let hops = message(&["Received: a", "Received: b", "Received: c"]);
    assert_eq!(actions(script, &hops), vec![]);
    assert_eq!(actions(script, COYOTE), vec![keep()]);
}

#[test]
fn rfc5233_subaddress() {
    let script = r#"require ["envelope", "subaddress", "fileinto"];

# In this example the same user account receives mail for both
# "ken@example.com" and "postmaster@example.com"

# File all messages to postmaster into a single mailbox,
# ignoring the :detail part.
if envelope :user "to" "postmaster" {
    fileinto "inbox.postmaster";
    stop;
}

# File mailing list messages (subscribed as "ken+mta-filters").
if envelope :detail "to" "mta-filters" {
    fileinto "inbox.ietf-mta-filters";
}

# Redirect all mail sent to "ken+foo".
if envelope :detail "to" "foo" {
    redirect "ken@example.net";
}"#;
    let run = |to: &str| {
        let mut case = Case::new(script, COYOTE);
        case.to = to;
        case.actions()
    };
    assert_eq!(
        run("postmaster+spam@example.com"),
        vec![fileinto("inbox.postmaster")]
    );
    assert_eq!(
        run("postmaster@example.com"),
        vec![fileinto("inbox.postmaster")]
    );
    assert_eq!(
        run("ken+mta-filters@example.com"),
        vec![fileinto("inbox.ietf-mta-filters")]
    );
    assert_eq!(
        run("ken+foo@example.com"),
        vec![redirect("ken@example.net")]
    );
    assert_eq!(run("ken@example.com"), vec![keep()]);
    let script = "require \"subaddress\";\nif address :detail \"to\" \"\" { discard; }";
    assert_eq!(actions(script, &message(&["To: ken+@example.com"])), vec![]);
    assert_eq!(
        actions(script, &message(&["To: ken@example.com"])),
        vec![keep()]
    );
}

#[test]
fn rfc5260_date_in_original_zone() {
    let script = r#"require ["date", "relational", "fileinto"];
if allof(header :is "from" "boss@example.com",
         date :value "ge" :originalzone "date" "hour" "09",
         date :value "lt" :originalzone "date" "hour" "17")
{
    fileinto "urgent";
}"#;
    let office = message(&[
        "From: boss@example.com",
        "Date: Mon, 10 Mar 2008 10:15:00 -0800",
    ]);
    assert_eq!(actions(script, &office), vec![fileinto("urgent")]);
    let night = message(&[
        "From: boss@example.com",
        "Date: Mon, 10 Mar 2008 20:15:00 -0800",
    ]);
    assert_eq!(actions(script, &night), vec![keep()]);
}

#[test]
fn rfc5260_received_weekday() {
    let script = r#"require ["date", "relational", "fileinto"];
if anyof(date :is "received" "weekday" "0",
         date :is "received" "weekday" "6")
{
    fileinto "weekend";
}"#;
    let saturday = message(&["Received: from a by b; Sat, 8 Mar 2008 10:00:00 +0000"]);
    assert_eq!(actions(script, &saturday), vec![fileinto("weekend")]);
    let monday = message(&["Received: from a by b; Mon, 10 Mar 2008 10:00:00 +0000"]);
    assert_eq!(actions(script, &monday), vec![keep()]);
}

#[test]
fn rfc5260_currentdate_vacation_window() {
    // NOW is 2008-01-02 03:04:05 UTC.
    let script = r#"require ["date", "relational", "vacation"];
if allof(currentdate :value "ge" "date" "2008-01-01",
         currentdate :value "le" "date" "2008-01-07")
{
    vacation :days 7  "I'm away during the first week in January.";
}"#;
    let found = actions(script, COYOTE);
    assert!(matches!(found[0], Action::Vacation(_)), "{found:?}");
    let script = script.replace("2008-01-01", "2008-01-03");
    assert_eq!(actions(&script, COYOTE), vec![keep()]);
}

#[test]
fn rfc5260_currentdate_into_variables() {
    let script = r#"require ["date", "variables", "fileinto"];
if currentdate :matches "month" "*" { set "month" "${1}"; }
if currentdate :matches "year"  "*" { set "year" "${1}"; }
fileinto "${month}-${year}";"#;
    assert_eq!(actions(script, COYOTE), vec![fileinto("01-2008")]);
    // The local zone decides the day: at UTC-05:00 it is still 2008-01-01.
    let script = "require [\"date\", \"variables\", \"fileinto\"];\nif currentdate :matches \"iso8601\" \"*\" { fileinto \"${0}\"; }";
    let mut case = Case::new(script, COYOTE);
    case.zone = -300;
    assert_eq!(case.actions(), vec![fileinto("2008-01-01T22:04:05-05:00")]);
    let script = "require [\"date\", \"variables\", \"fileinto\"];\nif currentdate :zone \"+0100\" :matches \"std11\" \"*\" { fileinto \"${0}\"; }";
    assert_eq!(
        actions(script, COYOTE),
        vec![fileinto("Wed, 2 Jan 2008 04:04:05 +0100")]
    );
}

#[test]
fn rfc5260_index() {
    let script = r#"require ["date", "relational", "index"];
if date :value "gt" :index 2 :zone "-0500" "received"
        "iso8601" "2007-02-26T09:00:00-05:00"
{
    redirect "aftercutoff@example.org";
}"#;
    let late = message(&[
        "Received: from a by b; Tue, 27 Feb 2007 10:00:00 -0500",
        "Received: from c by a; Mon, 26 Feb 2007 10:00:00 -0500",
    ]);
    assert_eq!(
        actions(script, &late),
        vec![redirect("aftercutoff@example.org")]
    );
    let early = message(&[
        "Received: from a by b; Tue, 27 Feb 2007 10:00:00 -0500",
        "Received: from c by a; Mon, 26 Feb 2007 08:00:00 -0500",
    ]);
    assert_eq!(actions(script, &early), vec![keep()]);
    let script = "require \"index\";\nif header :index 1 :last :is \"x-hop\" \"last\" { discard; }";
    assert_eq!(
        actions(script, &message(&["X-Hop: first", "X-Hop: last"])),
        vec![]
    );
    let script = "require \"index\";\nif header :index 3 :contains \"x-hop\" \"\" { discard; }";
    assert_eq!(
        actions(script, &message(&["X-Hop: first", "X-Hop: last"])),
        vec![keep()]
    );
    let script =
        "require \"index\";\nif address :index 2 :is \"to\" \"b@example.com\" { discard; }";
    assert_eq!(
        actions(
            script,
            &message(&["To: a@example.com", "To: b@example.com"])
        ),
        vec![]
    );
}
