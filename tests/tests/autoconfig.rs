//! Client autoconfiguration over the admin HTTP listener of the real
//! binary: Thunderbird's `config-v1.1.xml` on both of its paths and
//! Outlook's POX Autodiscover, parsed and checked against the configured
//! listeners; `404` for a domain that is not hosted or not active.

use std::net::SocketAddr;

use postino_tests::http::{Request, request};
use postino_tests::{Backend, Server, TEST_LIMIT, TestConfig, within};

const DOMAIN: &str = "comune.esempio.it";
const HOSTNAME: &str = "mx.postino.test";

#[tokio::test]
async fn answers_with_the_configured_listeners_on_sqlite() {
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        config.cli(&["domain", "add", DOMAIN], None).await.ok();
        config
            .cli(&["domain", "add", "spento.esempio.it"], None)
            .await
            .ok();
        let store = config.open_store().await;
        let mut tx = store.begin().await.expect("begin");
        tx.set_domain_active("spento.esempio.it", false)
            .await
            .expect("deactivate the domain");
        tx.commit().await.expect("commit");
        store.close().await;

        let _server = Server::start(&config).await;
        let listeners = config.listeners;
        let port = |addr: SocketAddr| addr.port().to_string();

        for path in [
            "/.well-known/autoconfig/mail/config-v1.1.xml",
            "/mail/config-v1.1.xml",
        ] {
            let (status, body) = request(
                listeners.admin,
                "GET",
                &format!("{path}?emailaddress=protocollo%40{DOMAIN}"),
                "",
            )
            .await;
            assert_eq!(status, 200, "GET {path}: {body}");
            let doc = roxmltree::Document::parse(&body).expect("well-formed XML");
            let provider = doc
                .descendants()
                .find(|n| n.has_tag_name("emailProvider"))
                .expect("an emailProvider");
            assert_eq!(provider.attribute("id"), Some(DOMAIN));
            let servers: Vec<String> = doc
                .descendants()
                .filter(|n| n.has_tag_name("incomingServer") || n.has_tag_name("outgoingServer"))
                .map(|server| {
                    assert_eq!(text(server, "hostname"), HOSTNAME);
                    assert_eq!(text(server, "username"), "%EMAILADDRESS%");
                    let kind = server.attribute("type").unwrap_or_default();
                    let socket = text(server, "socketType");
                    format!("{kind} {} {socket}", text(server, "port"))
                })
                .collect();
            assert_eq!(
                servers,
                [
                    format!("imap {} SSL", port(listeners.imap_tls)),
                    format!("imap {} STARTTLS", port(listeners.imap)),
                    format!("pop3 {} SSL", port(listeners.pop3_tls)),
                    format!("pop3 {} STARTTLS", port(listeners.pop3)),
                    format!("smtp {} SSL", port(listeners.smtp_submissions)),
                    format!("smtp {} STARTTLS", port(listeners.smtp_submission)),
                ]
            );
        }

        for path in [
            "/autodiscover/autodiscover.xml",
            "/Autodiscover/Autodiscover.xml",
        ] {
            let (status, body) = request(
                listeners.admin,
                "POST",
                path,
                &pox_request(&format!("protocollo@{DOMAIN}")),
            )
            .await;
            assert_eq!(status, 200, "POST {path}: {body}");
            let doc = roxmltree::Document::parse(&body).expect("well-formed XML");
            let protocols: Vec<String> = doc
                .descendants()
                .filter(|n| n.has_tag_name("Protocol"))
                .map(|protocol| {
                    assert_eq!(text(protocol, "Server"), HOSTNAME);
                    assert_eq!(text(protocol, "LoginName"), format!("protocollo@{DOMAIN}"));
                    ["Type", "Port", "SSL", "Encryption"]
                        .map(|name| text(protocol, name))
                        .join(" ")
                })
                .collect();
            assert_eq!(
                protocols,
                [
                    format!("IMAP {} on SSL", port(listeners.imap_tls)),
                    format!("IMAP {} off TLS", port(listeners.imap)),
                    format!("POP3 {} on SSL", port(listeners.pop3_tls)),
                    format!("POP3 {} off TLS", port(listeners.pop3)),
                    format!("SMTP {} on SSL", port(listeners.smtp_submissions)),
                    format!("SMTP {} off TLS", port(listeners.smtp_submission)),
                ]
            );
        }

        // Without ?emailaddress, the domain is the name the client asked.
        let well_known = "/.well-known/autoconfig/mail/config-v1.1.xml";
        for host in [
            DOMAIN.to_string(),
            format!("autoconfig.{DOMAIN}:{}", port(listeners.admin)),
        ] {
            let response = Request::get(well_known)
                .host(&host)
                .send(listeners.admin)
                .await;
            assert_eq!(response.status, 200, "Host {host}: {response:#?}");
            let doc = roxmltree::Document::parse(&response.body).expect("well-formed XML");
            let provider = doc
                .descendants()
                .find(|n| n.has_tag_name("emailProvider"))
                .expect("an emailProvider");
            assert_eq!(provider.attribute("id"), Some(DOMAIN));
        }
        for host in [
            "autoconfig.altro.esempio.it",
            "spento.esempio.it",
            "127.0.0.1",
        ] {
            let response = Request::get(well_known)
                .host(host)
                .send(listeners.admin)
                .await;
            assert_eq!(response.status, 404, "Host {host}: {response:#?}");
        }

        for domain in ["altro.esempio.it", "spento.esempio.it"] {
            let query = format!("/mail/config-v1.1.xml?emailaddress=a%40{domain}");
            let (status, _) = request(listeners.admin, "GET", &query, "").await;
            assert_eq!(status, 404, "autoconfig for {domain}");
            let pox = pox_request(&format!("a@{domain}"));
            let (status, _) = request(
                listeners.admin,
                "POST",
                "/autodiscover/autodiscover.xml",
                &pox,
            )
            .await;
            assert_eq!(status, 404, "autodiscover for {domain}");
        }
        let (status, _) = request(
            listeners.admin,
            "POST",
            "/autodiscover/autodiscover.xml",
            &"x".repeat(20 * 1024),
        )
        .await;
        assert_eq!(status, 413, "an oversized Autodiscover request");
    })
    .await
}

/// The text of `node`'s child element `name`, or "" without one.
fn text<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> &'a str {
    node.children()
        .find(|c| c.tag_name().name() == name)
        .and_then(|c| c.text())
        .unwrap_or_default()
}

/// An Autodiscover request as Outlook sends it.
fn pox_request(address: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n\
         <Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\">\r\n\
         <Request><EMailAddress>{address}</EMailAddress>\r\n\
         <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>\r\n\
         </Request></Autodiscover>\r\n"
    )
}
