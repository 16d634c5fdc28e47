//! The `certus` binary: parses settings, opens the data directory, bootstraps on first start
//! and serves the HTTP front doors until SIGTERM/SIGINT.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow_lite::Context;
use certus_authority::{AcmeSettings, Authority, OcspSigner};
use certus_kms::{Hsm, Kek, Pkcs11Config};
use certus_store::{AuditCheck, Store};
use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's malloc: the sign path allocates and frees across threads (the
/// writer frees what request tasks built), where glibc spent ~15% of the workers' time; median
/// +12% sign-CSR throughput alternating binaries (docs/benchmarks.md). Built without transparent
/// huge pages (`no_thp`), which otherwise raised idle RSS by 17 MB.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod anyhow_lite;
mod listener;
mod maintenance;

#[derive(Parser)]
#[command(name = "certus", version, about = "Certus: a self-hosted certificate authority and PKI server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines as `text` or `json` (one object per line, with the request id).
    #[arg(long, global = true, env = "CERTUS_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(Box<ServeArgs>),
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write an online, consistent snapshot of the SQLite database (not the KEK) to a file.
    Backup {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The snapshot file to create (0600; must not exist).
        #[arg(long)]
        to: PathBuf,
    },
    /// Make a backup the database of an empty data directory, then verify its audit chain.
    Restore {
        /// The data directory to restore into (must hold no certus.db).
        #[arg(long, env = "CERTUS_DATA_DIR", default_value = "./certus-data")]
        data_dir: PathBuf,
        /// The snapshot written by `certus backup`.
        #[arg(long)]
        from: PathBuf,
    },
    /// Key-encryption key tools.
    Kek {
        #[command(subcommand)]
        command: KekCommand,
    },
}

#[derive(Subcommand)]
enum KekCommand {
    /// Re-seal every software key under a new KEK; resumable, audited. Stop the servers first.
    Rotate {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The KEK file. Default: <data-dir>/kek.
        #[arg(long, env = "CERTUS_KEK_FILE")]
        kek_file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Re-check the audit log's hash chain; exit 1 naming the first entry that does not fit.
    Verify(DatabaseArgs),
}

/// Where the database is: the same settings as `serve`.
#[derive(clap::Args)]
struct DatabaseArgs {
    /// Holds the SQLite database, the key-encryption key and the first admin token.
    #[arg(long, env = "CERTUS_DATA_DIR", default_value = "./certus-data")]
    data_dir: PathBuf,
    /// `postgres://…` to share one PostgreSQL among several nodes (or `sqlite://…`).
    /// Default: SQLite at <data-dir>/certus.db.
    #[arg(long, env = "CERTUS_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl DatabaseArgs {
    async fn open(&self) -> anyhow_lite::Result<Store> {
        match &self.database_url {
            Some(url) => Store::connect(url).await,
            None => Store::open(&self.data_dir.join("certus.db")).await,
        }
        .context("opening the database")
    }
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CERTUS_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    db: DatabaseArgs,
    /// Base URL written into CRL distribution points and AIA of issued certificates.
    /// Default: http(s)://<listen>.
    #[arg(long, env = "CERTUS_PUBLIC_URL")]
    public_url: Option<String>,
    /// PEM certificate chain for HTTPS (with --tls-key).
    #[arg(long, env = "CERTUS_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS (with --tls-cert).
    #[arg(long, env = "CERTUS_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Key-encryption key file (64 hex characters). Default: <data-dir>/kek, created if absent.
    #[arg(long, env = "CERTUS_KEK_FILE")]
    kek_file: Option<PathBuf>,
    /// Who signs OCSP responses: `delegated` (a responder certificate per CA) or `ca`.
    #[arg(long, env = "CERTUS_OCSP_SIGNER", default_value = "delegated", value_parser = ["delegated", "ca"])]
    ocsp_signer: String,
    /// Password logins allowed per client address and minute on /api/v1/auth/token.
    #[arg(long, env = "CERTUS_AUTH_RATE_LIMIT", default_value_t = 5)]
    auth_rate_limit: usize,
    /// Let an anonymous `POST /api/v1/users/` create the first user (any role) while none exists.
    #[arg(long, env = "CERTUS_FIRST_USER_BOOTSTRAP", default_value_t = true, action = clap::ArgAction::Set)]
    first_user_bootstrap: bool,
    /// Let anyone register a plain /api/v1 user without signing in.
    #[arg(long, env = "CERTUS_ALLOW_UNAUTHENTICATED_REGISTRATION", default_value_t = false, action = clap::ArgAction::Set)]
    allow_unauthenticated_registration: bool,
    /// PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so) for CA keys with `key_store: pkcs11`.
    #[arg(long, env = "CERTUS_PKCS11_MODULE", requires_all = ["pkcs11_token_label", "pkcs11_pin"])]
    pkcs11_module: Option<PathBuf>,
    /// Label of the token to use on that module.
    #[arg(long, env = "CERTUS_PKCS11_TOKEN_LABEL")]
    pkcs11_token_label: Option<String>,
    /// User PIN of that token.
    #[arg(long, env = "CERTUS_PKCS11_PIN", hide_env_values = true)]
    pkcs11_pin: Option<String>,
    /// The most SANs one certificate (or queued CSR) may carry.
    #[arg(long, env = "CERTUS_MAX_SANS", default_value_t = certus_authority::DEFAULT_MAX_SANS)]
    max_sans: usize,
    /// Issuing requests allowed per bearer token and per client address and minute, counted in
    /// the database so every node shares the limit (0: no limit).
    #[arg(long, env = "CERTUS_ISSUE_RATE_LIMIT", default_value_t = 0)]
    issue_rate_limit: u64,
    /// Seconds a client has to send a request head (and to finish a TLS handshake); also how
    /// long an idle keep-alive connection is kept.
    #[arg(long, env = "CERTUS_HEADER_READ_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_read_timeout: u64,
    /// Seconds one request may take, body included, before it is answered 408.
    #[arg(long, env = "CERTUS_REQUEST_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86400))]
    request_timeout: u64,
    /// Connections served at once; further clients wait in the listen backlog.
    #[arg(long, env = "CERTUS_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// DNS server (host:port) ACME validation asks: dns-01 TXT records, and the addresses of
    /// http-01 and tls-alpn-01 targets. Default: the system's (first nameserver in /etc/resolv.conf).
    #[arg(long, env = "CERTUS_ACME_DNS_RESOLVER")]
    acme_dns_resolver: Option<SocketAddr>,
    /// Port ACME http-01 validation connects to.
    #[arg(long, env = "CERTUS_ACME_HTTP01_PORT", default_value_t = 80)]
    acme_http01_port: u16,
    /// Port ACME tls-alpn-01 validation connects to.
    #[arg(long, env = "CERTUS_ACME_TLSALPN01_PORT", default_value_t = 443)]
    acme_tlsalpn01_port: u16,
    /// Let ACME validation connect to loopback and link-local addresses (test setups only).
    #[arg(long, env = "CERTUS_ACME_ALLOW_LOOPBACK")]
    acme_allow_loopback: bool,
    /// The most unfinished ACME orders (pending, ready or processing) one account may hold;
    /// past it a new order is `rateLimited` until some finish or expire (7 days).
    #[arg(long, env = "CERTUS_ACME_MAX_UNFINISHED_ORDERS", default_value_t = certus_authority::DEFAULT_MAX_UNFINISHED_ORDERS,
          value_parser = clap::value_parser!(u32).range(1..))]
    acme_max_unfinished_orders: u32,
    /// Days before notAfter at which `certificate.expiring` and `ca.expiring` are sent (once each).
    #[arg(long, env = "CERTUS_EXPIRY_THRESHOLDS", default_value = "30,7,1", value_delimiter = ',',
          value_parser = clap::value_parser!(i64).range(1..=3650))]
    expiry_thresholds: Vec<i64>,
    /// Seconds between expiry scans.
    #[arg(long, env = "CERTUS_EXPIRY_SCAN_INTERVAL", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=86400))]
    expiry_scan_interval: u64,
    /// Bearer token `/metrics` asks for (default: none, open to whoever reaches the port).
    #[arg(long, env = "CERTUS_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Use this superuser token when bootstrapping an empty database, instead of a random one.
    #[arg(long, env = "CERTUS_BOOTSTRAP_TOKEN", hide_env_values = true)]
    bootstrap_token: Option<String>,
}

/// How often the webhook outbox is polled when it was empty.
const WEBHOOK_POLL: Duration = Duration::from_millis(500);

/// How often stale CRLs are looked for (each is rebuilt once an hour) and expired sessions swept.
const SWEEP_EVERY: Duration = Duration::from_secs(300);

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if cli.log_format == "json" {
        logs.json().with_current_span(true).with_span_list(false).init();
    } else {
        logs.init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("certus: cannot start runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve(args) => runtime.block_on(serve(*args)),
        Command::Audit { command: AuditCommand::Verify(db) } => runtime.block_on(audit_verify(db)),
        Command::Backup { db, to } => runtime.block_on(maintenance::backup(&db, &to)),
        Command::Restore { data_dir, from } => runtime.block_on(maintenance::restore(&data_dir, &from)),
        Command::Kek { command: KekCommand::Rotate { db, kek_file } } => {
            runtime.block_on(maintenance::rotate_kek(&db, kek_file))
        }
    };
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("certus: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Prints the verdict; true when the chain is intact.
async fn audit_verify(db: DatabaseArgs) -> anyhow_lite::Result<bool> {
    let store = db.open().await?;
    let check = store.verify_audit_chain().await.context("reading the audit log")?;
    store.close().await;
    Ok(match check {
        AuditCheck::Intact { entries } => {
            println!("audit log intact: {entries} entries");
            true
        }
        AuditCheck::Broken { id, seq, reason } => {
            println!("audit log broken at entry {seq} (row id {id}): {reason}");
            false
        }
    })
}

async fn serve(args: ServeArgs) -> anyhow_lite::Result<bool> {
    create_private_dir(&args.db.data_dir).context("creating the data directory")?;
    let kek_path = args.kek_file.clone().unwrap_or_else(|| args.db.data_dir.join("kek"));
    // An unfinished `kek rotate` left `<kek>.next`: keys open under either until it is rerun.
    let kek = Kek::load_with_next(&kek_path).context("loading the key-encryption key")?;
    let store = args.db.open().await?;
    let _only_server = store.hold_as_only_server().context("locking the database")?;
    let scheme = if args.tls_cert.is_some() { "https" } else { "http" };
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("{scheme}://{}", args.listen));
    let ocsp_signer = if args.ocsp_signer == "ca" { OcspSigner::Ca } else { OcspSigner::Delegated };
    let mut authority = Authority::new(store.clone(), kek, &public_url)
        .with_ocsp_signer(ocsp_signer)
        .with_max_sans(args.max_sans)
        .with_registration(args.first_user_bootstrap, args.allow_unauthenticated_registration)
        .with_acme(AcmeSettings {
            dns_resolver: args.acme_dns_resolver,
            http01_port: args.acme_http01_port,
            tlsalpn01_port: args.acme_tlsalpn01_port,
            allow_loopback: args.acme_allow_loopback,
            max_unfinished_orders: args.acme_max_unfinished_orders,
        });
    if let (Some(module), Some(token_label), Some(pin)) =
        (&args.pkcs11_module, &args.pkcs11_token_label, &args.pkcs11_pin)
    {
        let config = Pkcs11Config { module: module.clone(), token_label: token_label.clone(), pin: pin.clone() };
        authority = authority.with_hsm(Hsm::open(&config).context("opening the PKCS#11 token")?);
    }

    if let Some(token) = authority.bootstrap(args.bootstrap_token.as_deref()).await.context("bootstrapping")? {
        let path = args.db.data_dir.join("admin-token");
        let _ = std::fs::remove_file(&path);
        certus_kms::write_private_file(&path, format!("{token}\n").as_bytes()).context("writing admin-token")?;
        println!("Bootstrapped the default organisation and tenant.");
        println!("Superuser API token (shown once, also in {}): {token}", path.display());
    }

    let sweeper = {
        let authority = authority.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = authority.refresh_stale_crls().await {
                    tracing::warn!(error = %e, "CRL refresh failed");
                }
                if let Err(e) = authority.sweep_expired_sessions().await {
                    tracing::warn!(error = %e, "session sweep failed");
                }
                if let Err(e) = authority.sweep_rate_windows().await {
                    tracing::warn!(error = %e, "rate window sweep failed");
                }
                if let Err(e) = authority.sweep_acme_nonces().await {
                    tracing::warn!(error = %e, "ACME nonce sweep failed");
                }
                if let Err(e) = authority.sweep_acme_orders().await {
                    tracing::warn!(error = %e, "ACME order sweep failed");
                }
                if let Err(e) = authority.sweep_webhook_deliveries().await {
                    tracing::warn!(error = %e, "webhook delivery sweep failed");
                }
                tokio::time::sleep(SWEEP_EVERY).await;
            }
        })
    };

    let webhooks = {
        let authority = authority.clone();
        let thresholds = args.expiry_thresholds.clone();
        let scan_every = Duration::from_secs(args.expiry_scan_interval);
        tokio::spawn(async move {
            let mut last_scan: Option<std::time::Instant> = None;
            loop {
                if last_scan.is_none_or(|t| t.elapsed() >= scan_every) {
                    last_scan = Some(std::time::Instant::now());
                    if let Err(e) = authority.scan_expiry(&thresholds).await {
                        tracing::warn!(error = %e, "expiry scan failed");
                    }
                }
                match authority.send_due_webhooks().await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "webhook sending failed"),
                }
                tokio::time::sleep(WEBHOOK_POLL).await;
            }
        })
    };
    let state = certus_api::AppState::new(authority, args.auth_rate_limit)
        .with_request_timeout(Duration::from_secs(args.request_timeout))
        .with_issue_rate_limit(args.issue_rate_limit)
        .with_metrics_token(args.metrics_token.clone())
        .with_secure_cookies(args.tls_cert.is_some());
    let app = certus_api::router(state);
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            Some(listener::tls_acceptor(cert, key).context("loading the TLS certificate and key")?)
        }
        _ => None,
    };
    let limits = listener::Limits {
        header_read_timeout: Duration::from_secs(args.header_read_timeout),
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
    };
    let tcp = tokio::net::TcpListener::bind(args.listen).await.context("binding the listen address")?;
    let local = tcp.local_addr().context("reading the bound address")?;
    println!("Certus listening on {scheme}://{local} (public URL {public_url})");
    listener::serve(tcp, app, tls, limits, shutdown_signal()).await;
    // In-flight requests have finished; every acknowledged write is committed. Close cleanly.
    sweeper.abort();
    webhooks.abort();
    store.close().await;
    tracing::info!("shut down cleanly");
    Ok(true)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if path.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path)
}
