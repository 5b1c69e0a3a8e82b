//! Scripts shaped like those real clients generate: Roundcube's
//! managesieve plugin (rules introduced by "# rule:[name]", tabs, one
//! require line for everything) and Thunderbird's Sieve add-on, plus the
//! kind an office writes by hand. Written for these tests.

mod common;

use common::{Case, actions, fileinto, keep, message, redirect};
use postino_sieve::{Action, Envelope, vacation_allowed};

const ROUNDCUBE_FILTERS: &str = "require [\"fileinto\",\"copy\",\"imap4flags\",\"relational\",\"comparator-i;ascii-numeric\",\"body\",\"envelope\"];
# rule:[Spam]
if anyof (header :contains \"X-Spam-Flag\" \"YES\", header :is \"X-Spam\" \"Yes\")
{
\tfileinto \"Junk\";
\tstop;
}
# rule:[Punteggio spam]
if header :value \"ge\" :comparator \"i;ascii-numeric\" \"X-Spam-Score\" \"8\"
{
\tdiscard;
\tstop;
}
# rule:[Newsletter]
if anyof (header :contains \"list-id\" \"newsletter.regione.example\", address :is \"from\" \"news@regione.example\")
{
\tfileinto \"INBOX.Newsletter\";
}
# rule:[Protocollo]
if allof (address :domain :is \"from\" \"pec.comune.esempio.pu.it\", header :contains \"subject\" \"PROTOCOLLO\")
{
\taddflag \"\\\\Flagged\";
\tfileinto :copy \"INBOX.Protocollo\";
}
# rule:[Allegati grandi]
if size :over 10M
{
\tfileinto \"INBOX.Grandi\";
}
# rule:[Fatture]
if body :text :contains [\"fattura elettronica\", \"FatturaPA\"]
{
\tfileinto \"INBOX.Fatture\";
}
";

#[test]
fn roundcube_filters() {
    let spam = message(&[
        "From: x@spam.example",
        "X-Spam-Flag: YES",
        "Subject: offerta",
    ]);
    assert_eq!(actions(ROUNDCUBE_FILTERS, &spam), vec![fileinto("Junk")]);
    let rspamd = message(&["From: x@spam.example", "X-Spam: Yes"]);
    assert_eq!(actions(ROUNDCUBE_FILTERS, &rspamd), vec![fileinto("Junk")]);
    let scored = message(&["From: x@spam.example", "X-Spam-Score: 12.5"]);
    assert_eq!(actions(ROUNDCUBE_FILTERS, &scored), vec![]);
    let low = message(&["From: x@ok.example", "X-Spam-Score: 2.1"]);
    assert_eq!(actions(ROUNDCUBE_FILTERS, &low), vec![keep()]);
    let news = message(&["From: News <news@regione.example>", "Subject: Bollettino"]);
    assert_eq!(
        actions(ROUNDCUBE_FILTERS, &news),
        vec![fileinto("INBOX.Newsletter")]
    );
    let listed = message(&[
        "From: a@b.example",
        "List-Id: Notizie <newsletter.regione.example>",
    ]);
    assert_eq!(
        actions(ROUNDCUBE_FILTERS, &listed),
        vec![fileinto("INBOX.Newsletter")]
    );
    let pec = message(&[
        "From: \"Posta certificata\" <protocollo@pec.comune.esempio.pu.it>",
        "Subject: PROTOCOLLO n. 1234 del 2026",
    ]);
    assert_eq!(
        actions(ROUNDCUBE_FILTERS, &pec),
        vec![
            common::fileinto_flags("INBOX.Protocollo", &["\\Flagged"]),
            keep_flagged(),
        ]
    );
    let invoice = "From: sdi@fatturapa.example\r\nSubject: Notifica\r\n\r\nIn allegato la fattura elettronica n. 7.\r\n";
    assert_eq!(
        actions(ROUNDCUBE_FILTERS, invoice),
        vec![fileinto("INBOX.Fatture")]
    );
}

fn keep_flagged() -> Action {
    common::keep_flags(&["\\Flagged"])
}

const ROUNDCUBE_VACATION: &str = "require [\"vacation\",\"date\",\"relational\"];
# rule:[Risposta automatica]
if allof (currentdate :zone \"+0100\" :value \"ge\" \"date\" \"2008-01-01\", currentdate :zone \"+0100\" :value \"le\" \"date\" \"2008-01-15\")
{
\tvacation :days 1 :subject \"Fuori ufficio\" :from \"mario.rossi@comune.esempio.pu.it\" :addresses [\"mario.rossi@comune.esempio.pu.it\",\"m.rossi@comune.esempio.pu.it\"] \"Sono fuori ufficio fino al 15 gennaio.\r\nPer urgenze scrivere a protocollo@comune.esempio.pu.it.\";
}
";

#[test]
fn roundcube_vacation_with_dates() {
    let incoming = message(&[
        "From: Cittadino <cittadino@example.org>",
        "To: m.rossi@comune.esempio.pu.it",
        "Subject: Richiesta certificato",
    ]);
    let mut case = Case::new(ROUNDCUBE_VACATION, &incoming);
    case.from = "cittadino@example.org";
    case.to = "mario.rossi@comune.esempio.pu.it";
    let found = case.actions();
    assert_eq!(found.len(), 2);
    assert_eq!(found[1], keep());
    let Action::Vacation(vacation) = &found[0] else {
        panic!("vacation expected: {found:?}");
    };
    assert_eq!(vacation.subject, "Fuori ufficio");
    assert_eq!(vacation.period, 86_400);
    assert_eq!(
        vacation.from.as_deref(),
        Some("mario.rossi@comune.esempio.pu.it")
    );
    // The caller then checks the message may be answered at all.
    let envelope = Envelope {
        from: case.from.to_string(),
        to: case.to.to_string(),
    };
    let mut own = vec![case.to.to_string()];
    own.extend(vacation.addresses.iter().cloned());
    assert_eq!(
        vacation_allowed(incoming.as_bytes(), &envelope, &own),
        Ok(())
    );
    let list = message(&[
        "From: l@example.org",
        "To: m.rossi@comune.esempio.pu.it",
        "List-Id: <l.example.org>",
    ]);
    assert!(vacation_allowed(list.as_bytes(), &envelope, &own).is_err());
    // Outside the dates: no reply.
    let late = ROUNDCUBE_VACATION.replace("2008-01-01", "2008-01-05");
    let mut case = Case::new(&late, &incoming);
    case.to = "mario.rossi@comune.esempio.pu.it";
    assert_eq!(case.actions(), vec![keep()]);
}

const ROUNDCUBE_FORWARD: &str = "require [\"copy\"];
# rule:[Inoltro]
if true
{
\tredirect :copy \"collega@comune.esempio.pu.it\";
}
";

#[test]
fn roundcube_forward_keeping_a_copy() {
    let any = message(&["From: a@example.org", "Subject: x"]);
    assert_eq!(
        actions(ROUNDCUBE_FORWARD, &any),
        vec![redirect("collega@comune.esempio.pu.it"), keep()]
    );
    let without_copy = ROUNDCUBE_FORWARD.replace("redirect :copy", "redirect");
    assert_eq!(
        actions(&without_copy, &any),
        vec![redirect("collega@comune.esempio.pu.it")]
    );
}

const THUNDERBIRD: &str = "require [\"fileinto\", \"imap4flags\", \"variables\", \"envelope\", \"subaddress\", \"mailbox\"];

# Mailing lists: one folder per list, named after the List-Id.
if header :matches \"List-Id\" \"*<*>*\" {
  set :lower \"list\" \"${2}\";
  fileinto :create \"Liste/${list}\";
  stop;
}

# Mail to the +tag address goes to the folder named after the tag.
if envelope :detail :matches \"to\" \"*\" {
  if string :is \"${1}\" \"\" {
    keep;
  } else {
    fileinto :create \"Tag/${1}\";
  }
  stop;
}

# From the mayor's office: flag it.
if address :is :all \"From\" [\"sindaco@comune.esempio.pu.it\", \"segreteria@comune.esempio.pu.it\"] {
  addflag \"\\\\Flagged\";
}

if header :contains \"Subject\" [\"[URGENTE]\", \"urgente\"] {
  addflag \"$Important\";
}

if mailboxexists \"Ufficio\" {
  if address :domain :is \"From\" \"comune.esempio.pu.it\" {
    fileinto \"Ufficio\";
  }
}
";

#[test]
fn thunderbird_sieve_addon_script() {
    let run = |message: &str, to: &str, folders: &'static [&'static str]| {
        let mut case = Case::new(THUNDERBIRD, message);
        case.to = to;
        case.mailboxes = folders;
        case.actions()
    };
    let me = "anna@comune.esempio.pu.it";
    let list = message(&[
        "From: a@lists.example",
        "List-Id: Sviluppatori Debian <Debian-Devel.lists.debian.org>",
    ]);
    assert_eq!(
        run(&list, me, &["INBOX"]),
        vec![Action::FileInto {
            mailbox: "Liste/debian-devel.lists.debian.org".into(),
            flags: vec![],
            create: true
        }]
    );
    let tagged = message(&["From: shop@example.com"]);
    assert_eq!(
        run(&tagged, "anna+acquisti@comune.esempio.pu.it", &["INBOX"]),
        vec![Action::FileInto {
            mailbox: "Tag/acquisti".into(),
            flags: vec![],
            create: true
        }]
    );
    assert_eq!(
        run(&tagged, "anna+@comune.esempio.pu.it", &["INBOX"]),
        vec![keep()]
    );
    let mayor = message(&[
        "From: Il Sindaco <sindaco@comune.esempio.pu.it>",
        "Subject: Riunione URGENTE",
    ]);
    assert_eq!(
        run(&mayor, me, &["INBOX", "Ufficio"]),
        vec![common::fileinto_flags(
            "Ufficio",
            &["\\Flagged", "$Important"]
        )]
    );
    assert_eq!(
        run(&mayor, me, &["INBOX"]),
        vec![common::keep_flags(&["\\Flagged", "$Important"])]
    );
    let outside = message(&["From: someone@example.org", "Subject: ciao"]);
    assert_eq!(run(&outside, me, &["INBOX", "Ufficio"]), vec![keep()]);
}

const HAND_WRITTEN: &str = r#"require ["fileinto", "reject", "envelope", "relational", "comparator-i;ascii-numeric", "date", "index"];

# Never filter mail from the provincial data centre.
if address :domain :is "from" ["provincia.esempio.it"] { keep; stop; }

# Old mail relayed late: more than 5 hops.
if header :count "gt" :comparator "i;ascii-numeric" "received" "5" {
    fileinto "Ritardi";
}

# Senders we refuse outright.
if envelope :domain :is "from" ["spam.example", "phish.example"] {
    reject "Messaggio rifiutato.";
    stop;
}

# Mail written on a weekend, judged by the sender's own clock.
if anyof (date :is :originalzone "date" "weekday" "0",
          date :is :originalzone "date" "weekday" "6") {
    fileinto "Fine settimana";
}
"#;

#[test]
fn hand_written_office_script() {
    let provincia = message(&[
        "From: ced@provincia.esempio.it",
        "Date: Sat, 5 Jan 2008 10:00:00 +0100",
    ]);
    assert_eq!(actions(HAND_WRITTEN, &provincia), vec![keep()]);
    let hops: Vec<String> = (0..6)
        .map(|n| format!("Received: from h{n} by h{}", n + 1))
        .collect();
    let hops: Vec<&str> = hops.iter().map(String::as_str).collect();
    assert_eq!(
        actions(HAND_WRITTEN, &message(&hops)),
        vec![fileinto("Ritardi")]
    );
    let mut case = Case::new(HAND_WRITTEN, common::COYOTE);
    case.from = "bad@phish.example";
    assert_eq!(
        case.actions(),
        vec![Action::Reject {
            reason: "Messaggio rifiutato.".into(),
            extended: false
        }]
    );
    // Saturday 23:30 in New York is Sunday in UTC: either way a weekend.
    let weekend = message(&[
        "From: a@example.org",
        "Date: Sat, 5 Jan 2008 23:30:00 -0500",
    ]);
    assert_eq!(
        actions(HAND_WRITTEN, &weekend),
        vec![fileinto("Fine settimana")]
    );
    // Friday 23:30 in New York is Saturday in UTC, but not where it was written.
    let friday = message(&[
        "From: a@example.org",
        "Date: Fri, 4 Jan 2008 23:30:00 -0500",
    ]);
    assert_eq!(actions(HAND_WRITTEN, &friday), vec![keep()]);
}

#[test]
fn roundcube_vacation_with_iso8601_times() {
    let script = "require [\"vacation\",\"date\",\"relational\"];
# rule:[Ferie]
if allof (currentdate :zone \"+0100\" :value \"ge\" \"iso8601\" \"2008-01-02T04:00:00+01:00\", currentdate :zone \"+0100\" :value \"lt\" \"iso8601\" \"2008-01-02T05:00:00+01:00\")
{
\tvacation :days 3 :subject \"Ferie\" \"In ferie.\";
}
";
    // NOW is 04:04:05 at +01:00: inside the hour.
    let found = actions(script, common::COYOTE);
    assert!(matches!(found[0], Action::Vacation(_)), "{found:?}");
    let later = script.replace("T04:00:00", "T04:05:00");
    assert_eq!(actions(&later, common::COYOTE), vec![keep()]);
}
