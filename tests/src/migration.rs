//! The source of the migration tests and bench: Dovecot ([`crate::dovecot`])
//! serving mailboxes generated here, and what Postino must hold once they
//! are copied.
//!
//! Each user has an INBOX and seven folders, on Dovecot's Maildir++ layout
//! (hierarchy delimiter `.`, names in modified UTF-7): `Sent`, marked
//! `\Sent` in the configuration; `Bozze` and `Cestino`, which Postino must
//! recognise by name as Drafts and Trash; `Lavoro` with two levels below
//! it, the last with an accented name; and a top-level name with an
//! accent and a character outside the BMP. Messages come from
//! [`crate::corpus`] (2 to 200 KB), with flags (seen, answered, flagged,
//! deleted, and draft in `Bozze`) and keywords drawn at random, each
//! folder's dates distinct; the first user's INBOX also gets `large`
//! messages of 5 to 9 MB.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use fastrand::Rng;
use postino_common::mailbox_name;

use crate::TestConfig;
use crate::corpus;
use crate::dovecot::{Dovecot, Setup, maildir_folder, write_message};

/// The domain the users' mailboxes are in, at Postino.
pub const DOMAIN: &str = "comune.migra.test";
/// Every user's password at the source: a comma and a quote, so that the
/// CSV must quote it.
pub const PASSWORD: &str = "vecchia,\"parola\"1";
/// The keywords messages may have, as letters `a` to `d` of every folder's
/// `dovecot-keywords`.
pub const KEYWORDS: [&str; 4] = ["$Label1", "$Label2", "$Forwarded", "Urgente"];

/// Each folder: its name at Dovecot (delimiter `.`), the name it must
/// have at Postino, and its share of a user's messages in percent.
pub const FOLDERS: [(&str, &str, usize); 8] = [
    ("INBOX", "INBOX", 40),
    ("Sent", "Sent", 15),
    ("Bozze", "Drafts", 3),
    ("Cestino", "Trash", 7),
    ("Lavoro", "Lavoro", 10),
    ("Lavoro.Pratiche", "Lavoro/Pratiche", 10),
    (
        "Lavoro.Pratiche.Città di Bari",
        "Lavoro/Pratiche/Città di Bari",
        10,
    ),
    ("Tributi è 🚀", "Tributi è 🚀", 5),
];

/// Dovecot's configuration for the folders above: the `\Sent` attribute on
/// `Sent` only.
const NAMESPACE: &str = "namespace inbox {\n  inbox = yes\n  separator = .\n  \
    mailbox Sent {\n    special_use = \\Sent\n  }\n}\n";

/// A message as Postino must hold it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Expected {
    pub date: i64,
    pub size: usize,
    /// A hash of the bytes (CRLF line ends, as IMAP serves them).
    pub hash: u64,
    /// IMAP names of its flags and keywords, sorted.
    pub flags: Vec<String>,
}

/// A user at the source and what Postino must hold for it.
pub struct User {
    pub login: String,
    pub address: String,
    /// By Postino's folder name, in date order.
    pub folders: BTreeMap<String, Vec<Expected>>,
}

impl User {
    pub fn messages(&self) -> usize {
        self.folders.values().map(Vec::len).sum()
    }

    pub fn bytes(&self) -> usize {
        self.folders.values().flatten().map(|m| m.size).sum()
    }
}

/// A hash of message bytes, as [`Expected`] keeps it.
pub fn hash(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

/// Starts Dovecot with `users` users of `messages` messages each (split
/// over the folders), plus `large` large ones in the first user's INBOX.
pub async fn source(
    users: usize,
    messages: usize,
    large: usize,
) -> Result<(Dovecot, Vec<User>), String> {
    source_with(users, messages, large, "").await
}

/// [`source`], with `extra` Dovecot configuration (TLS, a master passdb).
pub async fn source_with(
    users: usize,
    messages: usize,
    large: usize,
    extra: &str,
) -> Result<(Dovecot, Vec<User>), String> {
    let setup = Setup::new()?;
    // The users' maildirs are written side by side.
    let fills: Vec<_> = (0..users)
        .map(|user| {
            let home = setup.home(&format!("vecchio{user}"));
            let large = if user == 0 { large } else { 0 };
            tokio::task::spawn_blocking(move || fill_user(&home, user, messages, large))
        })
        .collect();
    let mut made = Vec::with_capacity(users);
    for (user, fill) in fills.into_iter().enumerate() {
        let folders = fill
            .await
            .map_err(|err| format!("a maildir writer panicked: {err}"))??;
        made.push(User {
            login: format!("vecchio{user}"),
            address: format!("utente{user}@{DOMAIN}"),
            folders,
        });
    }
    let passwd: Vec<(String, String)> = made
        .iter()
        .map(|u| (u.login.clone(), format!("{{PLAIN}}{PASSWORD}")))
        .collect();
    let dovecot = setup.start(&passwd, &format!("{NAMESPACE}{extra}")).await?;
    Ok((dovecot, made))
}

/// Adds the users' mailboxes to `config`'s store, writes their CSV beside
/// it, and returns the arguments of `postino migrate imap` copying them
/// from `source`, `jobs` at a time, with a JSON report.
pub async fn migration_args(
    config: &TestConfig,
    source: &Dovecot,
    users: &[User],
    jobs: usize,
) -> Vec<String> {
    config.cli(&["domain", "add", DOMAIN], None).await.ok();
    for user in users {
        config
            .cli(&["mailbox", "add", &user.address], None)
            .await
            .ok();
    }
    let csv = config.dir().join("mailboxes.csv");
    let lines: String = users.iter().map(csv_line).collect();
    std::fs::write(&csv, format!("address,user,password\n{lines}")).expect("write the CSV");
    [
        "migrate",
        "imap",
        "--source",
        &source.addr.to_string(),
        "--plain",
        "--jobs",
        &jobs.to_string(),
        "--json",
        csv.to_str().expect("a UTF-8 path"),
    ]
    .map(str::to_string)
    .to_vec()
}

/// The CSV line of `user`, with its password quoted.
pub fn csv_line(user: &User) -> String {
    format!(
        "{},{},\"{}\"\n",
        user.address,
        user.login,
        PASSWORD.replace('"', "\"\"")
    )
}

fn fill_user(
    home: &std::path::Path,
    user: usize,
    messages: usize,
    large: usize,
) -> Result<BTreeMap<String, Vec<Expected>>, String> {
    let mut rng = Rng::with_seed(0x6d69_6772 ^ user as u64);
    let mut expected = BTreeMap::new();
    let to = corpus::mailbox(user, DOMAIN);
    for (dovecot_name, ours, share) in FOLDERS {
        let dir = match dovecot_name {
            "INBOX" => home.to_path_buf(),
            name => home.join(format!(".{}", mailbox_name::encode(name))),
        };
        maildir_folder(&dir, dovecot_name == "INBOX", &KEYWORDS)?;
        let count = messages * share / 100;
        let mut list = Vec::with_capacity(count + large);
        // Distinct dates, a few minutes apart, from 2024-01-01.
        let mut date = 1_704_067_200 + rng.i64(0..3_600);
        for n in 0..count {
            date += rng.i64(60..900);
            let raw = corpus::message(&mut rng, &to, date);
            let drafts = ours == "Drafts";
            list.push(write(&dir, &mut rng, n, &raw, date, drafts)?);
        }
        if dovecot_name == "INBOX" {
            for n in 0..large {
                date += 3_600;
                let raw = large_message(&mut rng, &to, date, (5 + 2 * n % 5) << 20);
                list.push(write(&dir, &mut rng, count + n, &raw, date, false)?);
            }
        }
        list.sort();
        expected.insert(ours.to_string(), list);
    }
    Ok(expected)
}

/// Writes one message with random flags and keywords; what Postino must
/// then hold.
fn write(
    dir: &std::path::Path,
    rng: &mut Rng,
    n: usize,
    raw: &[u8],
    date: i64,
    drafts: bool,
) -> Result<Expected, String> {
    let mut letters = String::new();
    let mut flags = Vec::new();
    // Maildir letters in ASCII order, with their IMAP names.
    for (set, letter, name) in [
        (drafts && rng.bool(), 'D', "\\Draft"),
        (rng.u8(0..10) == 0, 'F', "\\Flagged"),
        (rng.u8(0..5) == 0, 'R', "\\Answered"),
        (rng.u8(0..10) < 7, 'S', "\\Seen"),
        (rng.u8(0..30) == 0, 'T', "\\Deleted"),
    ] {
        if set {
            letters.push(letter);
            flags.push(name.to_string());
        }
    }
    for (at, keyword) in KEYWORDS.iter().enumerate() {
        if rng.u8(0..8) == 0 {
            letters.push((b'a' + at as u8) as char);
            flags.push(keyword.to_string());
        }
    }
    flags.sort();
    write_message(dir, &format!("M{n}.migra"), raw, &letters, date)?;
    Ok(Expected {
        date,
        size: raw.len(),
        hash: hash(raw),
        flags,
    })
}

/// A message of about `size` bytes: a text part and a base64 attachment.
fn large_message(rng: &mut Rng, to: &str, date: i64, size: usize) -> Vec<u8> {
    let mut text = format!(
        "From: archivio@vecchio.example\r\nTo: {to}\r\nSubject: Allegato grande\r\n\
         Message-ID: <{date}.large@vecchio.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain\r\n\r\nIn allegato.\r\n--b\r\n\
         Content-Type: application/pdf; name=\"atto.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    );
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    while text.len() < size {
        let line: String = (0..76)
            .map(|_| ALPHABET[rng.usize(0..64)] as char)
            .collect();
        text.push_str(&line);
        text.push_str("\r\n");
    }
    text.push_str("--b--\r\n");
    text.into_bytes()
}

/// Opens every folder of every user once, so that Dovecot builds its
/// indexes before a measured run, as a server in service has them.
pub async fn warm(dovecot: &Dovecot, users: &[User]) {
    for user in users {
        let mut client = crate::imap::ImapClient::connect(dovecot.addr).await;
        let password = PASSWORD.replace('\\', "\\\\").replace('"', "\\\"");
        client
            .command(&format!("LOGIN {} \"{password}\"", user.login))
            .await
            .ok();
        for (name, _, _) in FOLDERS {
            client
                .command(&format!("EXAMINE \"{}\"", mailbox_name::encode(name)))
                .await
                .ok();
        }
        client.logout().await;
    }
}
