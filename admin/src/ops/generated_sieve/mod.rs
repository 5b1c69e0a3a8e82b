//! A mailbox's out-of-office reply and forwarding, as the console's pages
//! and the API set them: settings that become one generated Sieve script
//! (`script`), stored and made the mailbox's active script in one
//! transaction with the audit entry of the change.
//!
//! A mailbox user sets its own ([`Whose::Own`]); an admin sets them on a
//! mailbox of its scope ([`Whose::Mailbox`]), so that a comune admin can
//! switch on an absent colleague's reply. Each change is audited as
//! `mailbox.vacation` or `mailbox.forwarding`, naming the actor and the
//! mailbox, with the dates, the forwarding address and the active script
//! before and after; never the reply's subject or text, which may say why
//! someone is away.
//!
//! A mailbox whose active script was written by hand (over ManageSieve or
//! with `postino sieve put`) keeps it until a change says to replace it:
//! without `replace`, saving is refused as a conflict. Replacing makes the
//! generated script the active one; the hand-written script stays stored,
//! inactive, so it can be activated again (the generated script itself,
//! edited by hand, is kept as [`EDITED_NAME`]).

mod italian_time;
mod script;

use postino_common::store::Account;
use postino_config::SieveConfig;
use serde::Serialize;

use super::{Ops, OpsError, Result};

pub use script::{Day, Forwarding, SCRIPT_NAME, Settings, Vacation};

/// Where a hand-edited generated script is kept when the settings replace
/// it.
const EDITED_NAME: &str = "postino-edited";

/// Whose settings: the logged-in mailbox user's, or a mailbox's that the
/// admin acting manages.
#[derive(Debug, Clone, Copy)]
pub enum Whose<'a> {
    Own,
    Mailbox(&'a str),
}

/// A mailbox's settings and whether delivery runs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The settings of the generated script, if it is one this version
    /// wrote; else everything off.
    pub settings: Settings,
    /// The mailbox's active script, if any.
    pub active_script: Option<String>,
    /// Whether the active script is the generated one, holding `settings`.
    pub generated_active: bool,
}

impl Generated {
    /// Whether the settings are stored but not run: no script is active
    /// (deactivated over ManageSieve or with `postino sieve`). Saving
    /// activates them again.
    pub fn dormant(&self) -> bool {
        self.active_script.is_none() && self.settings != Settings::default()
    }

    /// Whether saving would replace an active script written by hand.
    pub fn replaces(&self) -> Option<&str> {
        self.active_script
            .as_deref()
            .filter(|_| !self.generated_active)
    }
}

/// What a change of the reply records: no texts.
#[derive(Serialize)]
struct AuditedVacation<'a> {
    enabled: bool,
    start: Option<Day>,
    end: Option<Day>,
    active_script: Option<&'a str>,
}

impl<'a> AuditedVacation<'a> {
    fn of(vacation: &Vacation, active_script: Option<&'a str>) -> AuditedVacation<'a> {
        AuditedVacation {
            enabled: vacation.enabled,
            start: vacation.start,
            end: vacation.end,
            active_script,
        }
    }
}

#[derive(Serialize)]
struct AuditedForwarding<'a> {
    #[serde(flatten)]
    forwarding: &'a Forwarding,
    active_script: Option<&'a str>,
}

impl Ops {
    async fn rules_account(&self, whose: Whose<'_>) -> Result<Account> {
        match whose {
            Whose::Own => self.own_account().await,
            Whose::Mailbox(address) => self.managed_account(address).await,
        }
    }

    async fn generated_of(&self, account: &Account) -> Result<Generated> {
        let active = self.store.active_sieve_script(account.id).await?;
        let source = match &active {
            Some(script) if script.name == SCRIPT_NAME => Some(script.source.clone()),
            _ => self.store.sieve_script(account.id, SCRIPT_NAME).await?,
        };
        let settings = source.as_deref().and_then(script::read);
        let generated_active =
            settings.is_some() && active.as_ref().is_some_and(|s| s.name == SCRIPT_NAME);
        Ok(Generated {
            settings: settings.unwrap_or_default(),
            active_script: active.map(|script| script.name),
            generated_active,
        })
    }

    /// A mailbox's out-of-office reply and forwarding.
    pub async fn generated_sieve(&self, whose: Whose<'_>) -> Result<Generated> {
        let account = self.rules_account(whose).await?;
        self.generated_of(&account).await
    }

    /// Sets a mailbox's out-of-office reply, keeping its forwarding.
    pub async fn set_vacation(
        &self,
        whose: Whose<'_>,
        vacation: Vacation,
        replace: bool,
        limits: &SieveConfig,
    ) -> Result<Generated> {
        let account = self.rules_account(whose).await?;
        let vacation = vacation.checked()?;
        let current = self.generated_of(&account).await?;
        let settings = Settings {
            vacation,
            forwarding: current.settings.forwarding.clone(),
        };
        let before =
            AuditedVacation::of(&current.settings.vacation, current.active_script.as_deref());
        let after = AuditedVacation::of(&settings.vacation, Some(SCRIPT_NAME));
        let change = Change {
            action: "mailbox.vacation",
            before: &before,
            after: &after,
        };
        self.write_generated(&account, &current, &settings, replace, limits, change)
            .await
    }

    /// Sets a mailbox's forwarding, keeping its out-of-office reply.
    pub async fn set_forwarding(
        &self,
        whose: Whose<'_>,
        forwarding: Forwarding,
        replace: bool,
        limits: &SieveConfig,
    ) -> Result<Generated> {
        let account = self.rules_account(whose).await?;
        let forwarding = forwarding.checked(&account.address)?;
        let current = self.generated_of(&account).await?;
        let settings = Settings {
            vacation: current.settings.vacation.clone(),
            forwarding,
        };
        let before = AuditedForwarding {
            forwarding: &current.settings.forwarding,
            active_script: current.active_script.as_deref(),
        };
        let after = AuditedForwarding {
            forwarding: &settings.forwarding,
            active_script: Some(SCRIPT_NAME),
        };
        let change = Change {
            action: "mailbox.forwarding",
            before: &before,
            after: &after,
        };
        self.write_generated(&account, &current, &settings, replace, limits, change)
            .await
    }

    /// Stores the script of `settings` and makes it the active one, with
    /// the audit entry of `change`; refused without `replace` if the
    /// active script was written by hand.
    async fn write_generated<B: Serialize, A: Serialize>(
        &self,
        account: &Account,
        current: &Generated,
        settings: &Settings,
        replace: bool,
        limits: &SieveConfig,
        change: Change<'_, B, A>,
    ) -> Result<Generated> {
        if let Some(name) = current.replaces()
            && !replace
        {
            return Err(OpsError::Conflict(format!(
                "the active sieve script `{name}` was not written here; \
                 saving replaces it as the active script only when asked to (replace)"
            )));
        }
        // The aliases delivering to the mailbox, so that mail sent to them
        // is answered too; a catch-all is not an address of the mailbox.
        let addresses: Vec<String> = self
            .store
            .aliases_to(&account.address)
            .await?
            .into_iter()
            .filter(|source| !source.starts_with('@'))
            .collect();
        let source = script::generate(settings, &addresses);
        self.check_script(account, SCRIPT_NAME, &source, limits)
            .await?;
        let mut tx = self.store.begin().await?;
        // The generated script edited by hand is kept, as any other
        // hand-written script is, under a name of its own.
        if current.replaces() == Some(SCRIPT_NAME) {
            tx.rename_sieve_script(account.id, SCRIPT_NAME, EDITED_NAME)
                .await?;
        }
        tx.put_sieve_script(account.id, SCRIPT_NAME, &source, limits.max_scripts_size.0)
            .await?;
        if !current.generated_active {
            tx.activate_sieve_script(account.id, Some(SCRIPT_NAME))
                .await?;
        }
        let domain = account.address.rsplit_once('@').map(|(_, domain)| domain);
        self.audit(
            &mut tx,
            change.action,
            domain,
            &account.address,
            Some(change.before),
            Some(change.after),
        )
        .await?;
        tx.commit().await?;
        Ok(Generated {
            settings: settings.clone(),
            active_script: Some(SCRIPT_NAME.to_string()),
            generated_active: true,
        })
    }
}

/// A change's audit entry.
struct Change<'a, B, A> {
    action: &'static str,
    before: &'a B,
    after: &'a A,
}

#[cfg(test)]
mod tests {
    use postino_common::store::{AdminScope, Store};

    use super::*;
    use crate::ops::Actor;
    use crate::ops::testing::{acting, ops};

    postino_common::store_tests!(
        users_and_admins_set_replies_and_forwarding,
        comune_admins_set_only_their_own_domains_mailboxes,
        a_hand_written_script_is_replaced_only_when_asked
    );

    const COMUNE: &str = "comune.esempio.pu.it";
    const ANNA: &str = "anna@comune.esempio.pu.it";
    const ALTRO: &str = "mario@altro.esempio.it";

    async fn site(store: &Store) -> Ops {
        let provincia = ops(store, AdminScope::AllDomains);
        for address in [ANNA, ALTRO] {
            let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap();
            provincia.add_domain(domain, 0, 0).await.unwrap();
            provincia.add_mailbox(address, None, 0, "").await.unwrap();
        }
        provincia
            .add_alias(&format!("ufficio@{COMUNE}"), &[ANNA.to_string()])
            .await
            .unwrap();
        provincia
    }

    fn away() -> Vacation {
        Vacation {
            enabled: true,
            start: Some("2026-12-24".parse().unwrap()),
            end: Some("2027-01-06".parse().unwrap()),
            subject: "Ferie".to_string(),
            message: "Sono in ferie, rientro il 7 gennaio.".to_string(),
        }
    }

    fn forward() -> Forwarding {
        Forwarding {
            enabled: true,
            forward_to: "collega@altro.esempio.it".to_string(),
            keep_copy: false,
        }
    }

    async fn users_and_admins_set_replies_and_forwarding(store: Store) {
        let provincia = site(&store).await;
        let anna = acting(
            &store,
            Actor::mailbox_user(ANNA.to_string(), "192.0.2.9".to_string()),
        );
        let limits = SieveConfig::default();
        let nothing = anna.generated_sieve(Whose::Own).await.unwrap();
        assert_eq!(
            nothing,
            Generated {
                settings: Settings::default(),
                active_script: None,
                generated_active: false,
            }
        );
        let set = anna
            .set_vacation(Whose::Own, away(), false, &limits)
            .await
            .unwrap();
        assert_eq!(set.settings.vacation, away());
        assert!(set.generated_active);
        let set = provincia
            .set_forwarding(Whose::Mailbox(ANNA), forward(), false, &limits)
            .await
            .unwrap();
        // Each form keeps what the other set.
        assert_eq!(
            set.settings,
            Settings {
                vacation: away(),
                forwarding: forward()
            }
        );
        assert_eq!(anna.generated_sieve(Whose::Own).await.unwrap(), set);

        let scripts = provincia.sieve_scripts(ANNA).await.unwrap();
        assert_eq!(scripts.len(), 1);
        assert_eq!(
            (scripts[0].name.as_str(), scripts[0].active),
            (SCRIPT_NAME, true)
        );
        let source = provincia.sieve_script(ANNA, SCRIPT_NAME).await.unwrap();
        assert!(
            source.contains(":addresses [\"ufficio@comune.esempio.pu.it\"]"),
            "{source}"
        );
        assert!(
            source.contains("redirect \"collega@altro.esempio.it\";"),
            "{source}"
        );

        let own = anna
            .set_forwarding(
                Whose::Own,
                Forwarding {
                    forward_to: ANNA.to_string(),
                    ..forward()
                },
                false,
                &limits,
            )
            .await;
        assert!(
            matches!(
                own,
                Err(OpsError::Invalid {
                    field: "forward_to",
                    ..
                })
            ),
            "{own:?}"
        );
        // A mailbox user reaches its own mailbox only, and only as its own.
        for refused in [
            anna.generated_sieve(Whose::Mailbox(ANNA)).await,
            anna.generated_sieve(Whose::Mailbox(ALTRO)).await,
        ] {
            assert!(
                matches!(refused, Err(OpsError::NotFound { .. })),
                "{refused:?}"
            );
        }
        let admin_own = provincia.generated_sieve(Whose::Own).await;
        assert!(
            matches!(admin_own, Err(OpsError::Forbidden(_))),
            "{admin_own:?}"
        );

        let audit = store.audit_log(Some(COMUNE), 10).await.unwrap();
        let entries: Vec<(&str, &str, &str)> = audit
            .iter()
            .take(2)
            .map(|e| (e.action.as_str(), e.actor.as_str(), e.target.as_str()))
            .collect();
        assert_eq!(
            entries,
            [
                ("mailbox.forwarding", "test", ANNA),
                ("mailbox.vacation", ANNA, ANNA)
            ]
        );
        let text = format!("{audit:?}");
        assert!(
            !text.contains("rientro"),
            "the reply's text audited: {text}"
        );
        assert!(text.contains("collega@altro.esempio.it"), "{text}");

        // Deactivated elsewhere, the settings are kept but not in use.
        provincia.activate_sieve_script(ANNA, None).await.unwrap();
        let dormant = anna.generated_sieve(Whose::Own).await.unwrap();
        assert!(dormant.dormant() && !dormant.generated_active);
        assert_eq!(dormant.settings.vacation, away());
        assert_eq!(dormant.replaces(), None);
    }

    async fn comune_admins_set_only_their_own_domains_mailboxes(store: Store) {
        site(&store).await;
        let comune = ops(&store, AdminScope::Domains(vec![COMUNE.to_string()]));
        let limits = SieveConfig::default();
        comune
            .set_vacation(Whose::Mailbox(ANNA), away(), false, &limits)
            .await
            .unwrap();
        let refusals = [
            comune
                .generated_sieve(Whose::Mailbox(ALTRO))
                .await
                .map(drop),
            comune
                .set_vacation(Whose::Mailbox(ALTRO), away(), false, &limits)
                .await
                .map(drop),
            comune
                .set_forwarding(Whose::Mailbox(ALTRO), forward(), false, &limits)
                .await
                .map(drop),
        ];
        for refused in refusals {
            assert!(
                matches!(refused, Err(OpsError::NotFound { .. })),
                "{refused:?}"
            );
        }
        let provincia = ops(&store, AdminScope::AllDomains);
        assert!(provincia.sieve_scripts(ALTRO).await.unwrap().is_empty());
    }

    async fn a_hand_written_script_is_replaced_only_when_asked(store: Store) {
        let provincia = site(&store).await;
        let limits = SieveConfig::default();
        provincia
            .put_sieve_script(
                ANNA,
                "filtri",
                "require \"fileinto\";\nfileinto \"Archivio\";\n",
                &limits,
                true,
            )
            .await
            .unwrap();
        let state = provincia
            .generated_sieve(Whose::Mailbox(ANNA))
            .await
            .unwrap();
        assert_eq!(state.replaces(), Some("filtri"));
        let refused = provincia
            .set_vacation(Whose::Mailbox(ANNA), away(), false, &limits)
            .await;
        assert!(matches!(refused, Err(OpsError::Conflict(_))), "{refused:?}");
        assert!(provincia.sieve_script(ANNA, SCRIPT_NAME).await.is_err());

        let set = provincia
            .set_vacation(Whose::Mailbox(ANNA), away(), true, &limits)
            .await
            .unwrap();
        assert_eq!(set.replaces(), None);
        let listed: Vec<(String, bool)> = provincia
            .sieve_scripts(ANNA)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.name, s.active))
            .collect();
        assert_eq!(
            listed,
            [
                ("filtri".to_string(), false),
                (SCRIPT_NAME.to_string(), true)
            ]
        );

        // The generated script edited by hand is hand-written too.
        let edited = provincia
            .sieve_script(ANNA, SCRIPT_NAME)
            .await
            .unwrap()
            .replace(":days 1", ":days 3");
        provincia
            .put_sieve_script(ANNA, SCRIPT_NAME, &edited, &limits, true)
            .await
            .unwrap();
        let state = provincia
            .generated_sieve(Whose::Mailbox(ANNA))
            .await
            .unwrap();
        assert_eq!(state.replaces(), Some(SCRIPT_NAME));
        assert_eq!(state.settings, Settings::default());
        // Replaced, it is kept under another name.
        provincia
            .set_forwarding(Whose::Mailbox(ANNA), forward(), true, &limits)
            .await
            .unwrap();
        assert_eq!(
            provincia.sieve_script(ANNA, EDITED_NAME).await.unwrap(),
            edited
        );
        let state = provincia
            .generated_sieve(Whose::Mailbox(ANNA))
            .await
            .unwrap();
        assert!(state.generated_active);
        assert_eq!(state.settings.vacation, Vacation::default());
    }
}
