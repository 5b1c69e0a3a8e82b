//! The console's two languages: Italian, the default, and English. A page's
//! language is the one the language switch stored in the `postino_lang`
//! cookie, else the one the browser prefers among the two
//! (`Accept-Language`, RFC 9110 §12.5.4), else Italian.
//!
//! Every text the console shows is a [`T`] key whose two translations are
//! written side by side, so neither can be missing. Texts with values in
//! them mark each place with `{}`; the values are filled in order and, as
//! everything the pages show, escaped when the page is rendered.

use std::fmt::Display;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::Deserialize;

use super::{console_target, see_other};
use crate::http::AppState;
use crate::http::cookie::{self, Jar};

/// The cookie that keeps the chosen language, for the whole site.
const LANG_COOKIE: Jar = Jar {
    name: "postino_lang",
    path: "/",
    http_only: false,
    same_site: "Lax",
};

/// How long the choice is kept, in seconds: a year.
const LANG_COOKIE_AGE: i64 = 365 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    It,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::It, Lang::En];

    /// The language's tag, for `lang` attributes and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
        }
    }

    /// The language's name in itself, for the switch.
    pub fn name(self) -> &'static str {
        match self {
            Lang::It => "Italiano",
            Lang::En => "English",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL
            .into_iter()
            .find(|lang| lang.code().eq_ignore_ascii_case(code.trim()))
    }

    /// The language of a request.
    pub fn of(headers: &HeaderMap) -> Lang {
        cookie::read(headers, LANG_COOKIE.name)
            .and_then(Lang::from_code)
            .or_else(|| {
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(preferred)
            })
            .unwrap_or_default()
    }

    /// A size as people read it, in decimal units with one decimal below
    /// ten: `1,2 GB` in Italian, `1.2 GB` in English.
    pub fn size(self, bytes: u64) -> String {
        const UNITS: [(&str, u64); 4] = [
            ("TB", 1_000_000_000_000),
            ("GB", 1_000_000_000),
            ("MB", 1_000_000),
            ("KB", 1_000),
        ];
        let Some(&(unit, scale)) = UNITS.iter().find(|&&(_, scale)| bytes >= scale) else {
            return format!("{bytes} B");
        };
        let tenths = (u128::from(bytes) * 10 + u128::from(scale) / 2) / u128::from(scale);
        if tenths >= 100 || tenths % 10 == 0 {
            format!("{} {unit}", (tenths + 5) / 10)
        } else {
            let separator = match self {
                Lang::It => ',',
                Lang::En => '.',
            };
            format!("{}{separator}{} {unit}", tenths / 10, tenths % 10)
        }
    }

    /// A wait as people read it: seconds up to two minutes, then minutes.
    pub fn wait(self, seconds: u64) -> String {
        match seconds.max(1) {
            1 => T::OneSecond.get(self).to_string(),
            s @ 2..=120 => T::Seconds.fill(self, &[&s]),
            s => T::Minutes.fill(self, &[&s.div_ceil(60)]),
        }
    }
}

/// The language of ours an `Accept-Language` value ranks highest, if any:
/// by quality, then by order; `q=0` means "not this one".
fn preferred(accept: &str) -> Option<Lang> {
    let mut best: Option<(Lang, u16)> = None;
    for item in accept.split(',') {
        let mut params = item.split(';');
        let tag = params.next().unwrap_or("").trim();
        let Some(lang) = tag.split('-').next().and_then(Lang::from_code) else {
            continue;
        };
        let quality = match params.find_map(|p| p.trim().strip_prefix("q=")) {
            Some(q) => match quality(q) {
                Some(q) => q,
                None => continue,
            },
            None => 1000,
        };
        if quality > 0 && best.is_none_or(|(_, b)| quality > b) {
            best = Some((lang, quality));
        }
    }
    best.map(|(lang, _)| lang)
}

/// A quality value (`0.8`) in thousandths.
fn quality(text: &str) -> Option<u16> {
    let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let fraction: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(fraction),
        "1" if fraction == 0 => Some(1000),
        _ => None,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Switch {
    set: String,
    next: String,
}

/// `GET /console/lang?set=en&next=/console/...`: keeps the language in its
/// cookie and goes back to the page. A preference, not a change to
/// anything stored, so a link is enough.
pub async fn switch(State(state): State<AppState>, Query(switch): Query<Switch>) -> Response {
    let mut response = see_other(console_target(&switch.next).unwrap_or("/console/"));
    if let Some(lang) = Lang::from_code(&switch.set) {
        let cookie = LANG_COOKIE.set(lang.code(), LANG_COOKIE_AGE, state.secure_cookies);
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

impl T {
    /// The text with each `{}` replaced by the next of `values`.
    pub fn fill(self, lang: Lang, values: &[&dyn Display]) -> String {
        let mut values = values.iter();
        let mut parts = self.get(lang).split("{}");
        let mut out = parts.next().unwrap_or("").to_string();
        for part in parts {
            if let Some(value) = values.next() {
                out.push_str(&value.to_string());
            }
            out.push_str(part);
        }
        out
    }
}

/// The table of texts: `Key => "italiano", "English";`.
macro_rules! texts {
    ($($key:ident => $it:literal, $en:literal;)+) => {
        /// A text of the console, in either language.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum T {
            $($key,)+
        }

        impl T {
            #[cfg(test)]
            const ALL: &'static [T] = &[$(T::$key,)+];

            pub fn get(self, lang: Lang) -> &'static str {
                match self {
                    $(T::$key => match lang {
                        Lang::It => $it,
                        Lang::En => $en,
                    },)+
                }
            }
        }
    };
}

texts! {
    // The page frame.
    SkipLink => "Vai al contenuto principale", "Skip to main content";
    MainNav => "Navigazione principale", "Main navigation";
    LanguageNav => "Lingua", "Language";
    NavDomains => "Domini", "Domains";
    NavAudit => "Registro attività", "Audit log";
    NavAccount => "Il mio account", "My account";
    NavVacation => "Risposta automatica", "Out of office";
    NavForwarding => "Inoltro", "Forwarding";
    LoggedInAs => "Accesso come {}", "Logged in as {}";
    LogOut => "Esci", "Log out";
    ErrorTitle => "Errore: {}", "Error: {}";
    OneSecond => "1 secondo", "1 second";
    Seconds => "{} secondi", "{} seconds";
    Minutes => "{} minuti", "{} minutes";

    // Pages of their own for what cannot be shown.
    NotFoundTitle => "Pagina non trovata", "Page not found";
    NotFoundText => "La pagina richiesta non esiste, oppure non è tra quelle che puoi gestire.",
        "The page you asked for does not exist, or is not one you may manage.";
    ForbiddenTitle => "Accesso negato", "Access denied";
    ForbiddenText => "Il tuo account non può vedere questa pagina né fare questa operazione.",
        "Your account may not see this page or do this.";
    CsrfTitle => "Modulo non accettato", "Form not accepted";
    CsrfText => "Il modulo è scaduto o non proviene da questa console, quindi non è stato cambiato nulla. Ricarica la pagina e riprova.",
        "The form has expired or did not come from this console, so nothing was changed. Reload the page and try again.";
    BadRequestTitle => "Richiesta non valida", "Bad request";
    BadRequestText => "La richiesta non è stata compresa; non è stato cambiato nulla.",
        "The request was not understood; nothing was changed.";
    InternalTitle => "Errore del server", "Server error";
    InternalText => "Si è verificato un errore interno. Riprova tra poco; se continua, avvisa chi gestisce il server.",
        "Something went wrong inside the server. Try again shortly; if it goes on, tell whoever runs the server.";
    BackHome => "Torna alla pagina iniziale", "Back to the start page";

    // Confirmations after a change.
    FlashLoggedOut => "Sei uscito dalla console.", "You have logged out.";
    FlashDomainAdded => "Dominio aggiunto.", "Domain added.";
    FlashMailboxAdded => "Casella creata.", "Mailbox created.";
    FlashMailboxUpdated => "Casella aggiornata.", "Mailbox updated.";
    FlashSpamUpdated => "Filtro antispam aggiornato.", "Spam filter updated.";
    FlashMailboxRemoved => "Casella eliminata con tutta la sua posta.", "Mailbox deleted with all its mail.";
    FlashPasswordSet => "Nuova password impostata.", "New password set.";
    FlashAliasAdded => "Alias aggiunto.", "Alias added.";
    FlashAliasRemoved => "Alias rimosso.", "Alias removed.";
    FlashRelayAdded => "Client di inoltro aggiunto.", "Relay client added.";
    FlashRelayRemoved => "Client di inoltro rimosso.", "Relay client removed.";
    FlashRelayUpdated => "Client di inoltro modificato.", "Relay client updated.";
    FlashDkimGenerated => "Chiavi DKIM generate: pubblica i record DNS qui sotto.",
        "DKIM keys generated: publish the DNS records below.";
    FlashDkimRotated => "Chiavi DKIM ruotate: aggiorna i record DNS qui sotto.",
        "DKIM keys rotated: update the DNS records below.";
    FlashPasswordChanged => "La tua password è stata cambiata.", "Your password has been changed.";
    FlashVacationSaved => "Risposta automatica salvata.", "Out-of-office reply saved.";
    FlashForwardingSaved => "Inoltro salvato.", "Forwarding saved.";

    // Login.
    LoginTitle => "Accesso", "Log in";
    LoginIntro => "Accedi con il tuo nome utente di amministratore, oppure con l'indirizzo e la password della tua casella di posta.",
        "Log in with your admin user name, or with the address and password of your mailbox.";
    Username => "Nome utente o indirizzo email", "User name or e-mail address";
    Password => "Password", "Password";
    LoginSubmit => "Accedi", "Log in";
    LoginMissing => "Scrivi il nome utente e la password.", "Enter your user name and password.";
    LoginWrong => "Nome utente o password non corretti.", "Wrong user name or password.";
    LoginThrottled => "Troppi tentativi non riusciti. Riprova tra {}.", "Too many failed attempts. Try again in {}.";
    LoginExpired => "Il modulo era scaduto: scrivi di nuovo la password e riprova.",
        "The form had expired: enter your password again and retry.";

    // Sizes, counts and states.
    UsageOf => "{} di {}", "{} of {}";
    UsageNoLimit => "{}, senza limite", "{}, no limit";
    CountOf => "{} di {}", "{} of {}";
    DomainActive => "Attivo", "Active";
    DomainDisabled => "Disattivato", "Disabled";
    MailboxActive => "Attiva", "Active";
    MailboxDisabled => "Disattivata", "Disabled";

    // The domain list.
    DomainsTitle => "Domini", "Domains";
    DomainsEmpty => "Non ci sono domini da gestire.", "There are no domains to manage.";
    ColDomain => "Dominio", "Domain";
    ColMailboxes => "Caselle", "Mailboxes";
    ColUsage => "Spazio usato", "Storage used";
    ColState => "Stato", "State";
    AddDomainTitle => "Aggiungi un dominio", "Add a domain";
    DomainName => "Nome del dominio", "Domain name";
    DomainNameHint => "Per esempio comune.esempio.pu.it.", "For example comune.esempio.pu.it.";
    DomainQuota => "Spazio totale", "Total storage";
    DomainQuotaHint => "Per esempio 10GB o 500MB; vuoto per nessun limite.", "Such as 10GB or 500MB; empty for no limit.";
    DomainMaxMailboxes => "Numero massimo di caselle", "Most mailboxes";
    EmptyNoLimit => "Vuoto per nessun limite.", "Empty for no limit.";
    AddDomainSubmit => "Aggiungi il dominio", "Add the domain";
    LimitHitsTitle => "Caselle oltre i limiti di invio", "Mailboxes past their sending limits";
    LimitHitsHint => "Negli ultimi 7 giorni. Molti invii rifiutati possono voler dire una password rubata: verificate con il titolare.",
        "In the last 7 days. Many refused sendings can mean a stolen password: check with the owner.";
    ColLimit => "Limite", "Limit";
    ColRefused => "Rifiutati", "Refused";
    ColFirst => "Primo", "First";
    ColLast => "Ultimo", "Last";
    LimitMessagesPerHour => "Messaggi all'ora", "Messages an hour";
    LimitRecipientsPerDay => "Destinatari al giorno", "Recipients a day";

    // A domain's page.
    DkimLink => "Chiavi DKIM e record DNS del dominio", "The domain's DKIM keys and DNS records";
    SpamTitle => "Filtro antispam", "Spam filter";
    SpamFilterOn => "Attivo: lo spam va in Posta indesiderata o è rifiutato", "On: spam is filed in Junk or refused";
    SpamFilterOff => "Disattivo: tutta la posta va in Posta in arrivo (i virus sono rifiutati comunque)",
        "Off: all mail goes to the INBOX (malware is refused all the same)";
    SpamProfile => "Profilo rspamd", "rspamd profile";
    SpamProfileHint => "Un settings id di rspamd; vuoto per le impostazioni predefinite.",
        "An rspamd settings id; empty for rspamd's defaults.";
    MailboxesTitle => "Caselle", "Mailboxes";
    MailboxesEmpty => "Nessuna casella.", "No mailboxes.";
    ColAddress => "Indirizzo", "Address";
    ColName => "Nome", "Name";
    ColActions => "Azioni", "Actions";
    Edit => "Modifica", "Edit";
    Delete => "Elimina", "Delete";
    Remove => "Rimuovi", "Remove";
    NewMailboxTitle => "Nuova casella", "New mailbox";
    LocalPart => "Indirizzo", "Address";
    DisplayName => "Nome visualizzato", "Display name";
    DisplayNameHint => "Per esempio Mario Rossi, oppure Ufficio protocollo.", "Such as Mario Rossi, or Ufficio protocollo.";
    MailboxPasswordHint => "Almeno 8 caratteri. Se resta vuota nessuno può accedere finché non ne viene impostata una.",
        "At least 8 characters. If left empty, nobody can log in until one is set.";
    MailboxQuota => "Spazio", "Storage";
    MailboxQuotaHint => "Per esempio 2GB o 1,5GB; vuoto per il solo limite del dominio.",
        "Such as 2GB or 1.5GB; empty for the domain's limit only.";
    CreateMailbox => "Crea la casella", "Create the mailbox";

    // Aliases.
    AliasesTitle => "Alias", "Aliases";
    AliasesIntro => "Un alias consegna la posta a uno o più indirizzi. L'alias * riceve la posta di ogni indirizzo del dominio che non esiste.",
        "An alias delivers mail to one or more addresses. The alias * takes the mail of every address of the domain that does not exist.";
    AliasesEmpty => "Nessun alias.", "No aliases.";
    ColAlias => "Alias", "Alias";
    ColTarget => "Consegna a", "Delivers to";
    NewAliasTitle => "Nuovo alias", "New alias";
    AliasSource => "Alias", "Alias";
    AliasSourceHint => "La parte prima di @{}, oppure * per ogni indirizzo che non esiste.",
        "The part before @{}, or * for every address that does not exist.";
    AliasTargets => "Consegna a", "Deliver to";
    AliasTargetsHint => "Uno o più indirizzi, separati da virgole o a capo; un nome senza @ è di questo dominio.",
        "One or more addresses, separated by commas or new lines; a name without @ is of this domain.";
    AddAlias => "Aggiungi l'alias", "Add the alias";

    // Relay clients.
    RelayTitle => "Client di inoltro", "Relay clients";
    RelayIntro => "Sistemi dell'ente (protocollo, SUAP, avvisi di pagamento) che inviano posta attraverso Postino con questo dominio come mittente.",
        "Agency systems (document registry, SUAP portals, payment notices) that send mail through Postino from this domain.";
    RelayEmpty => "Nessun client di inoltro.", "No relay clients.";
    ColRecognisedBy => "Riconosciuto da", "Recognised by";
    ColSenderDomains => "Domini mittenti", "Sender domains";
    ColRate => "Limite", "Rate";
    ByPassword => "password (SMTP AUTH)", "password (SMTP AUTH)";
    PerMinute => "{} al minuto", "{} a minute";
    NoLimit => "nessun limite", "no limit";
    NewRelayTitle => "Nuovo client di inoltro", "New relay client";
    RelayName => "Nome", "Name";
    RelayNameHint => "Lettere minuscole, cifre, '.', '_' o '-'; con una password è anche il nome utente per SMTP AUTH.",
        "Lowercase letters, digits, '.', '_' or '-'; with a password it is also the SMTP AUTH user name.";
    RelayNetworks => "Reti di provenienza", "Source networks";
    RelayNetworksHint => "In notazione CIDR, per esempio 10.1.0.0/16, separate da virgole o a capo. Lascia vuoto se il client si autentica con una password.",
        "In CIDR notation, such as 10.1.0.0/16, separated by commas or new lines. Leave empty if the client logs in with a password.";
    RelayPasswordHint => "Solo se il client si autentica invece di essere riconosciuto dalla rete; almeno 8 caratteri.",
        "Only if the client logs in instead of being recognised by its network; at least 8 characters.";
    RelayRate => "Messaggi al minuto", "Messages a minute";
    AddRelay => "Aggiungi il client", "Add the client";
    EditRelayTitle => "Client di inoltro {}", "Relay client {}";
    EditRelayFormTitle => "Modifica il client", "Edit the client";
    EditRelayNetworksHint => "In notazione CIDR, per esempio 10.1.0.0/16, separate da virgole o a capo; almeno una.",
        "In CIDR notation, such as 10.1.0.0/16, separated by commas or new lines; at least one.";
    RelaySenderDomains => "Domini mittenti", "Sender domains";
    RelaySenderDomainsHint => "I domini da cui può inviare, separati da virgole o a capo; almeno uno.",
        "The domains it may send from, separated by commas or new lines; at least one.";
    RelayNewPasswordHint => "Lascia vuoto per non cambiarla; almeno 8 caratteri.",
        "Leave empty to keep it; at least 8 characters.";

    // A mailbox's page.
    BackTo => "Torna a {}", "Back to {}";
    EditMailboxTitle => "Modifica la casella", "Edit the mailbox";
    MailboxState => "Stato", "State";
    MailboxActiveChoice => "Attiva: può accedere", "Active: may log in";
    MailboxDisabledChoice => "Disattivata: non può accedere, ma continua a ricevere posta",
        "Disabled: may not log in, but still receives mail";
    Save => "Salva", "Save";
    SetPasswordTitle => "Imposta una nuova password", "Set a new password";
    NewPassword => "Nuova password", "New password";
    RepeatPassword => "Ripeti la nuova password", "Repeat the new password";
    PasswordHint => "Almeno 8 caratteri.", "At least 8 characters.";
    SetPassword => "Imposta la password", "Set the password";
    SharesTitle => "Casella condivisa", "Shared mailbox";
    SharesIntro => "Le caselle del comune che leggono anche questa, ciascuna con i suoi diritti: la vedono nei loro programmi di posta sotto Condivise/. Una casella d'ufficio come protocollo@ di solito non ha password propria ed è condivisa con chi ci lavora.",
        "The comune's mailboxes that read this one too, each with its rights: they see it in their mail programs under Condivise/. An office mailbox such as protocollo@ usually has no password of its own and is shared with those who work on it.";
    SharesEmpty => "Questa casella non è condivisa.", "This mailbox is not shared.";
    ColSharedWith => "Condivisa con", "Shared with";
    ColRights => "Diritti", "Rights";
    ColSendAs => "Può inviare come questa casella", "May send as this mailbox";
    NewShareTitle => "Condividi la casella", "Share the mailbox";
    ShareUser => "Casella con cui condividere", "Mailbox to share with";
    ShareUserHint => "L'indirizzo di una casella dello stesso comune. Condividere di nuovo con la stessa casella ne cambia i diritti.",
        "The address of a mailbox of the same comune. Sharing again with the same mailbox changes its rights.";
    ShareRights => "Diritti", "Rights";
    ShareRightsHint => "Lettere IMAP (RFC 4314): l vede, r legge, s segna letto, w altri contrassegni, i aggiunge messaggi, k crea cartelle, x elimina cartelle, t segna da eliminare, e cancella, a gestisce i diritti.",
        "IMAP letters (RFC 4314): l sees, r reads, s marks read, w other flags, i adds messages, k creates folders, x deletes folders, t marks deleted, e expunges, a manages rights.";
    ShareSendAs => "Può inviare posta come questa casella (una copia resta nella sua posta inviata)",
        "May send mail as this mailbox (a copy stays in its Sent folder)";
    AddShare => "Condividi", "Share";
    Yes => "Sì", "Yes";
    No => "No", "No";
    ErrShareUser => "Scrivi l'indirizzo di un'altra casella dello stesso comune.",
        "Write the address of another mailbox of the same comune.";
    ErrShareRights => "Usa una o più lettere tra l r s w i p k x t e a.",
        "Use one or more of the letters l r s w i p k x t e a.";
    FlashMailboxShared => "Casella condivisa.", "Mailbox shared.";
    FlashMailboxUnshared => "Condivisione rimossa.", "Share removed.";
    DeleteMailboxTitle => "Elimina la casella", "Delete the mailbox";
    DeleteMailboxIntro => "Elimina la casella con tutta la sua posta. Prima di farlo viene chiesta una conferma.",
        "Deletes the mailbox with all its mail. You will be asked to confirm first.";
    DeleteMailboxLink => "Elimina {}…", "Delete {}…";
    ConfirmDeleteTitle => "Eliminare {}?", "Delete {}?";
    ConfirmDeleteText => "La casella e tutta la sua posta ({}) saranno eliminate per sempre. Non si può annullare.",
        "The mailbox and all its mail ({}) will be deleted for good. This cannot be undone.";
    ConfirmDeleteSubmit => "Sì, elimina la casella", "Yes, delete the mailbox";
    Cancel => "Annulla", "Cancel";

    // What a form got wrong.
    ErrRequired => "Questo campo è obbligatorio.", "This field is required.";
    ErrPasswordsDiffer => "Le due password non coincidono.", "The two passwords differ.";
    ErrPasswordShort => "La password deve avere almeno 8 caratteri.", "The password must have at least 8 characters.";
    ErrWrongCurrent => "Non è la password attuale.", "This is not the current password.";
    ErrDomain => "Non è un nome di dominio valido.", "This is not a valid domain name.";
    ErrLocalPart => "Non è un indirizzo valido: usa lettere, cifre e punti, per esempio mario.rossi.",
        "This is not a valid address: use letters, digits and dots, such as mario.rossi.";
    ErrDisplayName => "Al massimo 200 caratteri, senza caratteri di controllo.", "At most 200 characters, with no control characters.";
    ErrSize => "Scrivi una dimensione come 2GB, 500MB o 1,5GB.", "Enter a size such as 2GB, 500MB or 1.5GB.";
    ErrQuotaOverDomain => "È più dello spazio totale del dominio.", "This is more than the domain's total storage.";
    ErrNumber => "Scrivi un numero intero.", "Enter a whole number.";
    ErrExists => "{} esiste già.", "{} already exists.";
    ErrMailboxLimit => "Il dominio ha già il numero massimo di caselle.", "The domain already has its most mailboxes.";
    ErrAliasSource => "Non è un alias valido: scrivi la parte prima di @, oppure *.", "This is not a valid alias: enter the part before @, or *.";
    ErrTargets => "Scrivi uno o più indirizzi validi.", "Enter one or more valid addresses.";
    ErrTargetMissing => "{} non è una casella né un alias.", "{} is neither a mailbox nor an alias.";
    ErrSenderDomainMissing => "{} non è un dominio che gestisci.", "{} is not a domain you manage.";
    ErrRelayName => "Da 1 a 64 caratteri: lettere minuscole, cifre, '.', '_' o '-', a partire da una lettera o una cifra.",
        "1 to 64 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or a digit.";
    ErrRelayNetworks => "Scrivi reti in notazione CIDR (per esempio 10.1.0.0/16) oppure una password, non entrambe.",
        "Enter networks in CIDR notation (such as 10.1.0.0/16) or a password, not both.";
    ErrSelector => "Un selettore è fatto di lettere, cifre e trattini, e si sceglie per un algoritmo alla volta.",
        "A selector is made of letters, digits and hyphens, and is chosen for one algorithm at a time.";
    ErrDkimActive => "Il dominio ha già una chiave attiva di questo algoritmo: ruotala invece di generarne un'altra.",
        "The domain already has an active key of this algorithm: rotate it instead of generating another.";
    ErrDkimNoActive => "Il dominio non ha chiavi attive da ruotare: generane prima una.",
        "The domain has no active keys to rotate: generate one first.";
    ErrGrace => "Scrivi un numero di giorni da 0 a 365.", "Enter a number of days from 0 to 365.";
    ErrDate => "Scrivi una data come 2025-03-31.", "Enter a date such as 2025-03-31.";
    ErrDateOrder => "La data finale non può precedere quella iniziale.", "The end date cannot be before the start date.";
    ErrInvalid => "Valore non valido.", "Invalid value.";
    ErrAbsenceDate => "Scrivi una data come 24/12/2026 o 2026-12-24.", "Enter a date such as 2026-12-24 or 24/12/2026.";
    ErrVacationSubject => "Al massimo 200 caratteri, senza caratteri di controllo.", "At most 200 characters, with no control characters.";
    ErrVacationMessage => "Scrivi il messaggio della risposta, al massimo 8000 caratteri.", "Enter the reply's message, at most 8000 characters.";
    ErrForwardTo => "Scrivi un indirizzo email valido, diverso da quello di questa casella.", "Enter a valid e-mail address other than this mailbox's.";
    ErrReplaceScript => "Per salvare, conferma che vuoi sostituire il filtro scritto a mano.", "To save, confirm that you want to replace the hand-written filter.";
    ErrConflict => "L'operazione non è possibile nello stato attuale.", "This cannot be done as things stand.";

    // DKIM.
    DkimTitle => "DKIM e DNS di {}", "DKIM and DNS of {}";
    DkimIntro => "DKIM firma la posta in uscita del dominio; chi la riceve verifica la firma con la chiave pubblicata nel DNS.",
        "DKIM signs the domain's outgoing mail; receivers check the signature with the key published in DNS.";
    KeysTitle => "Chiavi", "Keys";
    KeysEmpty => "Nessuna chiave: la posta del dominio esce senza firma DKIM.", "No keys: the domain's mail goes out without a DKIM signature.";
    ColSelector => "Selettore", "Selector";
    ColAlgorithm => "Algoritmo", "Algorithm";
    ColCreated => "Creata", "Created";
    KeyActive => "Attiva: firma la posta", "Active: signs mail";
    KeyRetiring => "In ritiro: da pubblicare fino a {}", "Retiring: keep published until {}";
    KeyRetiringOpen => "In ritiro", "Retiring";
    KeyRetired => "Ritirata", "Retired";
    GenerateTitle => "Genera chiavi", "Generate keys";
    Algorithm => "Algoritmo", "Algorithm";
    AlgorithmBoth => "RSA ed Ed25519 (consigliato)", "RSA and Ed25519 (recommended)";
    AlgorithmRsa => "Solo RSA", "RSA only";
    AlgorithmEd => "Solo Ed25519", "Ed25519 only";
    Selector => "Selettore (facoltativo)", "Selector (optional)";
    SelectorHint => "Solo con un algoritmo alla volta; se resta vuoto è AAAAMMGG-rsa o AAAAMMGG-ed.",
        "Only with one algorithm at a time; if left empty it is YYYYMMDD-rsa or YYYYMMDD-ed.";
    GenerateSubmit => "Genera", "Generate";
    RotateTitle => "Ruota le chiavi", "Rotate the keys";
    RotateIntro => "Sostituisce ogni chiave attiva con una nuova, che firma da subito; le vecchie restano pubblicate per il periodo di transizione.",
        "Replaces every active key with a new one, which signs at once; the old ones stay published for the grace period.";
    Grace => "Periodo di transizione, in giorni", "Grace period, in days";
    RotateSubmit => "Ruota", "Rotate";
    DnsTitle => "Record DNS da pubblicare", "DNS records to publish";
    DnsMx => "la posta del dominio arriva a questo server", "mail for the domain comes to this server";
    DnsSpf => "SPF: solo i server MX inviano la posta del dominio", "SPF: only the MX hosts send the domain's mail";
    DnsDkimActive => "DKIM: chiave {} {}, che firma", "DKIM: {} key {}, signing";
    DnsDkimRetiring => "DKIM: chiave {} {} in ritiro, da tenere pubblicata fino a {}",
        "DKIM: {} key {}, retiring: keep it published until {}";
    DnsDmarc => "DMARC: i rapporti vanno a {}, che deve essere una casella o un alias",
        "DMARC: reports go to {}, which should be a mailbox or an alias";
    DnsAutoconfig => "configurazione automatica dei programmi di posta", "mail client autoconfiguration";
    DnsSrv => "configurazione automatica dei programmi di posta (RFC 6186)", "mail client autoconfiguration (RFC 6186)";
    DnsIntro => "Copia questi record nella zona DNS del dominio; le righe che iniziano con ; spiegano il record che segue.",
        "Copy these records into the domain's DNS zone; the lines starting with ; explain the record after them.";

    // The audit log.
    AuditTitle => "Registro attività", "Audit log";
    FilterTitle => "Filtro", "Filter";
    FilterActor => "Autore", "Actor";
    FilterActorHint => "Il nome utente di un amministratore, l'indirizzo di una casella, oppure cli:UTENTE.",
        "An admin's user name, a mailbox address, or cli:USER.";
    FilterFrom => "Dal giorno", "From";
    FilterTo => "Al giorno (compreso)", "To (inclusive)";
    DateHint => "Nella forma AAAA-MM-GG, in UTC.", "As YYYY-MM-DD, in UTC.";
    FilterSubmit => "Applica il filtro", "Apply the filter";
    FilterClear => "Togli il filtro", "Clear the filter";
    AuditEmpty => "Nessuna voce.", "No entries.";
    AuditShown => "Le voci più recenti, al massimo {} per pagina.", "The newest entries, at most {} a page.";
    ColWhen => "Quando (UTC)", "When (UTC)";
    ColActor => "Autore", "Actor";
    ColOrigin => "Da", "From";
    ColAction => "Azione", "Action";
    ColTarget2 => "Oggetto", "Target";
    ColDetails => "Dettagli", "Details";
    ShowDetails => "Prima e dopo", "Before and after";
    Before => "Prima", "Before";
    After => "Dopo", "After";
    DownloadCsv => "Scarica in CSV", "Download as CSV";
    DownloadJson => "Scarica in JSON", "Download as JSON";
    DownloadHint => "Con lo stesso filtro, fino a {} voci.", "With the same filter, up to {} entries.";
    OlderEntries => "Voci precedenti", "Older entries";
    ExportCsv => "Esporta per un'ispezione (CSV)", "Export for an inspection (CSV)";
    ExportJson => "Esporta per un'ispezione (JSON, con la verifica)", "Export for an inspection (JSON, with the verification)";
    ExportHint => "Le modifiche e gli accessi degli amministratori nei giorni del filtro, con le impronte della catena che li rende verificabili.",
        "The administrators' changes and logins within the filter's days, with the chain's hashes that make them verifiable.";

    // A mailbox user's own account.
    AccountTitle => "Il mio account", "My account";
    ChangePasswordTitle => "Cambia la password", "Change your password";
    CurrentPassword => "Password attuale", "Current password";
    ChangePasswordSubmit => "Cambia la password", "Change the password";
    DevicesTitle => "Configura i tuoi dispositivi", "Set up your devices";
    DevicesIntro => "Questi sono i parametri per qualsiasi programma di posta. Il nome utente è il tuo indirizzo, la password quella della casella.",
        "These are the settings for any mail program. The user name is your address, the password that of your mailbox.";
    ColService => "Servizio", "Service";
    ColServer => "Server", "Server";
    ColPort => "Porta", "Port";
    ColUsername => "Nome utente", "User name";
    ColSecurity => "Sicurezza", "Security";
    RecentLoginsTitle => "Accessi recenti", "Recent logins";
    RecentLoginsIntro => "Gli ultimi accessi alla casella, dai programmi di posta e dalla console. Se ne vedi uno che non hai fatto tu, cambia subito la password.",
        "The latest logins to the mailbox, from mail programs and from the console. If you see one you did not make, change your password at once.";
    NoLogins => "Nessun accesso registrato di recente.", "No logins recorded lately.";
    ColIp => "Indirizzo IP", "IP address";
    ColProtocol => "Protocollo", "Protocol";
    Incoming => "Posta in arrivo (IMAP)", "Incoming mail (IMAP)";
    Outgoing => "Posta in uscita (SMTP)", "Outgoing mail (SMTP)";
    AppleProfile => "Scarica il profilo per iPhone, iPad e Mac", "Download the profile for iPhone, iPad and Mac";
    AppleProfileHint => "Aprilo sul dispositivo: aggiunge l'account e chiede la password, che il profilo non contiene.",
        "Open it on the device: it adds the account and asks for the password, which the profile does not hold.";
    ProfileDescription => "Configura l'account di posta {} su questo dispositivo.", "Sets up the mail account {} on this device.";

    // Out of office and forwarding, for the user or for an admin.
    VacationTitle => "Risposta automatica", "Out of office";
    VacationTitleOf => "Risposta automatica di {}", "Out of office for {}";
    VacationIntro => "Chi scrive alla casella riceve questa risposta, al massimo una volta al giorno per mittente. Liste di distribuzione e messaggi automatici non la ricevono.",
        "Whoever writes to the mailbox gets this reply, at most once a day per sender. Mailing lists and automatic messages get none.";
    VacationLegend => "Risposta automatica", "Automatic reply";
    VacationOn => "Attiva", "On";
    VacationOff => "Disattivata", "Off";
    VacationStart => "Dal giorno", "From";
    VacationStartHint => "Per esempio 24/12/2026; vuoto: da subito.", "Such as 2026-12-24 or 24/12/2026; empty: from now on.";
    VacationEnd => "Al giorno (compreso)", "Until (inclusive)";
    VacationEndHint => "Vuoto: finché non viene disattivata. I giorni iniziano e finiscono a mezzanotte, ora italiana.",
        "Empty: until it is switched off. Days start and end at midnight, Italian time.";
    VacationSubject => "Oggetto", "Subject";
    VacationSubjectHint => "Vuoto: «Auto:» seguito dall'oggetto del messaggio ricevuto.", "Empty: “Auto:” followed by the subject of the message received.";
    VacationMessage => "Messaggio", "Message";
    VacationMessageHint => "Per esempio: Sono in ferie fino al 6 gennaio; per urgenze scrivete a segreteria@comune.esempio.it.",
        "Such as: I am on holiday until 6 January; for urgent matters write to segreteria@comune.esempio.it.";
    VacationPeriod => "Attiva dal {} al {}", "On from {} to {}";
    VacationFrom => "Attiva dal {}", "On from {}";
    VacationUntil => "Attiva fino al {}", "On until {}";
    ForwardingTitle => "Inoltro", "Forwarding";
    ForwardingTitleOf => "Inoltro di {}", "Forwarding for {}";
    ForwardingIntro => "Ogni messaggio in arrivo alla casella viene inoltrato a un altro indirizzo.",
        "Every message that reaches the mailbox is sent on to another address.";
    ForwardingLegend => "Inoltro", "Forwarding";
    ForwardingOn => "Attivo", "On";
    ForwardingOff => "Disattivato", "Off";
    ForwardingOnTo => "Attivo, verso {}", "On, to {}";
    ForwardTo => "Inoltra a", "Forward to";
    ForwardToHint => "Un indirizzo email, per esempio mario.rossi@comune.esempio.it.", "An e-mail address, such as mario.rossi@comune.esempio.it.";
    KeepCopy => "Tieni una copia dei messaggi anche in questa casella", "Keep a copy of the messages in this mailbox too";
    HandWritten => "La casella usa un filtro Sieve scritto a mano, «{}», che è attivo ora: le impostazioni di questa pagina non sono in uso.",
        "The mailbox uses a hand-written Sieve filter, “{}”, which is active now: the settings on this page are not in use.";
    ReplaceScript => "Sostituisci il filtro «{}» con queste impostazioni (resta salvato, ma disattivato)",
        "Replace the filter “{}” with these settings (it stays stored, but inactive)";
    NotInUse => "Non in uso: è attivo il filtro «{}»", "Not in use: the filter “{}” is active";
    Dormant => "Queste impostazioni non sono in uso: nessun filtro della casella è attivo. Salvandole tornano in uso.",
        "These settings are not in use: none of the mailbox's filters is active. Saving them puts them back in use.";
    MailboxRulesTitle => "Risposta automatica e inoltro", "Out of office and forwarding";
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn every_text_has_both_languages_with_the_same_places() {
        for &key in T::ALL {
            let (it, en) = (key.get(Lang::It), key.get(Lang::En));
            assert!(!it.trim().is_empty() && !en.trim().is_empty(), "{key:?}");
            assert_eq!(
                it.matches("{}").count(),
                en.matches("{}").count(),
                "{key:?}: {it:?} / {en:?}"
            );
        }
    }

    #[test]
    fn fills_values_in_order() {
        assert_eq!(
            T::UsageOf.fill(Lang::It, &[&"1,2 GB", &"10 GB"]),
            "1,2 GB di 10 GB"
        );
        assert_eq!(
            T::LoggedInAs.fill(Lang::En, &[&"anna"]),
            "Logged in as anna"
        );
    }

    #[test]
    fn sizes_read_naturally_in_each_language() {
        assert_eq!(Lang::It.size(1_200_000_000), "1,2 GB");
        assert_eq!(Lang::En.size(1_200_000_000), "1.2 GB");
        assert_eq!(Lang::It.size(10_000_000_000), "10 GB");
        assert_eq!(Lang::It.size(2_000_000_000), "2 GB");
        assert_eq!(Lang::It.size(15_400_000), "15 MB");
        assert_eq!(Lang::It.size(999), "999 B");
        assert_eq!(Lang::It.size(0), "0 B");
        assert_eq!(Lang::En.size(1_950_000), "2 MB");
        assert_eq!(Lang::En.size(u64::MAX), "18446744 TB");
    }

    #[test]
    fn waits_read_naturally() {
        assert_eq!(Lang::It.wait(0), "1 secondo");
        assert_eq!(Lang::It.wait(45), "45 secondi");
        assert_eq!(Lang::En.wait(900), "15 minutes");
        assert_eq!(Lang::En.wait(121), "3 minutes");
    }

    #[test]
    fn accept_language_picks_the_best_of_ours() {
        assert_eq!(preferred("en-GB,en;q=0.9,it;q=0.8"), Some(Lang::En));
        assert_eq!(preferred("de-DE, it;q=0.5, en;q=0.4"), Some(Lang::It));
        assert_eq!(preferred("it-IT;q=0.3, en-US;q=0.7"), Some(Lang::En));
        assert_eq!(preferred("fr, de"), None);
        assert_eq!(preferred("en;q=0, it;q=0.1"), Some(Lang::It));
        assert_eq!(preferred("en;q=2, it;q=bad"), None);
        assert_eq!(preferred(""), None);
    }

    #[test]
    fn the_cookie_wins_over_the_browser() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::of(&headers), Lang::It);
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("en"));
        assert_eq!(Lang::of(&headers), Lang::En);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("postino_session=x; postino_lang=it"),
        );
        assert_eq!(Lang::of(&headers), Lang::It);
        headers.insert(header::COOKIE, HeaderValue::from_static("postino_lang=xx"));
        assert_eq!(Lang::of(&headers), Lang::En);
    }
}
