//! The Apple configuration profile of a mailbox (`.mobileconfig`, Apple's
//! "Configuration Profile Reference"): one `com.apple.mail.managed` payload
//! that sets up the account over IMAP and SMTP submission with the
//! servers the configured listeners give (`ClientSettings`), the address
//! as user name, and no password — the device asks for it as it installs
//! the profile. The profile is not signed, so the device shows it as
//! unverified.
//!
//! Its `PayloadIdentifier`s derive from the host and the address, so that
//! a profile downloaded again replaces the one installed; its
//! `PayloadUUID`s are random (version 4, RFC 9562 §5.4) each time. Every
//! value is escaped for XML.

use std::fmt::Write;

use postino_common::store::Account;
use rand_core::{OsRng, RngCore};

use super::i18n::{Lang, T};
use crate::http::autoconfig::{ClientSettings, Endpoint, Security};
use crate::http::xml::escape;

/// Whether a profile can be made: it needs an IMAP and an SMTP server.
pub fn available(clients: &ClientSettings) -> bool {
    server(&clients.imap).is_some() && server(&clients.smtp).is_some()
}

/// The server a profile names for a service: implicit TLS if there is one
/// (listed first), else STARTTLS. Either way the connection is encrypted,
/// so Mail's "use SSL" flag is on: on a STARTTLS port, Mail then upgrades
/// the connection rather than sending the password in clear.
fn server(endpoints: &[Endpoint]) -> Option<Endpoint> {
    endpoints
        .iter()
        .find(|e| e.security == Security::Tls)
        .or_else(|| endpoints.first())
        .copied()
}

/// The profile of `account`, its texts in `lang`; `None` without an IMAP
/// or an SMTP server to name.
pub fn mobileconfig(clients: &ClientSettings, account: &Account, lang: Lang) -> Option<String> {
    let imap = server(&clients.imap)?;
    let smtp = server(&clients.smtp)?;
    let address = account.address.as_str();
    let identifier = identifier(&clients.hostname, address);
    let description = T::ProfileDescription.fill(lang, &[&address]);
    let name = if account.display_name.is_empty() {
        address
    } else {
        account.display_name.as_str()
    };

    let mut mail = Plist::default();
    mail.string("EmailAccountDescription", address);
    mail.string("EmailAccountName", name);
    mail.string("EmailAccountType", "EmailTypeIMAP");
    mail.string("EmailAddress", address);
    mail.string("IncomingMailServerAuthentication", "EmailAuthPassword");
    mail.string("IncomingMailServerHostName", &clients.hostname);
    mail.integer("IncomingMailServerPortNumber", imap.port);
    mail.boolean("IncomingMailServerUseSSL", true);
    mail.string("IncomingMailServerUsername", address);
    mail.string("OutgoingMailServerAuthentication", "EmailAuthPassword");
    mail.string("OutgoingMailServerHostName", &clients.hostname);
    mail.integer("OutgoingMailServerPortNumber", smtp.port);
    mail.boolean("OutgoingMailServerUseSSL", true);
    mail.string("OutgoingMailServerUsername", address);
    mail.boolean("OutgoingPasswordSameAsIncomingPassword", true);
    mail.string("PayloadDescription", &description);
    mail.string("PayloadDisplayName", address);
    mail.string("PayloadIdentifier", &format!("{identifier}.account"));
    mail.string("PayloadType", "com.apple.mail.managed");
    mail.string("PayloadUUID", &uuid_v4(random()));
    mail.integer("PayloadVersion", 1);

    let mut profile = Plist::default();
    profile.raw(
        "PayloadContent",
        &format!("<array>\n{}</array>", mail.dict()),
    );
    profile.string("PayloadDescription", &description);
    profile.string("PayloadDisplayName", &format!("Postino: {address}"));
    profile.string("PayloadIdentifier", &identifier);
    profile.string("PayloadOrganization", &clients.hostname);
    profile.boolean("PayloadRemovalDisallowed", false);
    profile.string("PayloadType", "Configuration");
    profile.string("PayloadUUID", &uuid_v4(random()));
    profile.integer("PayloadVersion", 1);

    Some(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \
         \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n{}</plist>\n",
        profile.dict()
    ))
}

/// A dictionary's entries, written as they are added.
#[derive(Default)]
struct Plist {
    entries: String,
}

impl Plist {
    fn raw(&mut self, key: &str, value: &str) {
        let _ = writeln!(self.entries, "<key>{}</key>\n{value}", escape(key));
    }

    fn string(&mut self, key: &str, value: &str) {
        self.raw(key, &format!("<string>{}</string>", escape(value)));
    }

    fn integer(&mut self, key: &str, value: u16) {
        self.raw(key, &format!("<integer>{value}</integer>"));
    }

    fn boolean(&mut self, key: &str, value: bool) {
        self.raw(key, if value { "<true/>" } else { "<false/>" });
    }

    fn dict(&self) -> String {
        format!("<dict>\n{}</dict>\n", self.entries)
    }
}

/// The profile's identifier: the host reversed, then the address with `@`
/// spelled out, in the characters identifiers may use (letters, digits,
/// `.` and `-`), such as `test.postino.mx.mail.anna-at-comune.esempio.it`.
fn identifier(hostname: &str, address: &str) -> String {
    let host: Vec<&str> = hostname
        .trim_end_matches('.')
        .split('.')
        .filter(|label| !label.is_empty())
        .rev()
        .collect();
    let clean = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect()
    };
    let address = address.replacen('@', "-at-", 1);
    format!("{}.mail.{}", clean(&host.join(".")), clean(&address))
}

fn random() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Random bytes as a version 4 UUID, upper case as Apple writes them.
fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clients(imap: Vec<Endpoint>, smtp: Vec<Endpoint>) -> ClientSettings {
        ClientSettings {
            hostname: "mx.postino.test".to_string(),
            imap,
            pop3: Vec::new(),
            smtp,
        }
    }

    fn endpoint(port: u16, security: Security) -> Endpoint {
        Endpoint { port, security }
    }

    fn account(display_name: &str) -> Account {
        Account {
            id: 1,
            domain_id: 1,
            address: "anna@comune.esempio.it".to_string(),
            display_name: display_name.to_string(),
            quota_bytes: 0,
            used_bytes: 0,
            active: true,
            created_at: 0,
            max_messages_per_hour: None,
            max_recipients_per_day: None,
        }
    }

    #[test]
    fn uuids_are_version_4() {
        let uuid = uuid_v4([0xff; 16]);
        assert_eq!(uuid, "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF");
        let uuid = uuid_v4([0; 16]);
        assert_eq!(uuid, "00000000-0000-4000-8000-000000000000");
        assert_ne!(uuid_v4(random()), uuid_v4(random()));
    }

    #[test]
    fn identifiers_are_reverse_dns_of_host_and_address() {
        assert_eq!(
            identifier("mx.postino.test.", "anna+x@comune.esempio.it"),
            "test.postino.mx.mail.anna-x-at-comune.esempio.it"
        );
    }

    #[test]
    fn the_profile_names_the_implicit_tls_servers_and_escapes_values() {
        let clients = clients(
            vec![
                endpoint(143, Security::StartTls),
                endpoint(993, Security::Tls),
            ],
            vec![endpoint(587, Security::StartTls)],
        );
        let text = mobileconfig(&clients, &account("Anna <\"&'> Rossi"), Lang::It).unwrap();
        assert!(
            text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            "{text}"
        );
        assert!(
            text.contains("<key>IncomingMailServerPortNumber</key>\n<integer>993</integer>"),
            "{text}"
        );
        assert!(
            text.contains("<key>OutgoingMailServerPortNumber</key>\n<integer>587</integer>"),
            "{text}"
        );
        assert!(
            text.contains("<string>Anna &lt;&quot;&amp;&apos;&gt; Rossi</string>"),
            "{text}"
        );
        assert!(
            !text.to_lowercase().contains("password</key>\n<string"),
            "{text}"
        );
        assert_eq!(text.matches("<key>PayloadUUID</key>").count(), 2);
        assert!(text.contains("Configura l&apos;account di posta anna@comune.esempio.it"));
    }

    #[test]
    fn no_profile_without_both_services() {
        let imap_only = clients(vec![endpoint(993, Security::Tls)], Vec::new());
        assert!(!available(&imap_only));
        assert!(mobileconfig(&imap_only, &account(""), Lang::En).is_none());
    }
}
