//! Login and throttling tests, on SQLite and on PostgreSQL.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::address::Address;
use crate::store::{AdminScope, NewAccount, NewDomain, NewRelayClient, parse_network};
use crate::store_tests;

store_tests!(
    users_log_in_with_the_right_password_only,
    an_attack_on_an_account_slows_strangers_but_not_its_owner,
    repeated_failures_lock_out_the_ip,
    disabled_domains_cannot_log_in,
    admins_log_in,
    relay_clients_log_in_and_are_throttled,
    a_changed_password_is_not_remembered,
    clones_share_verified_passwords_and_the_hashing_limit,
);

const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
const OTHER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20));
const ACCOUNT_DELAY: Duration = Duration::from_secs(1);

fn authenticator(store: &Store) -> Authenticator {
    // The account delay is long enough to tell a delayed answer apart.
    let policy = ThrottlePolicy {
        base_account_delay: ACCOUNT_DELAY,
        max_account_delay: ACCOUNT_DELAY * 2,
        known_for: Duration::from_secs(30 * 86_400),
        ..ThrottlePolicy::for_tests(5, 3)
    };
    Authenticator::new(store.clone(), policy, 2)
}

async fn with_user(store: &Store, auth: &Authenticator, address: &str, password: &str) {
    let hash = auth.hash_password(&Secret::new(password)).await.unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let address: Address = address.parse().unwrap();
    let mut tx = store.begin().await.unwrap();
    if tx
        .domain(address.domain().as_str())
        .await
        .unwrap()
        .is_none()
    {
        tx.create_domain(&NewDomain {
            name: address.domain(),
            quota_bytes: 0,
            max_mailboxes: 0,
        })
        .await
        .unwrap();
    }
    tx.create_account(&NewAccount {
        address,
        display_name: String::new(),
        password_hash: Some(hash),
        quota_bytes: 0,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn users_log_in_with_the_right_password_only(store: Store) {
    let auth = authenticator(&store);
    with_user(&store, &auth, "anna@comune.example.it", "correct horse").await;
    let user = auth
        .login_user(
            Service::Imap,
            "Anna@Comune.Example.it",
            &Secret::new("correct horse"),
            IP,
        )
        .await
        .unwrap();
    assert_eq!(user.address, "anna@comune.example.it");
    let wrong = auth
        .login_user(
            Service::Imap,
            "anna@comune.example.it",
            &Secret::new("wrong"),
            IP,
        )
        .await;
    assert!(matches!(wrong, Err(AuthError::Invalid)));
    let unknown = auth
        .login_user(
            Service::Smtp,
            "nobody@comune.example.it",
            &Secret::new("x"),
            IP,
        )
        .await;
    assert!(matches!(unknown, Err(AuthError::Invalid)));
    // A success makes the address known to the account.
    auth.login_user(
        Service::Imap,
        "anna@comune.example.it",
        &Secret::new("correct horse"),
        IP,
    )
    .await
    .unwrap();
    let known = store
        .known_client("account:anna@comune.example.it", "192.0.2.10", 0)
        .await
        .unwrap();
    assert!(known.is_some());
}

async fn an_attack_on_an_account_slows_strangers_but_not_its_owner(store: Store) {
    let auth = authenticator(&store);
    with_user(&store, &auth, "anna@comune.example.it", "right").await;
    let login = |password: &'static str, ip: IpAddr| {
        let auth = auth.clone();
        async move {
            let started = std::time::Instant::now();
            let outcome = auth
                .login_user(
                    Service::Imap,
                    "anna@comune.example.it",
                    &Secret::new(password),
                    ip,
                )
                .await;
            (outcome, started.elapsed())
        }
    };
    login("right", IP).await.0.unwrap();
    // Failures from many addresses, each below its own limit, add up on
    // the account.
    for last in 30..36 {
        let attacker = IpAddr::V4(Ipv4Addr::new(198, 51, 100, last));
        assert!(matches!(
            login("wrong", attacker).await.0,
            Err(AuthError::Invalid)
        ));
    }
    // Anna, from where she logged in before, is neither refused nor slowed.
    let (owner, took) = login("right", IP).await;
    owner.unwrap();
    assert!(took < ACCOUNT_DELAY, "{took:?}");
    // From an address the account does not know, the right password is
    // accepted after a delay, and a wrong one is not refused outright.
    let (stranger, took) = login("right", OTHER_IP).await;
    stranger.unwrap();
    assert!(took >= ACCOUNT_DELAY, "{took:?}");
    let stranger = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));
    let (wrong, took) = login("wrong", stranger).await;
    assert!(matches!(wrong, Err(AuthError::Invalid)));
    assert!(took >= ACCOUNT_DELAY, "{took:?}");
}

#[test]
fn the_account_delay_grows_up_to_its_cap() {
    let policy = ThrottlePolicy::from_config(&postino_config::AuthConfig::default());
    let limit = i64::from(policy.max_failures_per_account);
    assert_eq!(policy.account_delay(limit - 1), None);
    assert_eq!(policy.account_delay(limit), Some(Duration::from_secs(1)));
    assert_eq!(
        policy.account_delay(limit + 2),
        Some(Duration::from_secs(4))
    );
    assert_eq!(
        policy.account_delay(limit + 100),
        Some(policy.max_account_delay)
    );
}

#[test]
fn ipv6_clients_are_known_by_their_64() {
    let ip: IpAddr = "2001:db8:1:2:a:b:c:d".parse().unwrap();
    assert_eq!(client_key(ip), "2001:db8:1:2::/64");
    let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
    assert_eq!(client_key(mapped), "192.0.2.1");
}

async fn repeated_failures_lock_out_the_ip(store: Store) {
    let auth = authenticator(&store);
    with_user(&store, &auth, "anna@comune.example.it", "right").await;
    // A scan over many names from one address.
    for i in 0..5 {
        let failed = auth
            .login_user(
                Service::Smtp,
                &format!("u{i}@comune.example.it"),
                &Secret::new("x"),
                IP,
            )
            .await;
        assert!(matches!(failed, Err(AuthError::Invalid)));
    }
    let from_scanner = auth
        .login_user(
            Service::Smtp,
            "anna@comune.example.it",
            &Secret::new("right"),
            IP,
        )
        .await;
    assert!(matches!(from_scanner, Err(AuthError::Throttled { .. })));
    // Anna herself, from elsewhere, is not affected.
    auth.login_user(
        Service::Smtp,
        "anna@comune.example.it",
        &Secret::new("right"),
        OTHER_IP,
    )
    .await
    .unwrap();
}

async fn disabled_domains_cannot_log_in(store: Store) {
    let auth = authenticator(&store);
    with_user(&store, &auth, "anna@comune.example.it", "right").await;
    let mut tx = store.begin().await.unwrap();
    tx.set_domain_active("comune.example.it", false)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let refused = auth
        .login_user(
            Service::Imap,
            "anna@comune.example.it",
            &Secret::new("right"),
            IP,
        )
        .await;
    assert!(matches!(refused, Err(AuthError::Invalid)));
}

async fn admins_log_in(store: Store) {
    let auth = authenticator(&store);
    let hash = auth.hash_password(&Secret::new("s3cret")).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.create_admin("provincia", &hash, &AdminScope::AllDomains)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let admin = auth
        .login_admin("provincia", &Secret::new("s3cret"), IP)
        .await
        .unwrap();
    assert_eq!(admin.scope, AdminScope::AllDomains);
    let wrong = auth
        .login_admin("provincia", &Secret::new("nope"), IP)
        .await;
    assert!(matches!(wrong, Err(AuthError::Invalid)));
}

async fn relay_clients_log_in_and_are_throttled(store: Store) {
    let auth = authenticator(&store);
    let hash = auth
        .hash_password(&Secret::new("protocollo-segreto"))
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.create_domain(&NewDomain {
        name: "comune.example.it".parse().unwrap(),
        quota_bytes: 0,
        max_mailboxes: 0,
    })
    .await
    .unwrap();
    for (name, password_hash, networks) in [
        ("protocollo", Some(hash), vec![]),
        ("suap", None, vec![parse_network("10.0.0.0/8").unwrap()]),
    ] {
        tx.create_relay_client(&NewRelayClient {
            name: name.to_string(),
            networks,
            password_hash,
            sender_domains: vec!["comune.example.it".to_string()],
            rate_per_minute: 0,
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let login = |name: &'static str, password: &'static str| {
        let auth = auth.clone();
        async move {
            auth.login_relay(Service::Smtp, name, &Secret::new(password), IP)
                .await
        }
    };
    let client = login("Protocollo", "protocollo-segreto").await.unwrap();
    assert_eq!(client.name, "protocollo");
    for (name, password) in [
        ("protocollo", "sbagliata"),
        ("suap", ""),
        ("nessuno", "protocollo-segreto"),
    ] {
        assert!(
            matches!(login(name, password).await, Err(AuthError::Invalid)),
            "{name}"
        );
    }
    // Failures under its name only slow the client down where it never
    // logged in from; five from one address lock that address out.
    login("protocollo", "sbagliata").await.ok();
    login("protocollo", "sbagliata").await.ok();
    auth.login_relay(
        Service::Smtp,
        "protocollo",
        &Secret::new("protocollo-segreto"),
        OTHER_IP,
    )
    .await
    .unwrap();
    assert!(matches!(
        login("protocollo", "protocollo-segreto").await,
        Err(AuthError::Throttled { .. })
    ));
}

async fn a_changed_password_is_not_remembered(store: Store) {
    let auth = authenticator(&store);
    with_user(&store, &auth, "anna@comune.example.it", "first password").await;
    let login = |password: &'static str| {
        let auth = auth.clone();
        async move {
            auth.login_user(
                Service::Imap,
                "anna@comune.example.it",
                &Secret::new(password),
                IP,
            )
            .await
        }
    };
    // The second login is answered from the cache of verified passwords.
    login("first password").await.unwrap();
    login("first password").await.unwrap();
    assert!(matches!(
        login("First password").await,
        Err(AuthError::Invalid)
    ));
    let hash = auth
        .hash_password(&Secret::new("second password"))
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.set_password("anna@comune.example.it", &hash)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(matches!(
        login("first password").await,
        Err(AuthError::Invalid)
    ));
    login("second password").await.unwrap();
}

/// `postino serve` hands one authenticator's clones to SMTP, IMAP and HTTP:
/// a password verified by one is known to the others, and the limit on
/// concurrent hashes is one limit.
async fn clones_share_verified_passwords_and_the_hashing_limit(store: Store) {
    let imap = authenticator(&store);
    let smtp = imap.clone();
    with_user(&store, &imap, "anna@comune.example.it", "correct horse").await;
    let password = Secret::new("correct horse");
    imap.login_user(Service::Imap, "anna@comune.example.it", &password, IP)
        .await
        .unwrap();
    let hash = store
        .credentials("anna@comune.example.it")
        .await
        .unwrap()
        .and_then(|c| c.password_hash)
        .unwrap();
    assert!(smtp.verified.contains(&hash, &password));
    let _permit = imap.hashing.acquire().await.unwrap();
    assert_eq!(smtp.hashing.available_permits(), 1);
}
