//! Who is in the synthetic installation, decided by a mailbox's number
//! alone, so that a database grown in steps (10k, then 100k, then 500k
//! mailboxes) holds what one loaded at once would, and a later run knows
//! every address without reading them back.
//!
//! - Domains (comuni) take consecutive mailbox numbers. Their sizes are
//!   skewed as Italian comuni are: three in four have 5 to 40 mailboxes, one
//!   in two hundred 600 to 3,000; about 64 on average, so 500,000 mailboxes
//!   make some 7,800 domains, the number of comuni in Italy.
//! - Messages per mailbox are skewed too: most hold a few (70 % hold 1 to
//!   8, 25 % 8 to 30, 4.6 % 30 to 150, 0.4 % 150 to 1,500: about 12 on
//!   average, which keeps 500,000 mailboxes within the disk of the 2-core
//!   machine the figures come from), spread over INBOX, Sent, Drafts, Trash, Junk and Archive
//!   and up to four folders of the user's own. On top of that, among the
//!   first 10,000 mailboxes, [`HEAVY`] hold 100,000 to 160,000 messages
//!   each and [`TEN_K_OWNERS`] have a folder of exactly [`TEN_K`] messages,
//!   [`TEN_K_FOLDER`].

use fastrand::Rng;

/// Every draw starts from this.
const SEED: u64 = 0x5ca1_e015;

/// Domain sizes: per mille of domains, and the range of their mailboxes.
const DOMAIN_SIZES: [(u32, usize, usize); 4] = [
    (750, 5, 40),
    (190, 40, 150),
    (55, 150, 600),
    (5, 600, 3_000),
];

/// Messages per ordinary mailbox: per mille of mailboxes, and the range,
/// drawn evenly on a log scale.
const MESSAGE_COUNTS: [(u32, f64, f64); 4] = [
    (700, 1.0, 8.0),
    (250, 8.0, 30.0),
    (46, 30.0, 150.0),
    (4, 150.0, 1_500.0),
];

/// The mailboxes holding 100,000 messages or more, with their count.
pub const HEAVY: [(usize, i64); 4] = [
    (17, 100_000),
    (1_717, 120_000),
    (4_242, 140_000),
    (8_888, 160_000),
];

/// The size of the folders UID FETCH 1:* FLAGS is measured on.
pub const TEN_K: i64 = 10_000;
/// Their name.
pub const TEN_K_FOLDER: &str = "Archivio/2024";
/// Their owners: mailbox 200, 600, 1,000 … below 10,000 (25 of them).
pub const TEN_K_OWNERS: std::ops::Range<usize> = 0..25;

/// The mailbox owning 10k folder `n` of [`TEN_K_OWNERS`].
pub fn ten_k_owner(n: usize) -> usize {
    200 + 400 * n
}

/// Whether mailbox `i` is one of the heavy ones or owns a 10k folder: the
/// samples of ordinary mailboxes leave these out, so that every scale is
/// sampled from the same distribution.
pub fn is_special(i: usize) -> bool {
    HEAVY.iter().any(|&(heavy, _)| heavy == i) || owns_ten_k(i)
}

fn owns_ten_k(i: usize) -> bool {
    i < ten_k_owner(TEN_K_OWNERS.end) && i % 400 == 200
}

/// Where each domain's mailboxes start; domain `k` holds mailboxes
/// `starts[k]..starts[k + 1]`.
pub struct Layout {
    starts: Vec<usize>,
}

impl Layout {
    /// The domains of the first `mailboxes` mailboxes (the last one may
    /// reach beyond).
    pub fn new(mailboxes: usize) -> Layout {
        let mut rng = Rng::with_seed(SEED);
        let mut starts = vec![0];
        let mut next = 0;
        while next < mailboxes {
            let (low, high) = draw_tier(&mut rng, &DOMAIN_SIZES);
            next += rng.usize(low..=high);
            starts.push(next);
        }
        Layout { starts }
    }

    /// The domain holding mailbox `i`.
    pub fn domain_of(&self, i: usize) -> usize {
        self.starts.partition_point(|&start| start <= i) - 1
    }

    /// How many domains the first `mailboxes` mailboxes belong to.
    pub fn domains(&self, mailboxes: usize) -> usize {
        self.starts.partition_point(|&start| start < mailboxes)
    }

    /// How many mailboxes domain `k` has once it is whole.
    pub fn size(&self, k: usize) -> usize {
        self.starts[k + 1] - self.starts[k]
    }

    /// How many of domain `k`'s mailboxes are among the first `mailboxes`.
    pub fn loaded_in(&self, k: usize, mailboxes: usize) -> usize {
        self.starts[k + 1].min(mailboxes) - self.starts[k]
    }
}

pub fn domain_name(k: usize) -> String {
    format!("comune{k:05}.esempio.it")
}

/// Mailbox `i`'s address.
pub fn address(layout: &Layout, i: usize) -> String {
    format!("utente{i}@{}", domain_name(layout.domain_of(i)))
}

/// One folder of a mailbox as loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderPlan {
    pub name: String,
    pub special_use: Option<&'static str>,
    pub messages: i64,
}

/// The folders every mailbox has, in the order the store creates them,
/// with their share of the messages in per mille; INBOX takes what the
/// others leave.
const STANDARD: [(&str, Option<&str>, i64); 6] = [
    ("INBOX", None, 0),
    ("Sent", Some("\\Sent"), 200),
    ("Drafts", Some("\\Drafts"), 10),
    ("Trash", Some("\\Trash"), 50),
    ("Junk", Some("\\Junk"), 20),
    ("Archive", Some("\\Archive"), 80),
];

/// Folders of the user's own, the first few taken; together they hold 90
/// per mille of the messages.
const OWN: [&str; 4] = ["Protocollo", "Progetti", "Personale", "Fornitori"];
const OWN_SHARE: i64 = 90;

/// Mailbox `i`'s folders and how many messages each holds.
pub fn folders(i: usize) -> Vec<FolderPlan> {
    let mut rng = Rng::with_seed(SEED ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let total = HEAVY
        .iter()
        .find(|&&(heavy, _)| heavy == i)
        .map_or_else(|| ordinary_count(&mut rng), |&(_, count)| count);
    let own = match rng.u32(0..100) {
        0..55 => 0,
        55..80 => 1,
        80..92 => 2,
        92..98 => 3,
        _ => 4,
    };
    let mut plan: Vec<FolderPlan> = STANDARD
        .iter()
        .map(|&(name, special_use, share)| FolderPlan {
            name: name.to_string(),
            special_use,
            messages: total * share / 1_000,
        })
        .collect();
    for name in &OWN[..own] {
        plan.push(FolderPlan {
            name: (*name).to_string(),
            special_use: None,
            messages: total * OWN_SHARE / 1_000 / own as i64,
        });
    }
    let placed: i64 = plan.iter().map(|f| f.messages).sum();
    plan[0].messages = total - placed;
    if owns_ten_k(i) {
        plan.push(FolderPlan {
            name: TEN_K_FOLDER.to_string(),
            special_use: None,
            messages: TEN_K,
        });
    }
    plan
}

fn ordinary_count(rng: &mut Rng) -> i64 {
    let (low, high) = draw_tier(rng, &MESSAGE_COUNTS);
    (low * (high / low).powf(rng.f64())).round() as i64
}

/// The range of the tier a roll falls in; each tier's share is per mille.
fn draw_tier<T: Copy>(rng: &mut Rng, tiers: &[(u32, T, T)]) -> (T, T) {
    let mut roll = rng.u32(0..1_000);
    for &(share, low, high) in tiers {
        if roll < share {
            return (low, high);
        }
        roll -= share;
    }
    (tiers[0].1, tiers[0].2)
}
