//! `postino serve`: binds every enabled listener, opens the store, starts
//! the services, reloads the TLS certificate on SIGHUP, and shuts them
//! down cleanly on SIGTERM or Ctrl-C.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use postino_common::auth::Authenticator;
use postino_common::listener::ConnectionLimits;
use postino_common::store::{EXPUNGED_KEPT_FOR, Store, now};
use postino_common::tls::{CertificateSource, ServerTls};
use postino_config::{ClamdAddress, Config, OnFailure};
use postino_smtp::authres::Verifier;
use postino_smtp::dnsbl::Blocklists;
use postino_smtp::filter::Filters;
use postino_smtp::scan::Clamd;
use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::{blob_collector, expiry, http, login_history, ops, reload, retention};

/// How long sessions get to finish after shutdown begins.
const DRAIN: Duration = Duration::from_secs(10);
/// How often the metrics recorder is tidied up (see [`keep_metrics_tidy`]).
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// A configuration key as an operator finds it: `FILE: KEY`, or the bare
/// key for the embedded default, which has no file.
fn setting(origin: Option<&Path>, key: &str) -> String {
    match origin {
        Some(file) => format!("{}: {key}", file.display()),
        None => key.to_owned(),
    }
}

/// Binds one configured listener, with an error an operator can act on;
/// `key` is [`setting`]'s.
async fn bind(key: &str, addr: SocketAddr) -> anyhow::Result<TcpListener> {
    match TcpListener::bind(addr).await {
        Ok(listener) => Ok(listener),
        Err(err) if err.kind() == ErrorKind::AddrInUse => bail!(
            "{key}: cannot listen on {addr}: the address is already in use; \
             stop the program using it or choose another address in the configuration"
        ),
        Err(err) if err.kind() == ErrorKind::PermissionDenied => bail!(
            "{key}: cannot listen on {addr}: ports below 1024 need privilege; \
             run postino as root or with CAP_NET_BIND_SERVICE, or choose a port above 1023"
        ),
        Err(err) => Err(err).with_context(|| format!("{key}: cannot listen on {addr}")),
    }
}

async fn bind_all(
    origin: Option<&Path>,
    key: &str,
    addrs: &[SocketAddr],
    enabled: bool,
) -> anyhow::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    if enabled {
        for &addr in addrs {
            listeners.push(bind(&setting(origin, key), addr).await?);
        }
    }
    Ok(listeners)
}

/// Raises the soft limit on open files to the hard one: every connection
/// is a file, and the usual soft limit (1024) is below the default
/// `imap.max_connections`.
fn raise_open_files_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    // No hard limit is not a value the soft one may take for files.
    if limit.maximum.is_none() || limit.current == limit.maximum {
        return;
    }
    let raised = rustix::process::Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => tracing::debug!(limit = ?limit.maximum, "raised the open files limit"),
        Err(err) => tracing::warn!(error = %err, "cannot raise the open files limit"),
    }
}

/// Runs the services of `config`, read from `origin` (`None`: the embedded
/// default), until SIGTERM or SIGINT.
pub async fn run(config: Config, origin: Option<&Path>) -> anyhow::Result<()> {
    raise_open_files_limit();
    // Listen for signals before anything starts, so that a SIGTERM or SIGHUP
    // sent while the server is still starting is handled instead of killing
    // it.
    let mut stop = StopSignals::listen()?;
    let hangups = reload::Hangups::listen()?;
    let recorder = install_metrics_recorder()?;
    let (smtp, imap, admin) = (&config.smtp, &config.imap, &config.admin);
    // Bind everything first, so that a taken port stops the start at once.
    let mx = bind_all(origin, "smtp.listen_mx", &smtp.listen_mx, smtp.enabled).await?;
    let submission = bind_all(
        origin,
        "smtp.listen_submission",
        &smtp.listen_submission,
        smtp.enabled,
    )
    .await?;
    let submissions = bind_all(
        origin,
        "smtp.listen_submissions",
        &smtp.listen_submissions,
        smtp.enabled,
    )
    .await?;
    let imap_plain = bind_all(origin, "imap.listen", &imap.listen, imap.enabled).await?;
    let imap_tls = bind_all(origin, "imap.listen_tls", &imap.listen_tls, imap.enabled).await?;
    let pop3_plain = bind_all(origin, "pop3.listen", &config.pop3.listen, true).await?;
    let pop3_tls = bind_all(origin, "pop3.listen_tls", &config.pop3.listen_tls, true).await?;
    let sieve = bind_all(origin, "sieve.listen", &config.sieve.listen, true).await?;
    let http = bind_all(origin, "admin.listen", &admin.listen, admin.enabled).await?;
    let all = [
        ("smtp.listen_mx", &mx),
        ("smtp.listen_submission", &submission),
        ("smtp.listen_submissions", &submissions),
        ("imap.listen", &imap_plain),
        ("imap.listen_tls", &imap_tls),
        ("pop3.listen", &pop3_plain),
        ("pop3.listen_tls", &pop3_tls),
        ("sieve.listen", &sieve),
        ("admin.listen", &http),
    ];
    for (key, listeners) in all {
        for listener in listeners {
            tracing::info!(listener = key, address = %listener.local_addr()?, "listening");
        }
    }

    let store = ops::open_store(&config).await?;
    tracing::info!(backend = ?config.store.backend, data_dir = %config.data_dir.display(), "store open");
    let server_tls = ServerTls::load(&CertificateSource {
        files: config.tls.cert.as_deref().zip(config.tls.key.as_deref()),
        data_dir: &config.data_dir,
        hostname: &config.hostname,
    })
    .context("cannot set up TLS")?;
    let tls = server_tls.config();
    // One authenticator for every service, so that the argon2 concurrency
    // limit, its memory and the cache of verified passwords are the
    // configured ones, not one set per service.
    let auth = ops::authenticator(&store, &config);

    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let smtp_listeners: Vec<_> = [
        (postino_smtp::ListenerKind::Mx, mx),
        (postino_smtp::ListenerKind::Submission, submission),
        (postino_smtp::ListenerKind::Submissions, submissions),
    ]
    .into_iter()
    .flat_map(|(kind, listeners)| listeners.into_iter().map(move |l| (kind, l)))
    .collect();
    let smtp_context = Arc::new(postino_smtp::Context {
        settings: postino_smtp::Settings {
            hostname: config.hostname.clone(),
            limits: ConnectionLimits {
                total: smtp.max_connections as usize,
                per_ip: smtp.max_connections_per_ip as usize,
            },
            timeouts: postino_smtp::Timeouts {
                idle: smtp.idle_timeout.0,
                command: smtp.command_timeout.0,
                min_data_rate: smtp.min_data_rate.0,
                session: smtp.session_timeout.0,
            },
            max_message_size: usize::try_from(smtp.max_message_size.0).unwrap_or(usize::MAX),
            max_recipients: smtp.max_recipients as usize,
            max_errors: smtp.max_errors,
            allow_plaintext_auth: smtp.allow_plaintext_auth,
            postmaster: smtp.postmaster.clone(),
            bare_newline_allow: smtp.bare_newline_allow.clone(),
            pregreet_wait: smtp.pregreet_wait.0,
            sending_limits: postino_smtp::SendingLimits {
                messages_per_hour: smtp.max_messages_per_hour,
                recipients_per_day: smtp.max_recipients_per_day,
            },
        },
        store: store.clone(),
        auth: auth.clone(),
        tls: TlsAcceptor::from(tls.clone()),
        verifier: Verifier::new(
            &config.hostname,
            &config.dns.nameservers,
            config.dns.timeout.0,
        )
        .context("cannot set up the DNS resolver for SPF, DKIM and DMARC checks")?,
        scanner: scanner(&config),
        blocklists: Blocklists::new(
            config.antispam.dnsbl.clone(),
            config.antispam.dnswl.clone(),
            &config.dns.nameservers,
            config.dns.timeout.0,
        )
        .context("cannot set up the DNS resolver for DNS lists")?,
        filters: Filters::new(
            postino_common::sieve::engine_limits(&config.sieve),
            config
                .sieve
                .srs_domain
                .as_deref()
                .unwrap_or(&config.hostname),
        ),
    });
    postino_smtp::spawn(smtp_listeners, smtp_context, shutdown.clone(), &tracker);
    if smtp.enabled {
        postino_smtp::outbound::spawn(
            delivery_settings(&config),
            store.clone(),
            shutdown.clone(),
            &tracker,
        )
        .context("cannot start outbound delivery")?;
    }
    let imap_context = Arc::new(postino_imap::Context {
        settings: postino_imap::Settings {
            limits: ConnectionLimits {
                total: imap.max_connections as usize,
                per_ip: imap.max_connections_per_ip as usize,
            },
            idle_timeout: imap.idle_timeout.0,
            max_message_size: imap.max_message_size.0,
            max_errors: imap.max_errors,
            allow_plaintext_auth: imap.allow_plaintext_auth,
            spam_learning: config.antispam.learning(),
        },
        store: store.clone(),
        auth: auth.clone(),
        tls: TlsAcceptor::from(tls.clone()),
    });
    postino_imap::spawn(
        imap_plain,
        imap_tls,
        imap_context,
        shutdown.clone(),
        &tracker,
    );
    let listeners = (pop3_plain, pop3_tls);
    pop3(&config, listeners, &store, &auth, &tls, &shutdown, &tracker);
    managesieve(&config, sieve, &store, &auth, &tls, &shutdown, &tracker);
    if let Some(settings) = learning_settings(&config) {
        postino_smtp::scan::learn::spawn(settings, store.clone(), shutdown.clone(), &tracker);
    }
    keep_metrics_tidy(recorder.clone(), shutdown.clone(), &tracker);
    http::spawn(
        http,
        http::Setup {
            config: &config,
            store: store.clone(),
            auth: auth.clone(),
            recorder,
            tls: config.tls.cert.is_some().then(|| TlsAcceptor::from(tls)),
        },
        shutdown.clone(),
        &tracker,
    );
    login_history::spawn(auth.clone(), store.clone(), shutdown.clone(), &tracker);
    retention::spawn(
        store.clone(),
        &config.hostname,
        &config.retention,
        shutdown.clone(),
        &tracker,
    );
    hourly_upkeep(
        ops::Ops::new(store.clone(), auth, ops::Actor::server()),
        store.clone(),
        &config.hostname,
        shutdown.clone(),
        &tracker,
    );
    expiry::spawn(
        store.clone(),
        &config.hostname,
        config.antispam.junk_retention.0,
        shutdown.clone(),
        &tracker,
    );
    blob_collector::spawn(
        store.clone(),
        &config.hostname,
        config.blobs.gc_grace.0,
        shutdown.clone(),
        &tracker,
    );
    reload::spawn(hangups, server_tls, shutdown.clone(), &tracker);
    let file = origin.map_or_else(|| "none".to_owned(), |path| path.display().to_string());
    tracing::info!(hostname = %config.hostname, blobs = store.blobs().target().name(), config = %file, "postino is running");

    stop.wait().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    tracker.close();
    if tokio::time::timeout(DRAIN, tracker.wait()).await.is_err() {
        tracing::warn!(drain = ?DRAIN, "sessions still open after the drain time; closing them");
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Starts POP3 on its listeners (STLS, implicit TLS), with IMAP's rules
/// for plaintext logins and bad commands.
fn pop3(
    config: &Config,
    (plain, implicit_tls): (Vec<TcpListener>, Vec<TcpListener>),
    store: &Store,
    auth: &Authenticator,
    tls: &Arc<tokio_rustls::rustls::ServerConfig>,
    shutdown: &CancellationToken,
    tracker: &TaskTracker,
) {
    let pop3 = &config.pop3;
    let context = Arc::new(postino_pop3::Context {
        settings: postino_pop3::Settings {
            limits: ConnectionLimits {
                total: pop3.max_connections as usize,
                per_ip: pop3.max_connections_per_ip as usize,
            },
            idle_timeout: pop3.idle_timeout.0,
            max_errors: config.imap.max_errors,
            allow_plaintext_auth: config.imap.allow_plaintext_auth,
        },
        store: store.clone(),
        auth: auth.clone(),
        tls: TlsAcceptor::from(tls.clone()),
    });
    postino_pop3::spawn(plain, implicit_tls, context, shutdown.clone(), tracker);
}

/// Starts ManageSieve on its listeners, with IMAP's rules for plaintext
/// logins and bad commands.
fn managesieve(
    config: &Config,
    listeners: Vec<TcpListener>,
    store: &Store,
    auth: &Authenticator,
    tls: &Arc<tokio_rustls::rustls::ServerConfig>,
    shutdown: &CancellationToken,
    tracker: &TaskTracker,
) {
    let sieve = &config.sieve;
    let context = Arc::new(postino_managesieve::Context {
        settings: postino_managesieve::Settings {
            limits: ConnectionLimits {
                total: sieve.max_connections as usize,
                per_ip: sieve.max_connections_per_ip as usize,
            },
            idle_timeout: sieve.idle_timeout.0,
            max_errors: config.imap.max_errors,
            allow_plaintext_auth: config.imap.allow_plaintext_auth,
            scripts: sieve.clone(),
        },
        store: store.clone(),
        auth: auth.clone(),
        tls: TlsAcceptor::from(tls.clone()),
    });
    postino_managesieve::spawn(listeners, context, shutdown.clone(), tracker);
}

/// Installs the process's metrics recorder, whose handle renders
/// `/metrics`, and describes every metric to it. It comes first: what is
/// recorded before it is lost.
fn install_metrics_recorder() -> anyhow::Result<PrometheusHandle> {
    let recorder = PrometheusBuilder::new()
        .set_buckets(&postino_common::metrics::LATENCY_BUCKETS)
        .context("cannot set the buckets of the latency histograms")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    postino_common::metrics::describe();
    postino_smtp::metrics::describe();
    postino_imap::metrics::describe();
    postino_pop3::metrics::describe();
    postino_managesieve::SESSIONS.describe();
    Ok(recorder)
}

/// Drains the recorder's histogram samples into their buckets every few
/// seconds, so that they do not pile up between scrapes (or without any).
fn keep_metrics_tidy(
    recorder: PrometheusHandle,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    tracker.spawn(async move {
        let mut every = tokio::time::interval(METRICS_UPKEEP);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = every.tick() => recorder.run_upkeep(),
            }
        }
    });
}

/// At start and then every hour, on one node at a time: retires DKIM
/// keys whose grace period after a rotation is over, and drops expunge
/// records older than the store keeps them.
fn hourly_upkeep(
    ops: ops::Ops,
    store: Store,
    hostname: &str,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    let ops = std::sync::Arc::new(ops);
    crate::leased::spawn(
        store,
        hostname,
        "hourly-upkeep",
        Duration::from_secs(3600),
        shutdown,
        tracker,
        move |store| {
            let ops = ops.clone();
            async move {
                match ops.retire_expired_dkim_keys().await {
                    Ok(0) => {}
                    Ok(retired) => {
                        tracing::info!(retired, "retired DKIM keys past their grace period")
                    }
                    Err(err) => tracing::warn!(error = %err, "cannot retire DKIM keys"),
                }
                let before = now() - EXPUNGED_KEPT_FOR;
                match store.prune_expunged(before).await {
                    Ok(0) => {}
                    Ok(dropped) => {
                        tracing::info!(dropped, "dropped expunge records older than a week")
                    }
                    Err(err) => tracing::warn!(error = %err, "cannot drop old expunge records"),
                }
                // No vacation period reaches back further than the longest.
                let longest = postino_sieve::Limits::default().max_vacation_period;
                let before = now() - i64::try_from(longest).unwrap_or(i64::MAX);
                match store.prune_vacation_replies(before).await {
                    Ok(0) => {}
                    Ok(forgotten) => {
                        tracing::info!(forgotten, "forgot vacation replies older than any period")
                    }
                    Err(err) => tracing::warn!(error = %err, "cannot forget old vacation replies"),
                }
            }
        },
    );
}

/// Content scanning on the MX, from `[antispam]`; `None` when no scanner is set.
fn scanner(config: &Config) -> Option<postino_smtp::scan::Scanner> {
    let antispam = &config.antispam;
    antispam.enabled().then(|| postino_smtp::scan::Scanner {
        blocked_attachments: lower_case(&antispam.blocked_attachments),
        blocked_in_archives: lower_case(&antispam.blocked_in_archives),
        clamd: antispam.clamd.as_ref().map(|address| match address {
            ClamdAddress::Tcp(host_port) => Clamd::Tcp(host_port.to_string()),
            ClamdAddress::Unix(path) => Clamd::Unix(path.clone()),
        }),
        servers: antispam
            .rspamd_url
            .iter()
            .map(|url| url.0.to_string())
            .collect(),
        timeout: antispam.timeout.0,
        max_size: usize::try_from(antispam.max_size.0).unwrap_or(usize::MAX),
        on_failure: match antispam.on_failure {
            OnFailure::Tempfail => postino_smtp::scan::OnFailure::Tempfail,
            OnFailure::Accept => postino_smtp::scan::OnFailure::Accept,
        },
        scan_outbound: antispam.scan_outbound,
        outbound_profile: antispam.outbound_profile.as_ref().map(|id| id.0.clone()),
    })
}

/// File name extensions as the scan compares them.
fn lower_case(extensions: &[String]) -> Vec<String> {
    extensions
        .iter()
        .map(|extension| extension.to_ascii_lowercase())
        .collect()
}

/// Learning from users, from `[antispam]`; `None` when no rspamd
/// controller is set. Every node runs a worker: the jobs are leased one
/// at a time, each by one node.
fn learning_settings(config: &Config) -> Option<postino_smtp::scan::learn::Settings> {
    let antispam = &config.antispam;
    antispam
        .learning()
        .then(|| postino_smtp::scan::learn::Settings {
            controllers: antispam
                .rspamd_controller_url
                .iter()
                .map(|url| url.0.to_string())
                .collect(),
            password: antispam
                .rspamd_password
                .as_ref()
                .map(|password| postino_common::auth::Secret::new(password.0.clone())),
            timeout: antispam.timeout.0,
            max_size: usize::try_from(antispam.max_size.0).unwrap_or(usize::MAX),
            retry: antispam.learn_retry.iter().map(|wait| wait.0).collect(),
            hostname: config.hostname.clone(),
        })
}

/// The settings of outbound delivery, from `[delivery]` and `[dns]`.
fn delivery_settings(config: &Config) -> postino_smtp::outbound::Settings {
    use postino_smtp::outbound::{Credentials, Hop, MtaStsSettings, Schedule, Settings};
    let delivery = &config.delivery;
    let hop = |d: &postino_config::HostPort| Hop {
        host: d.host.clone(),
        port: d.port,
    };
    Settings {
        hostname: config.hostname.clone(),
        port: delivery.port,
        schedule: Schedule {
            waits: delivery.retry.iter().map(|wait| wait.0).collect(),
            lifetime: delivery.lifetime.0,
            // 0 turns delay notices off.
            delay_notice: Some(delivery.delay_notice.0).filter(|after| !after.is_zero()),
        },
        max_connections_per_domain: delivery.max_connections_per_domain as usize,
        max_concurrent: delivery.max_concurrent as usize,
        smarthost: delivery.smarthost.as_ref().map(hop),
        smarthost_credentials: delivery
            .smarthost_user
            .clone()
            .zip(delivery.smarthost_password.clone())
            .map(|(user, password)| Credentials {
                user,
                password: postino_common::auth::Secret::new(password),
            }),
        routes: delivery
            .routes
            .iter()
            .map(|(domain, d)| (domain.to_ascii_lowercase(), hop(d)))
            .collect(),
        nameservers: config.dns.nameservers.clone(),
        dns_timeout: config.dns.timeout.0,
        mta_sts: delivery.mta_sts.then(|| MtaStsSettings {
            port: delivery.mta_sts_port,
            ca_file: delivery.ca_file.clone(),
        }),
    }
}

/// SIGTERM and SIGINT (Ctrl-C), registered once at start-up.
struct StopSignals {
    term: Signal,
    interrupt: Signal,
}

impl StopSignals {
    fn listen() -> anyhow::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
            interrupt: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
        })
    }

    async fn wait(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}
