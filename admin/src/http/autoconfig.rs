//! Client autoconfiguration: the server names, ports and security a mail
//! client needs, taken from the configured listeners so they cannot go stale.
//!
//! - Thunderbird autoconfig, `clientConfig` version 1.1 (Mozilla's
//!   "Autoconfiguration: ConfigFileFormat"): `GET` on
//!   `/.well-known/autoconfig/mail/config-v1.1.xml` or, for the
//!   `autoconfig.<domain>` name, `/mail/config-v1.1.xml`, with
//!   `?emailaddress=` naming the user. Without it (older clients on the
//!   well-known path) the domain is the request's host name, less an
//!   `autoconfig.` label.
//! - Outlook Autodiscover, the POX protocol of [MS-OXDSCLI] §2.2.3/§2.2.4:
//!   `POST /autodiscover/autodiscover.xml` with a request carrying
//!   `<EMailAddress>`, answered with the "outlook" response schema (2006a).
//!
//! Only an address of a hosted, active domain gets settings. Any other gets
//! `404` on both protocols rather than a POX `<Error>`: the service has
//! nothing to say about domains it does not host, and an Autodiscover client
//! then moves on to its next candidate URL. A malformed request gets `400`.
//!
//! IMAP comes before POP3, so that IMAP stays the clients' first choice.
//! Each service lists its implicit-TLS port first, then its STARTTLS port,
//! each the first address of its configured list; a disabled service, an
//! empty list or port 0 (a port only the running server knows) is left out.
//! Every value written into XML is escaped.

use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use postino_common::address::{Address, DomainName};
use postino_common::store::Store;
use postino_config::Config;
use serde::Deserialize;

use super::error::HttpError;
use super::xml::escape;

/// Largest Autodiscover request body accepted, in bytes; a POX request is a
/// few hundred.
pub const MAX_REQUEST_BODY: usize = 16 * 1024;

/// How a client secures a connection to one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (IMAP 993, SMTP 465).
    Tls,
    /// Plain text upgraded with STARTTLS (IMAP 143, SMTP 587).
    StartTls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub port: u16,
    pub security: Security,
}

/// What every autoconfiguration answer is made of, read once from the
/// configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSettings {
    pub hostname: String,
    pub imap: Vec<Endpoint>,
    /// After IMAP's, so that clients that take the first server they are
    /// offered keep IMAP.
    pub pop3: Vec<Endpoint>,
    pub smtp: Vec<Endpoint>,
}

impl ClientSettings {
    pub fn from_config(config: &Config) -> ClientSettings {
        let endpoints = |enabled: bool, lists: [(&[SocketAddr], Security); 2]| {
            lists
                .into_iter()
                .filter(|_| enabled)
                .filter_map(|(list, security)| {
                    let port = list.first()?.port();
                    (port != 0).then_some(Endpoint { port, security })
                })
                .collect()
        };
        let (imap, pop3, smtp) = (&config.imap, &config.pop3, &config.smtp);
        ClientSettings {
            hostname: config.hostname.clone(),
            imap: endpoints(
                imap.enabled,
                [
                    (&imap.listen_tls, Security::Tls),
                    (&imap.listen, Security::StartTls),
                ],
            ),
            pop3: endpoints(
                true,
                [
                    (&pop3.listen_tls, Security::Tls),
                    (&pop3.listen, Security::StartTls),
                ],
            ),
            smtp: endpoints(
                smtp.enabled,
                [
                    (&smtp.listen_submissions, Security::Tls),
                    (&smtp.listen_submission, Security::StartTls),
                ],
            ),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct AutoconfigQuery {
    emailaddress: Option<String>,
}

/// Thunderbird's `config-v1.1.xml`.
pub async fn thunderbird(
    State(store): State<Store>,
    State(clients): State<Arc<ClientSettings>>,
    Query(query): Query<AutoconfigQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let domain = match &query.emailaddress {
        Some(address) => hosted_address(&store, address).await?.domain(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|host| host.to_str().ok())
                .ok_or_else(|| HttpError::bad_request("no emailaddress and no Host"))?;
            hosted_domain(&store, domain_of_host(host)).await?
        }
    };
    Ok(xml_response(thunderbird_xml(&clients, &domain)))
}

/// The mail domain a client asking at `host` means: the host name without
/// its port and without a leading `autoconfig.` label.
fn domain_of_host(host: &str) -> &str {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    name.strip_prefix("autoconfig.").unwrap_or(name)
}

/// Outlook's POX Autodiscover.
pub async fn autodiscover(
    State(store): State<Store>,
    State(clients): State<Arc<ClientSettings>>,
    body: Bytes,
) -> Result<Response, HttpError> {
    let address = autodiscover_request(&body)?;
    hosted_domain(&store, address.domain().as_str()).await?;
    Ok(xml_response(autodiscover_xml(&clients, &address)))
}

/// The address a POX request body asks about; whether its domain is hosted
/// is the handler's question.
pub(crate) fn autodiscover_request(body: &[u8]) -> Result<Address, HttpError> {
    let body = std::str::from_utf8(body)
        .map_err(|_| HttpError::bad_request("the request is not UTF-8"))?;
    let requested = requested_address(body)
        .ok_or_else(|| HttpError::bad_request("the request has no <EMailAddress>"))?;
    parse_address(requested)
}

/// `text` as an address whose domain is hosted and active.
async fn hosted_address(store: &Store, text: &str) -> Result<Address, HttpError> {
    let address = parse_address(text)?;
    hosted_domain(store, address.domain().as_str()).await?;
    Ok(address)
}

fn parse_address(text: &str) -> Result<Address, HttpError> {
    text.trim()
        .parse()
        .map_err(|_| HttpError::bad_request("not a valid e-mail address"))
}

/// `name` as a domain that is hosted and active; `404` for any other.
async fn hosted_domain(store: &Store, name: &str) -> Result<DomainName, HttpError> {
    let name: DomainName = name.parse().map_err(|_| not_hosted())?;
    match store.domain(name.as_str()).await? {
        Some(domain) if domain.active => Ok(name),
        _ => Err(not_hosted()),
    }
}

/// The refusal of a domain not hosted here, or not active.
fn not_hosted() -> HttpError {
    HttpError::not_found("not found")
}

fn xml_response(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The text of the POX request's `<EMailAddress>`. Outlook writes the
/// element without a prefix, and an address has no characters XML would
/// need escaped, so a search is enough; what it finds is validated as an
/// address afterwards.
fn requested_address(body: &str) -> Option<&str> {
    let start = body.find("<EMailAddress>")? + "<EMailAddress>".len();
    let len = body[start..].find("</EMailAddress>")?;
    Some(&body[start..start + len])
}

fn thunderbird_xml(clients: &ClientSettings, domain: &DomainName) -> String {
    let domain = escape(domain.as_str());
    let hostname = escape(&clients.hostname);
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str("<clientConfig version=\"1.1\">\n");
    let _ = writeln!(xml, "  <emailProvider id=\"{domain}\">");
    let _ = writeln!(xml, "    <domain>{domain}</domain>");
    let _ = writeln!(xml, "    <displayName>{domain}</displayName>");
    let _ = writeln!(xml, "    <displayShortName>{domain}</displayShortName>");
    let servers = [
        ("incomingServer", "imap", &clients.imap),
        ("incomingServer", "pop3", &clients.pop3),
        ("outgoingServer", "smtp", &clients.smtp),
    ];
    for (element, kind, endpoints) in servers {
        for endpoint in endpoints {
            let socket_type = match endpoint.security {
                Security::Tls => "SSL",
                Security::StartTls => "STARTTLS",
            };
            let _ = writeln!(xml, "    <{element} type=\"{kind}\">");
            let _ = writeln!(xml, "      <hostname>{hostname}</hostname>");
            let _ = writeln!(xml, "      <port>{}</port>", endpoint.port);
            let _ = writeln!(xml, "      <socketType>{socket_type}</socketType>");
            xml.push_str("      <username>%EMAILADDRESS%</username>\n");
            xml.push_str("      <authentication>password-cleartext</authentication>\n");
            let _ = writeln!(xml, "    </{element}>");
        }
    }
    xml.push_str("  </emailProvider>\n</clientConfig>\n");
    xml
}

const RESPONSE_SCHEMA: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
const OUTLOOK_SCHEMA: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";

fn autodiscover_xml(clients: &ClientSettings, address: &Address) -> String {
    let hostname = escape(&clients.hostname);
    let login = escape(address.as_str());
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    let _ = writeln!(xml, "<Autodiscover xmlns=\"{RESPONSE_SCHEMA}\">");
    let _ = writeln!(xml, "  <Response xmlns=\"{OUTLOOK_SCHEMA}\">");
    xml.push_str("    <Account>\n");
    xml.push_str("      <AccountType>email</AccountType>\n");
    xml.push_str("      <Action>settings</Action>\n");
    let protocols = [
        ("IMAP", &clients.imap),
        ("POP3", &clients.pop3),
        ("SMTP", &clients.smtp),
    ];
    for (kind, endpoints) in protocols {
        for endpoint in endpoints {
            // Encryption overrides SSL for clients that know it; SSL alone
            // would read STARTTLS as "no TLS", so it is off there.
            let (ssl, encryption) = match endpoint.security {
                Security::Tls => ("on", "SSL"),
                Security::StartTls => ("off", "TLS"),
            };
            xml.push_str("      <Protocol>\n");
            let _ = writeln!(xml, "        <Type>{kind}</Type>");
            let _ = writeln!(xml, "        <Server>{hostname}</Server>");
            let _ = writeln!(xml, "        <Port>{}</Port>", endpoint.port);
            let _ = writeln!(xml, "        <LoginName>{login}</LoginName>");
            xml.push_str("        <DomainRequired>off</DomainRequired>\n");
            xml.push_str("        <SPA>off</SPA>\n");
            let _ = writeln!(xml, "        <SSL>{ssl}</SSL>");
            let _ = writeln!(xml, "        <Encryption>{encryption}</Encryption>");
            xml.push_str("        <AuthRequired>on</AuthRequired>\n");
            xml.push_str("      </Protocol>\n");
        }
    }
    xml.push_str("    </Account>\n  </Response>\n</Autodiscover>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ClientSettings {
        let mut config = Config::embedded();
        config.hostname = "mail.<a&b>.test".to_owned();
        ClientSettings::from_config(&config)
    }

    /// `(kind, port, security)` of each server element, in document order.
    fn servers(doc: &roxmltree::Document, element: &str, security: &str) -> Vec<(String, String)> {
        doc.descendants()
            .filter(|n| n.has_tag_name(element))
            .map(|n| {
                let child = |name: &str| {
                    n.children()
                        .find(|c| c.has_tag_name(name))
                        .and_then(|c| c.text())
                        .unwrap_or_default()
                        .to_owned()
                };
                assert_eq!(child("hostname"), "mail.<a&b>.test");
                (child("port"), child(security))
            })
            .collect()
    }

    #[test]
    fn a_host_name_gives_its_mail_domain() {
        assert_eq!(domain_of_host("comune.esempio.it"), "comune.esempio.it");
        assert_eq!(
            domain_of_host("autoconfig.comune.esempio.it"),
            "comune.esempio.it"
        );
        assert_eq!(
            domain_of_host("autoconfig.comune.esempio.it:8080"),
            "comune.esempio.it"
        );
        assert_eq!(domain_of_host("[::1]:443"), "[::1]");
    }

    #[test]
    fn settings_follow_the_first_listener_of_enabled_services() {
        let mut config = Config::embedded();
        config
            .imap
            .listen_tls
            .push("127.0.0.1:3993".parse().unwrap());
        config.smtp.listen_submissions.clear();
        config.pop3.listen.clear();
        let settings = ClientSettings::from_config(&config);
        let tls = |port| Endpoint {
            port,
            security: Security::Tls,
        };
        let starttls = |port| Endpoint {
            port,
            security: Security::StartTls,
        };
        assert_eq!(settings.hostname, "localhost");
        assert_eq!(settings.imap, [tls(2993), starttls(2143)]);
        assert_eq!(settings.pop3, [tls(2995)]);
        assert_eq!(settings.smtp, [starttls(2587)]);

        config.imap.enabled = false;
        config.pop3.listen_tls.clear();
        config.smtp.listen_submission = vec!["127.0.0.1:0".parse().unwrap()];
        let settings = ClientSettings::from_config(&config);
        assert!(settings.imap.is_empty());
        assert!(settings.pop3.is_empty());
        assert!(settings.smtp.is_empty());
    }

    #[test]
    fn thunderbird_config_parses_back() {
        let domain: DomainName = "comune.esempio.it".parse().unwrap();
        let xml = thunderbird_xml(&settings(), &domain);
        let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
        let root = doc.root_element();
        assert!(root.has_tag_name("clientConfig"));
        assert_eq!(root.attribute("version"), Some("1.1"));
        let provider = root.first_element_child().unwrap();
        assert_eq!(provider.attribute("id"), Some("comune.esempio.it"));
        let pair = |port: &str, socket: &str| (port.to_owned(), socket.to_owned());
        assert_eq!(
            servers(&doc, "incomingServer", "socketType"),
            [
                pair("2993", "SSL"),
                pair("2143", "STARTTLS"),
                pair("2995", "SSL"),
                pair("2110", "STARTTLS")
            ]
        );
        let kinds: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("incomingServer"))
            .filter_map(|n| n.attribute("type"))
            .collect();
        assert_eq!(kinds, ["imap", "imap", "pop3", "pop3"]);
        assert_eq!(
            servers(&doc, "outgoingServer", "socketType"),
            [pair("2465", "SSL"), pair("2587", "STARTTLS")]
        );
        for server in doc.descendants().filter(|n| n.has_tag_name("username")) {
            assert_eq!(server.text(), Some("%EMAILADDRESS%"));
        }
        let auth = doc
            .descendants()
            .filter(|n| n.has_tag_name("authentication"));
        assert!(
            auth.map(|n| n.text())
                .all(|t| t == Some("password-cleartext"))
        );
    }

    #[test]
    fn autodiscover_response_parses_back() {
        let address: Address = "Protocollo@Comune.Esempio.IT".parse().unwrap();
        let xml = autodiscover_xml(&settings(), &address);
        let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
        assert_eq!(
            doc.root_element().tag_name().namespace(),
            Some(RESPONSE_SCHEMA)
        );
        let protocols: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name((OUTLOOK_SCHEMA, "Protocol")))
            .map(|p| {
                let child = |name: &str| {
                    p.children()
                        .find(|c| c.has_tag_name(name))
                        .and_then(|c| c.text())
                        .unwrap_or_default()
                };
                assert_eq!(child("Server"), "mail.<a&b>.test");
                assert_eq!(child("LoginName"), "protocollo@comune.esempio.it");
                [
                    child("Type"),
                    child("Port"),
                    child("SSL"),
                    child("Encryption"),
                ]
                .join(" ")
            })
            .collect();
        assert_eq!(
            protocols,
            [
                "IMAP 2993 on SSL",
                "IMAP 2143 off TLS",
                "POP3 2995 on SSL",
                "POP3 2110 off TLS",
                "SMTP 2465 on SSL",
                "SMTP 2587 off TLS",
            ]
        );
    }

    #[test]
    fn request_address_is_found_in_a_pox_request() {
        let body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
            <Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\">\n\
            <Request><EMailAddress> a@comune.it </EMailAddress>\n\
            <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>\n\
            </Request></Autodiscover>";
        assert_eq!(requested_address(body), Some(" a@comune.it "));
        assert_eq!(requested_address("<EMailAddress>a@b.it"), None);
        assert_eq!(requested_address("</EMailAddress><EMailAddress>"), None);
    }
}
