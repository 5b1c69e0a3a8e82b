//! `postino queue`: the outbound queue, its messages and their recipients'
//! states; retrying and removing messages.

use clap::Subcommand;
use postino_common::store::{QueueEntry, now};

use super::print::{ListFormat, print, print_list, size_text};
use crate::ops::{self, Ops};

#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// List queued messages, oldest first.
    List(ListFormat),
    /// Show a queued message with each recipient's state and last reply.
    Show {
        /// The message's id, as `queue list` shows it.
        id: String,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Make a message (or every one) due now, deferred recipients included.
    Retry {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Every queued message.
        #[arg(long)]
        all: bool,
    },
    /// Remove a message from the queue, undelivered to its open recipients.
    Remove { id: String },
}

pub async fn run(ops: &Ops, command: QueueCommand) -> anyhow::Result<()> {
    match command {
        QueueCommand::List(format) => {
            let entries = ops.queue().await?;
            print_list(&format, &entries, queue_table)?;
        }
        QueueCommand::Show { id, format } => {
            let entry = ops.queued(&id).await?;
            print(&format, &entry, queue_details)?;
        }
        QueueCommand::Retry { id, .. } => {
            let retried = ops.retry_queued(id.as_deref()).await?;
            match retried.id {
                Some(id) => println!("message {id} is due now"),
                None => println!("{} queued messages are due now", retried.messages),
            }
        }
        QueueCommand::Remove { id } => {
            let entry = ops.remove_queued(&id).await?;
            let open = entry.recipients.iter().filter(|r| r.is_open()).count();
            println!(
                "removed message {} from the queue; {open} recipients will not get it",
                entry.id
            );
        }
    }
    Ok(())
}

fn queue_sender(entry: &QueueEntry) -> &str {
    if entry.sender.is_empty() {
        "<>"
    } else {
        &entry.sender
    }
}

/// When a message is tried next, or that a worker holds it now.
fn queue_next(entry: &QueueEntry) -> String {
    if entry.leased_until > now() {
        "sending now".to_string()
    } else {
        ops::utc(entry.next_attempt_at)
    }
}

/// Its recipients counted by state, such as `2 deferred, 1 delivered`.
fn queue_states(entry: &QueueEntry) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for r in &entry.recipients {
        match counts.iter_mut().find(|(status, _)| *status == r.status) {
            Some((_, n)) => *n += 1,
            None => counts.push((&r.status, 1)),
        }
    }
    let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    parts.join(", ")
}

fn queue_table(entries: &[QueueEntry]) {
    println!(
        "{:>8} {:<40} {:>10} {:<20} {:<20} RECIPIENTS",
        "ID", "SENDER", "SIZE", "QUEUED", "NEXT ATTEMPT"
    );
    for e in entries {
        println!(
            "{:>8} {:<40} {:>10} {:<20} {:<20} {}",
            e.id,
            queue_sender(e),
            size_text(e.size),
            ops::utc(e.created_at),
            queue_next(e),
            queue_states(e)
        );
    }
}

fn queue_details(entry: &QueueEntry) {
    println!("{:<13} {}", "id", entry.id);
    println!("{:<13} {}", "sender", queue_sender(entry));
    println!("{:<13} {}", "size", size_text(entry.size));
    println!("{:<13} {}", "queued", ops::utc(entry.created_at));
    println!("{:<13} {}", "next attempt", queue_next(entry));
    let sending = entry.leased_until > now();
    if let Some(worker) = entry.leased_by.as_deref().filter(|_| sending) {
        println!("{:<13} {worker}", "worker");
    }
    println!();
    println!(
        "{:<40} {:<10} {:>8}  LAST REPLY",
        "RECIPIENT", "STATUS", "ATTEMPTS"
    );
    for r in &entry.recipients {
        println!(
            "{:<40} {:<10} {:>8}  {}",
            r.address,
            r.status,
            r.attempts,
            r.last_reply.as_deref().unwrap_or("-")
        );
    }
}
