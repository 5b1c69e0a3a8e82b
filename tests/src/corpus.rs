//! Synthetic office mail for the benches: the mixed IMAP bench fills its
//! folders and draws its APPENDs from here, and the scale bench its shared
//! bodies, so that both hold the same kind of bytes.
//!
//! Three shapes, in the proportions of an office mailbox:
//!
//! - 55 % plain text, 2 to 8 KB, sometimes quoted-printable;
//! - 30 % `multipart/alternative` (text and HTML), 4 to 24 KB;
//! - 15 % `multipart/mixed` with one to three base64 attachments
//!   (PDF, JPEG or spreadsheet; incompressible bytes, as real ones are)
//!   after a text part, 24 to 200 KB in all.
//!
//! The mean is about 24 KB. Headers are those of delivered mail: two
//! `Received` lines, an encoded-word subject now and then, `Cc` and
//! `In-Reply-To` on some. Lines end in CRLF and stay under 78 characters.
//! Pre-filled message `n` of user `u` is the same on every call; other
//! messages come from the caller's generator.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use fastrand::Rng;

/// The keywords the load stores and the pre-fill sets, `$Label1` to
/// `$Label5` as Thunderbird names its tags.
pub const LABELS: [&str; 5] = ["$Label1", "$Label2", "$Label3", "$Label4", "$Label5"];

/// Dates of the pre-filled messages start here (2025-01-07T08:00:00Z).
const FIRST_DATE: i64 = 1_736_236_800;

/// A pre-filled message with its flags and date.
pub struct Prefilled {
    /// The message, lines ending in CRLF.
    pub raw: Vec<u8>,
    pub seen: bool,
    pub answered: bool,
    pub flagged: bool,
    /// An index into [`LABELS`].
    pub label: Option<usize>,
    /// Its `Date`, also used as INTERNALDATE, in Unix seconds.
    pub date: i64,
}

/// Message `n` of user `user`'s INBOX: three in four read, one in ten
/// answered, one in twenty flagged, one in eight with a label.
pub fn prefilled(user: usize, n: usize, domain: &str) -> Prefilled {
    let mut rng = Rng::with_seed(((user as u64) << 32) ^ n as u64 ^ 0x5eed_c0ff_ee00);
    // About forty messages a working day, oldest first.
    let date = FIRST_DATE + n as i64 * 700 + rng.i64(0..600);
    let raw = message(&mut rng, &mailbox(user, domain), date);
    Prefilled {
        raw,
        seen: rng.u8(0..4) != 0,
        answered: rng.u8(0..10) == 0,
        flagged: rng.u8(0..20) == 0,
        label: (rng.u8(0..8) == 0).then(|| rng.usize(0..LABELS.len())),
        date,
    }
}

/// User `i`'s address.
pub fn mailbox(i: usize, domain: &str) -> String {
    format!("utente{i:03}@{domain}")
}

/// A message to `to` dated `date` (Unix seconds), drawn from `rng`.
pub fn message(rng: &mut Rng, to: &str, date: i64) -> Vec<u8> {
    let mut text = String::new();
    headers(rng, &mut text, to, date);
    match rng.u8(0..100) {
        0..55 => {
            let size = rng.usize(2_000..8_000).saturating_sub(text.len());
            plain_part(rng, &mut text, size);
        }
        55..85 => {
            let size = rng.usize(4_000..24_000);
            alternative(rng, &mut text, size);
        }
        _ => {
            let size = rng.usize(24_000..200_000);
            mixed(rng, &mut text, size);
        }
    }
    text.into_bytes()
}

const SENDERS: [(&str, &str); 8] = [
    ("Ufficio Protocollo", "protocollo@comune.esempio.pu.it"),
    ("Servizio Tributi", "tributi@comune.esempio.pu.it"),
    ("Anna Ferri", "anna.ferri@studiolegale.esempio.it"),
    ("Polizia Locale", "polizia.locale@comune.esempio.pu.it"),
    ("Luca Conti", "l.conti@ingegneri.esempio.org"),
    ("SUAP", "suap@provincia.esempio.pu.it"),
    ("Cooperativa Sociale", "amministrazione@coop.esempio.net"),
    ("Elena Russo", "elena.russo@posta.esempio.it"),
];

const TOPICS: [&str; 12] = [
    "Richiesta di accesso agli atti",
    "Convocazione commissione edilizia",
    "Avviso di pagamento TARI",
    "Determina di impegno di spesa",
    "Pratica SUAP n.",
    "Verbale della seduta",
    "Trasmissione parere tecnico",
    "Sollecito integrazione documentale",
    "Ordinanza viabilità",
    "Fattura elettronica",
    "Graduatoria provvisoria",
    "Aggiornamento anagrafe",
];

const WORDS: [&str; 40] = [
    "con",
    "riferimento",
    "alla",
    "nota",
    "prot.",
    "si",
    "trasmette",
    "in",
    "allegato",
    "la",
    "documentazione",
    "richiesta",
    "entro",
    "il",
    "termine",
    "di",
    "trenta",
    "giorni",
    "dalla",
    "ricezione",
    "ufficio",
    "competente",
    "resta",
    "disposizione",
    "per",
    "ogni",
    "chiarimento",
    "cordiali",
    "saluti",
    "pratica",
    "istruttoria",
    "verifica",
    "è",
    "già",
    "attività",
    "conformità",
    "regolamento",
    "comunale",
    "servizio",
    "pubblicazione",
];

fn pick<'a>(rng: &mut Rng, from: &[&'a str]) -> &'a str {
    from[rng.usize(0..from.len())]
}

fn headers(rng: &mut Rng, text: &mut String, to: &str, date: i64) {
    let (name, from) = SENDERS[rng.usize(0..SENDERS.len())];
    let topic = pick(rng, &TOPICS);
    let number = rng.u32(1..9_999);
    let stamp = rfc5322_date(date);
    let id = rng.u64(..);
    let relay = rng.u8(1..9);
    let _ = write!(
        text,
        "Received: from mx{relay}.esempio.it (mx{relay}.esempio.it [192.0.2.{relay}])\r\n\
         \tby mx.postino.test with ESMTPS id {id:016x}\r\n\
         \tfor <{to}>; {stamp}\r\n\
         Received: from client.esempio.it (client.esempio.it [198.51.100.{relay}])\r\n\
         \tby mx{relay}.esempio.it with ESMTPSA; {stamp}\r\n\
         Date: {stamp}\r\n\
         From: {name} <{from}>\r\n\
         To: <{to}>\r\n"
    );
    if rng.u8(0..4) == 0 {
        let (cc_name, cc) = SENDERS[rng.usize(0..SENDERS.len())];
        let _ = write!(text, "Cc: {cc_name} <{cc}>\r\n");
    }
    // Some subjects arrive as encoded words (RFC 2047).
    let subject = format!("{topic} {number}/2025");
    if rng.u8(0..5) == 0 {
        let encoded: String = subject
            .bytes()
            .map(|b| match b {
                b' ' => "_".to_string(),
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'/' => (b as char).to_string(),
                other => format!("={other:02X}"),
            })
            .collect();
        let _ = write!(text, "Subject: =?UTF-8?Q?{encoded}?=\r\n");
    } else if rng.bool() {
        let _ = write!(text, "Subject: R: {subject}\r\n");
        let _ = write!(text, "In-Reply-To: <{:x}@esempio.it>\r\n", id ^ 0xabcd);
    } else {
        let _ = write!(text, "Subject: {subject}\r\n");
    }
    let _ = write!(text, "Message-ID: <{id:x}.{number}@esempio.it>\r\n");
    text.push_str("MIME-Version: 1.0\r\n");
}

fn rfc5322_date(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S +0000")
        .to_string()
}

/// Running text of about `size` bytes, in lines of 60 to 76 characters.
fn prose(rng: &mut Rng, size: usize) -> String {
    let mut out = String::with_capacity(size + 80);
    let mut line = 0;
    while out.len() < size {
        let word = pick(rng, &WORDS);
        if line > 0 && line + word.len() >= 60 + rng.usize(0..16) {
            out.push_str("\r\n");
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += word.chars().count();
    }
    out.push_str("\r\n");
    out
}

/// Text in quoted-printable, `=E2=80`-style for what is not ASCII.
fn quoted_printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut line = 0;
    for byte in text.bytes() {
        let piece = match byte {
            b'\r' | b'\n' => {
                out.push(byte as char);
                line = 0;
                continue;
            }
            b'=' | 128.. => format!("={byte:02X}"),
            _ => (byte as char).to_string(),
        };
        // Soft line breaks keep lines within 76 characters.
        if line + piece.len() > 73 {
            out.push_str("=\r\n");
            line = 0;
        }
        line += piece.len();
        out.push_str(&piece);
    }
    out
}

/// A text/plain part's headers and a body of about `size` bytes.
fn plain_part(rng: &mut Rng, text: &mut String, size: usize) {
    let body = prose(rng, size);
    if rng.u8(0..3) == 0 {
        text.push_str(
            "Content-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\r\n",
        );
        text.push_str(&quoted_printable(&body));
    } else {
        text.push_str(
            "Content-Type: text/plain; charset=utf-8; format=flowed\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\n",
        );
        text.push_str(&body);
    }
}

fn boundary(rng: &mut Rng, kind: &str) -> String {
    format!("----=_{kind}_{:012x}", rng.u64(..) >> 16)
}

/// The text and HTML parts of an alternative, each about `size / 2`.
fn alternative_body(rng: &mut Rng, text: &mut String, size: usize) {
    let boundary = boundary(rng, "alt");
    let plain = prose(rng, size / 2);
    let _ = write!(
        text,
        "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n\
         --{boundary}\r\n\
         Content-Type: text/html; charset=utf-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n",
        quoted_printable(&plain)
    );
    let mut html = String::from("<html><body style=\"font-family: sans-serif\">\r\n");
    for paragraph in plain.split("\r\n").collect::<Vec<_>>().chunks(4) {
        let _ = write!(html, "<p>{}</p>\r\n", paragraph.join(" "));
    }
    html.push_str("</body></html>\r\n");
    text.push_str(&quoted_printable(&html));
    let _ = write!(text, "\r\n--{boundary}--\r\n");
}

fn alternative(rng: &mut Rng, text: &mut String, size: usize) {
    text.push_str("This is a multi-part message in MIME format.\r\n");
    alternative_body(rng, text, size);
}

const ATTACHMENTS: [(&str, &str); 3] = [
    ("application/pdf", "pdf"),
    ("image/jpeg", "jpg"),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    ),
];

fn mixed(rng: &mut Rng, text: &mut String, size: usize) {
    let boundary = boundary(rng, "mix");
    let _ = write!(
        text,
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         This is a multi-part message in MIME format.\r\n--{boundary}\r\n"
    );
    let text_size = rng.usize(1_000..4_000);
    if rng.bool() {
        alternative_body(rng, text, text_size);
    } else {
        plain_part(rng, text, text_size);
    }
    let count = rng.usize(1..4);
    // base64 grows the bytes by a third.
    let room = size.saturating_sub(text.len()) * 3 / 4;
    for i in 0..count {
        let (mime, extension) = ATTACHMENTS[rng.usize(0..ATTACHMENTS.len())];
        let mut bytes = vec![0; room / count];
        rng.fill(&mut bytes);
        let _ = write!(
            text,
            "\r\n--{boundary}\r\n\
             Content-Type: {mime}; name=\"allegato-{i}.{extension}\"\r\n\
             Content-Disposition: attachment; filename=\"allegato-{i}.{extension}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n"
        );
        let encoded = BASE64.encode(&bytes);
        for line in encoded.as_bytes().chunks(76) {
            // base64 is ASCII: each chunk is a whole string.
            text.push_str(std::str::from_utf8(line).unwrap_or_default());
            text.push_str("\r\n");
        }
    }
    let _ = write!(text, "--{boundary}--\r\n");
}
