//! The outbound queue as an operator sees it: list, show, retry, remove.
//!
//! A queued message belongs to the domain of its envelope sender. A comune
//! admin sees and touches only messages sent from its own domains; the
//! others, bounces from the null sender included, do not exist for it. An
//! all-domains admin, and the operator at the command line, reach the
//! whole queue.
//!
//! Retry and remove act on the queue rows in the store while delivery
//! workers may be running: a retry makes a message due at once (the next
//! poll takes it), and a removal deletes it undelivered. A message that a
//! worker is sending at that very moment may still arrive once; its
//! outcome is then recorded nowhere.

use postino_common::store::{AdminScope, QueueEntry};
use serde::Serialize;

use super::{Ops, OpsError, Result};

/// What a retry did: the messages made due now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retried {
    /// The message asked for, or `None` for every one in scope.
    pub id: Option<i64>,
    pub messages: u64,
}

/// A queue id as an operator types it: a positive whole number.
fn parse_id(text: &str) -> Result<i64> {
    match text.trim().parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(OpsError::Invalid {
            field: "id",
            message: format!("`{text}` is not a queue id (the number `queue list` shows)"),
        }),
    }
}

fn queued_not_found(id: impl ToString) -> OpsError {
    OpsError::NotFound {
        what: "queued message",
        name: id.to_string(),
    }
}

/// The domain of a message's envelope sender, in lower case; `None` for
/// the null sender.
fn sender_domain(entry: &QueueEntry) -> Option<String> {
    entry
        .sender
        .rsplit_once('@')
        .map(|(_, domain)| domain.to_ascii_lowercase())
}

impl Ops {
    /// Whether the actor may see and manage a queued message.
    fn covers_queued(&self, entry: &QueueEntry) -> bool {
        match &self.actor.scope {
            AdminScope::AllDomains => true,
            scope => sender_domain(entry).is_some_and(|domain| scope.covers(&domain)),
        }
    }

    /// The queued messages the actor may see, oldest first.
    pub async fn queue(&self) -> Result<Vec<QueueEntry>> {
        let mut entries = self.store.queue_entries().await?;
        entries.retain(|e| self.covers_queued(e));
        Ok(entries)
    }

    /// One queued message with its recipients' states.
    pub async fn queued(&self, id: &str) -> Result<QueueEntry> {
        let id = parse_id(id)?;
        self.store
            .queue_entry(id)
            .await?
            .filter(|e| self.covers_queued(e))
            .ok_or_else(|| queued_not_found(id))
    }

    /// Makes one message (`Some(id)`) or every message in scope (`None`)
    /// due now, deferred recipients included.
    pub async fn retry_queued(&self, id: Option<&str>) -> Result<Retried> {
        let (id, entries) = match id {
            Some(text) => {
                let entry = self.queued(text).await?;
                (Some(entry.id), vec![entry])
            }
            None => (None, self.queue().await?),
        };
        let mut tx = self.store.begin().await?;
        let messages = match (id, &self.actor.scope) {
            (None, AdminScope::AllDomains) => tx.retry_queued(None).await?,
            _ => {
                let mut count = 0;
                for entry in &entries {
                    count += tx.retry_queued(Some(entry.id)).await?;
                }
                count
            }
        };
        if let Some(id) = id
            && messages == 0
        {
            // Delivered or removed since it was read.
            return Err(queued_not_found(id));
        }
        let retried = Retried { id, messages };
        let domain = match entries.as_slice() {
            [entry] if id.is_some() => sender_domain(entry),
            _ => None,
        };
        let target = id.map_or_else(|| "all".to_string(), |id| id.to_string());
        self.audit(
            &mut tx,
            "queue.retry",
            domain.as_deref(),
            &target,
            None::<&()>,
            Some(&retried),
        )
        .await?;
        tx.commit().await?;
        Ok(retried)
    }

    /// Removes a message from the queue, undelivered to its open
    /// recipients, and returns it as it was.
    pub async fn remove_queued(&self, id: &str) -> Result<QueueEntry> {
        let entry = self.queued(id).await?;
        let mut tx = self.store.begin().await?;
        if !tx.remove_queued(entry.id).await? {
            return Err(queued_not_found(entry.id));
        }
        self.audit(
            &mut tx,
            "queue.remove",
            sender_domain(&entry).as_deref(),
            &entry.id.to_string(),
            Some(&entry),
            None::<&()>,
        )
        .await?;
        tx.commit().await?;
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use postino_common::store::{NewMessage, Outbound, OutboundRecipient, Store};
    use std::sync::Arc;

    use super::*;
    use crate::ops::testing::ops;

    postino_common::store_tests!(comune_admins_reach_only_their_senders_messages);

    const COMUNE: &str = "comune.esempio.pu.it";

    async fn enqueue(store: &Store, sender: &str) -> i64 {
        let raw = format!("From: <{sender}>\r\nSubject: x\r\n\r\n{sender}\r\n");
        let message = NewMessage {
            raw: Arc::from(raw.into_bytes()),
            targets: Vec::new(),
            outbound: vec![Outbound {
                sender: sender.to_string(),
                recipients: vec![OutboundRecipient {
                    address: "amico@esterno.example".to_string(),
                    ..OutboundRecipient::default()
                }],
                ..Outbound::default()
            }],
            sent_by: None,
        };
        let stored = store.append(message).await.unwrap().unwrap();
        stored.queue_ids[0]
    }

    async fn comune_admins_reach_only_their_senders_messages(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        let comune = ops(&store, AdminScope::Domains(vec![COMUNE.to_string()]));
        let own = enqueue(&store, "anna@Comune.Esempio.PU.it").await;
        let other = enqueue(&store, "bea@altro.example").await;
        let bounce = enqueue(&store, "").await;

        let ids = |entries: Vec<QueueEntry>| -> Vec<i64> { entries.iter().map(|e| e.id).collect() };
        assert_eq!(ids(comune.queue().await.unwrap()), [own]);
        assert_eq!(ids(provincia.queue().await.unwrap()), [own, other, bounce]);
        assert_eq!(comune.queued(&own.to_string()).await.unwrap().id, own);
        for hidden in [other, bounce] {
            let refused = comune.queued(&hidden.to_string()).await;
            assert!(
                matches!(
                    &refused,
                    Err(OpsError::NotFound {
                        what: "queued message",
                        ..
                    })
                ),
                "{refused:?}"
            );
            assert!(comune.remove_queued(&hidden.to_string()).await.is_err());
            assert!(
                comune
                    .retry_queued(Some(&hidden.to_string()))
                    .await
                    .is_err()
            );
        }
        let bad = comune.queued("abc").await;
        assert!(
            matches!(&bad, Err(OpsError::Invalid { field: "id", .. })),
            "{bad:?}"
        );

        let all = comune.retry_queued(None).await.unwrap();
        assert_eq!(
            all,
            Retried {
                id: None,
                messages: 1
            }
        );
        let all = provincia.retry_queued(None).await.unwrap();
        assert_eq!(all.messages, 3);
        let one = comune.retry_queued(Some(&own.to_string())).await.unwrap();
        assert_eq!(
            one,
            Retried {
                id: Some(own),
                messages: 1
            }
        );

        let removed = comune.remove_queued(&own.to_string()).await.unwrap();
        assert_eq!(removed.id, own);
        assert!(comune.queue().await.unwrap().is_empty());
        assert_eq!(ids(provincia.queue().await.unwrap()), [other, bounce]);

        let audit = store.audit_log(None, 10).await.unwrap();
        let entries: Vec<(&str, &str, Option<&str>)> = audit
            .iter()
            .map(|e| (e.action.as_str(), e.target.as_str(), e.domain.as_deref()))
            .collect();
        let own = own.to_string();
        assert_eq!(
            entries,
            [
                ("queue.remove", own.as_str(), Some(COMUNE)),
                ("queue.retry", own.as_str(), Some(COMUNE)),
                ("queue.retry", "all", None),
                ("queue.retry", "all", None),
            ]
        );
    }

    #[test]
    fn ids_are_positive_numbers() {
        assert_eq!(parse_id(" 42 ").unwrap(), 42);
        for bad in ["", "0", "-3", "abc", "4.2", "99999999999999999999"] {
            assert!(parse_id(bad).is_err(), "{bad}");
        }
    }
}
