//! THREAD (RFC 5256 §3): ORDEREDSUBJECT and REFERENCES, pure, over the
//! keys the store keeps for each message (`mime::SortKeys`).
//!
//! REFERENCES follows the six steps of RFC 5256 §4 in order, over an arena
//! of containers (a message, or a dummy standing for a Message ID that no
//! message has). Messages come in mailbox order, so that of two with one
//! Message ID the lower-numbered keeps it (step 1.A). Siblings are ordered
//! by sent date, then by mailbox order; a dummy by its first child.

use std::collections::HashMap;

use postino_common::mime::SortKeys;

use crate::proto::{Thread, ThreadAlgorithm};

/// One message to thread, in mailbox order.
#[derive(Debug, Clone, Copy)]
pub struct Threadable<'a> {
    /// What the answer shows: its sequence number or UID.
    pub number: u32,
    /// The sent date (RFC 5256 §2.2).
    pub date: i64,
    pub keys: &'a SortKeys,
}

/// Threads `messages`, given in mailbox order.
pub fn thread(messages: &[Threadable<'_>], algorithm: ThreadAlgorithm) -> Vec<Thread> {
    match algorithm {
        ThreadAlgorithm::OrderedSubject => ordered_subject(messages),
        ThreadAlgorithm::References => References::new(messages).threads(),
    }
}

/// ORDEREDSUBJECT: messages sorted by base subject then sent date; each
/// run of one base subject is a thread whose first message is the parent
/// of all the others; threads ordered by their first message's date.
fn ordered_subject(messages: &[Threadable<'_>]) -> Vec<Thread> {
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_by(|&a, &b| {
        let (ma, mb) = (&messages[a], &messages[b]);
        (&ma.keys.base_subject, ma.date, a).cmp(&(&mb.keys.base_subject, mb.date, b))
    });
    let mut threads: Vec<(i64, usize, Thread)> = Vec::new();
    for run in
        order.chunk_by(|&a, &b| messages[a].keys.base_subject == messages[b].keys.base_subject)
    {
        let leaf = |i: usize| Thread {
            number: Some(messages[i].number),
            children: Vec::new(),
        };
        let first = run[0];
        threads.push((
            messages[first].date,
            first,
            Thread {
                number: Some(messages[first].number),
                children: run[1..].iter().map(|&i| leaf(i)).collect(),
            },
        ));
    }
    threads.sort_by_key(|(date, index, _)| (*date, *index));
    threads.into_iter().map(|(_, _, thread)| thread).collect()
}

/// A message or a dummy, and its links.
#[derive(Debug, Default)]
struct Container {
    message: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

/// The state of the REFERENCES algorithm.
struct References<'m, 'k> {
    messages: &'m [Threadable<'k>],
    arena: Vec<Container>,
}

impl<'m, 'k> References<'m, 'k> {
    /// Step 1: containers for every message and reference, linked.
    fn new(messages: &'m [Threadable<'k>]) -> References<'m, 'k> {
        let mut this = References {
            messages,
            arena: Vec::with_capacity(messages.len()),
        };
        let mut ids: HashMap<&'k str, usize> = HashMap::with_capacity(messages.len());
        for (index, message) in messages.iter().enumerate() {
            // A message without a Message ID, or with one already taken by
            // a message, gets a container of its own (a unique ID).
            let own = match message.keys.message_id.as_deref() {
                Some(id) => match ids.get(id) {
                    Some(&c) if this.arena[c].message.is_none() => c,
                    Some(_) => this.add(),
                    None => {
                        let c = this.add();
                        ids.insert(id, c);
                        c
                    }
                },
                None => this.add(),
            };
            this.arena[own].message = Some(index);
            // 1.A: each reference the parent of the next, unless the next
            // has a parent already or the link would make a loop.
            let mut previous: Option<usize> = None;
            for reference in &message.keys.references {
                let c = match ids.get(reference.as_str()) {
                    Some(&c) => c,
                    None => {
                        let c = this.add();
                        ids.insert(reference, c);
                        c
                    }
                };
                if let Some(parent) = previous
                    && this.arena[c].parent.is_none()
                    && !this.would_loop(parent, c)
                {
                    this.link(parent, c);
                }
                previous = Some(c);
            }
            // 1.B: the last reference is the message's parent, replacing
            // any parent a truncated References elsewhere gave it.
            this.unlink(own);
            if let Some(parent) = previous
                && !this.would_loop(parent, own)
            {
                this.link(parent, own);
            }
        }
        this
    }

    fn add(&mut self) -> usize {
        self.arena.push(Container::default());
        self.arena.len() - 1
    }

    /// Whether making `parent` the parent of `child` makes a loop: `parent`
    /// is `child` or below it.
    fn would_loop(&self, parent: usize, child: usize) -> bool {
        let mut at = Some(parent);
        while let Some(c) = at {
            if c == child {
                return true;
            }
            at = self.arena[c].parent;
        }
        false
    }

    fn link(&mut self, parent: usize, child: usize) {
        self.arena[child].parent = Some(parent);
        self.arena[parent].children.push(child);
    }

    fn unlink(&mut self, child: usize) {
        if let Some(parent) = self.arena[child].parent.take() {
            self.arena[parent].children.retain(|&c| c != child);
        }
    }

    fn is_dummy(&self, c: usize) -> bool {
        self.arena[c].message.is_none()
    }

    /// Steps 2 to 6.
    fn threads(mut self) -> Vec<Thread> {
        // Step 2: the root set, in the order containers were made.
        let roots: Vec<usize> = (0..self.arena.len())
            .filter(|&c| self.arena[c].parent.is_none())
            .collect();
        // Step 3.
        let mut roots = self.prune(roots, true);
        // Step 4.
        for &root in &roots {
            self.sort_children(root, false);
        }
        self.sort_siblings(&mut roots);
        // Step 5.
        let roots = self.group_by_subject(roots);
        // Step 6.
        let mut roots = roots;
        for &root in &roots {
            self.sort_children(root, true);
        }
        self.sort_siblings(&mut roots);
        roots.iter().map(|&c| self.tree(c)).collect()
    }

    /// Step 3: drops childless dummies and replaces the others by their
    /// children, except a top-level dummy with several children.
    fn prune(&mut self, list: Vec<usize>, top: bool) -> Vec<usize> {
        let mut kept = Vec::with_capacity(list.len());
        for c in list {
            let children = std::mem::take(&mut self.arena[c].children);
            let children = self.prune(children, false);
            if !self.is_dummy(c) || (top && children.len() > 1) {
                self.arena[c].children = children;
                kept.push(c);
            } else {
                kept.extend(children);
            }
        }
        kept
    }

    /// The date and mailbox position a container sorts by: a dummy's
    /// first child's.
    fn sort_key(&self, c: usize) -> (i64, usize) {
        let mut at = c;
        loop {
            match self.arena[at].message {
                Some(m) => return (self.messages[m].date, m),
                None => match self.arena[at].children.first() {
                    Some(&first) => at = first,
                    None => return (i64::MIN, usize::MAX),
                },
            }
        }
    }

    fn sort_siblings(&self, list: &mut [usize]) {
        list.sort_by_key(|&c| self.sort_key(c));
    }

    /// Sorts the children of `c`, and with `deep` all below them first.
    fn sort_children(&mut self, c: usize, deep: bool) {
        let mut children = std::mem::take(&mut self.arena[c].children);
        if deep {
            for &child in &children {
                self.sort_children(child, true);
            }
        }
        self.sort_siblings(&mut children);
        self.arena[c].children = children;
    }

    /// The message a top-level container takes its subject from.
    fn subject_of(&self, c: usize) -> Option<&'k SortKeys> {
        let m = match self.arena[c].message {
            Some(m) => m,
            None => self.arena[*self.arena[c].children.first()?].message?,
        };
        Some(self.messages[m].keys)
    }

    /// Step 5: top-level threads with one base subject merged.
    fn group_by_subject(&mut self, mut roots: Vec<usize>) -> Vec<usize> {
        let mut table: HashMap<&'k str, usize> = HashMap::new();
        for &c in &roots {
            let Some(keys) = self.subject_of(c) else {
                continue;
            };
            if keys.base_subject.is_empty() {
                continue;
            }
            match table.get(keys.base_subject.as_str()) {
                None => {
                    table.insert(&keys.base_subject, c);
                }
                Some(&old) => {
                    let old_reply = self.subject_of(old).is_some_and(|k| k.reply_or_forward);
                    if (self.is_dummy(c) && !self.is_dummy(old))
                        || (old_reply && !keys.reply_or_forward && !self.is_dummy(old))
                    {
                        table.insert(&keys.base_subject, c);
                    }
                }
            }
        }
        let mut index = 0;
        while index < roots.len() {
            let c = roots[index];
            let Some(keys) = self.subject_of(c).filter(|k| !k.base_subject.is_empty()) else {
                index += 1;
                continue;
            };
            let Some(&old) = table.get(keys.base_subject.as_str()) else {
                index += 1;
                continue;
            };
            if old == c {
                index += 1;
                continue;
            }
            let old_reply = self.subject_of(old).is_some_and(|k| k.reply_or_forward);
            if self.is_dummy(c) && self.is_dummy(old) {
                for child in std::mem::take(&mut self.arena[c].children) {
                    self.link(old, child);
                }
            } else if self.is_dummy(old) || (keys.reply_or_forward && !old_reply) {
                self.link(old, c);
            } else {
                let dummy = self.add();
                if let Some(at) = roots.iter().position(|&r| r == old) {
                    roots[at] = dummy;
                }
                self.link(dummy, old);
                self.link(dummy, c);
                table.insert(&keys.base_subject, dummy);
            }
            roots.remove(index);
        }
        roots
    }

    fn tree(&self, c: usize) -> Thread {
        Thread {
            number: self.arena[c].message.map(|m| self.messages[m].number),
            children: self.arena[c]
                .children
                .iter()
                .map(|&c| self.tree(c))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use postino_common::mime::base_subject;

    use super::*;
    use crate::proto::{Data, Response, encode};

    /// `(subject, message-id, references, date)` per message, numbered
    /// from 1 in order.
    fn run(algorithm: ThreadAlgorithm, messages: &[(&str, &str, &str, i64)]) -> String {
        let keys: Vec<SortKeys> = messages
            .iter()
            .map(|(subject, id, refs, _)| {
                let (base, reply) = base_subject(subject);
                SortKeys {
                    base_subject: base,
                    reply_or_forward: reply,
                    message_id: (!id.is_empty()).then(|| id.to_string()),
                    references: refs.split_whitespace().map(str::to_string).collect(),
                    ..SortKeys::default()
                }
            })
            .collect();
        let threadable: Vec<Threadable<'_>> = messages
            .iter()
            .zip(&keys)
            .enumerate()
            .map(|(n, (m, keys))| Threadable {
                number: n as u32 + 1,
                date: m.3,
                keys,
            })
            .collect();
        let threads = thread(&threadable, algorithm);
        let mut out = Vec::new();
        let response = Response::Data(Data::Thread(&threads));
        encode(&response, false, &mut out);
        let out = String::from_utf8(out).expect("ASCII");
        out.trim_start_matches("* THREAD ").trim_end().to_string()
    }

    #[test]
    fn references_links_replies() {
        use ThreadAlgorithm::References as R;
        // A reply chain, a reply by In-Reply-To only (stored as the one
        // reference), and a message on its own.
        let out = run(
            R,
            &[
                ("Budget", "a@x", "", 10),
                ("Re: Budget", "b@x", "a@x", 20),
                ("Lunch", "c@x", "", 15),
                ("Re: Budget", "d@x", "a@x b@x", 30),
                ("Re: Budget", "e@x", "a@x", 25),
            ],
        );
        assert_eq!(out, "(1 (2 4)(5))(3)");
    }

    #[test]
    fn references_dummies_and_subjects() {
        use ThreadAlgorithm::References as R;
        // Two replies to a message not in the mailbox: a dummy with two
        // children stays at the top.
        assert_eq!(
            run(
                R,
                &[("Re: x", "b@x", "a@x", 20), ("Re: x", "c@x", "a@x", 10)]
            ),
            "((2)(1))"
        );
        // One reply to a missing message: it takes the dummy's place.
        assert_eq!(run(R, &[("Re: x", "b@x", "a@x", 20)]), "(1)");
        // Same base subject, no references: the reply goes under the
        // original.
        assert_eq!(
            run(R, &[("Re: Plan", "b@x", "", 20), ("Plan", "a@x", "", 30)]),
            "(2 1)"
        );
        // Neither a reply: a dummy holds both.
        assert_eq!(
            run(R, &[("Plan", "b@x", "", 20), ("Plan", "a@x", "", 10)]),
            "((2)(1))"
        );
        // A duplicate Message ID: the second is a message of its own.
        assert_eq!(
            run(
                R,
                &[
                    ("One", "a@x", "", 10),
                    ("Two", "a@x", "", 20),
                    ("Re: One", "c@x", "a@x", 30)
                ]
            ),
            "(1 3)(2)"
        );
        // References that loop do not link.
        assert_eq!(
            run(R, &[("A", "a@x", "b@x", 10), ("B", "b@x", "a@x", 20)]),
            "(2 1)"
        );
        // Equal dates keep mailbox order.
        assert_eq!(
            run(
                R,
                &[("P", "a@x", "", 5), ("Q", "b@x", "", 5), ("R", "", "", 5)]
            ),
            "(1)(2)(3)"
        );
    }

    #[test]
    fn ordered_subject_groups_by_base_subject() {
        // RFC 5256 §4, ORDEREDSUBJECT.
        let out = run(
            ThreadAlgorithm::OrderedSubject,
            &[
                ("B", "", "", 30),
                ("Re: A", "", "", 20),
                ("A", "", "", 25),
                ("Fwd: B", "", "", 10),
                ("C", "", "", 40),
                ("Re: b", "", "", 50),
            ],
        );
        assert_eq!(out, "(4 (1)(6))(2 3)(5)");
    }
}
