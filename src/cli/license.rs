//! `mayday license keygen|issue|install` and `mayday license-server`: the vendor's side of
//! licensing (keys, signed licences, a server that hands them out with a revocation list)
//! and the installation's (installing a file). The vendor's secret key stays in a file
//! (mode 0600), never on the command line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::Context as _;
use clap::{Args, Subcommand};

use crate::license::{self, License, Revocations};

#[derive(Subcommand, Debug)]
pub enum LicenseCommand {
    /// Make a vendor key pair: the secret key goes to --out (0600), the public key (for
    /// LICENSE_PUBLIC_KEY) is printed.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Issue a signed licence.
    Issue(IssueArgs),
    /// Install a licence file into this installation's database.
    Install { file: PathBuf },
}

#[derive(Args, Debug)]
pub struct IssueArgs {
    /// The vendor's secret key file (from `keygen`).
    #[arg(long)]
    pub key: PathBuf,
    #[arg(long)]
    pub org: String,
    #[arg(long)]
    pub seats: u32,
    #[arg(long, default_value_t = 0)]
    pub webrtc_seats: u32,
    /// Comma-separated: calls, recording, transfers, reports, sms, webrtc, ivr, spy.
    #[arg(long, default_value = "calls,transfers,reports")]
    pub features: String,
    #[arg(long, default_value_t = 365)]
    pub days: i64,
    /// Bind it to one installation (its id is in `GET /api/licenses/current`).
    #[arg(long)]
    pub installation: Option<String>,
    /// The licence id (default: a new uuid).
    #[arg(long)]
    pub id: Option<String>,
    /// Write here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ServerArgs {
    /// A directory of licence files (`*.lic`) and `revoked.txt` (one licence id per line).
    #[arg(long)]
    pub dir: PathBuf,
    /// The vendor's secret key file (signs the revocation list).
    #[arg(long)]
    pub key: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
}

fn read_key(path: &Path) -> anyhow::Result<ed25519_dalek::SigningKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    license::signing_key(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("creating {} (it must not exist)", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

pub fn keygen(out: &Path) -> anyhow::Result<()> {
    let (secret, public) = license::keygen();
    write_private(out, &secret)?;
    println!("secret key written to {} (keep it with the vendor)", out.display());
    println!("LICENSE_PUBLIC_KEY={public}");
    Ok(())
}

/// The licence of `args`, signed.
pub fn issue_text(args: &IssueArgs) -> anyhow::Result<String> {
    let key = read_key(&args.key)?;
    let features: Vec<String> =
        args.features.split(',').map(|f| f.trim().to_string()).filter(|f| !f.is_empty()).collect();
    if let Some(bad) = features.iter().find(|f| !license::FEATURES.contains(&f.as_str())) {
        anyhow::bail!("unknown feature {bad:?} (known: {})", license::FEATURES.join(", "));
    }
    if args.webrtc_seats > args.seats {
        anyhow::bail!("--webrtc-seats cannot exceed --seats");
    }
    let now = chrono::Utc::now();
    let l = License {
        id: args.id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        organisation: args.org.clone(),
        seats: args.seats,
        webrtc_seats: args.webrtc_seats,
        features,
        issued_at: now,
        expires_at: now + chrono::Duration::days(args.days),
        installation_id: args.installation.clone(),
    };
    Ok(license::sign(&key, &l))
}

pub fn issue(args: &IssueArgs) -> anyhow::Result<()> {
    let text = issue_text(args)?;
    match &args.out {
        Some(path) => std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?,
        None => println!("{text}"),
    }
    Ok(())
}

/// What the licence server reads from its directory, at each request.
struct Served {
    dir: PathBuf,
    key: ed25519_dalek::SigningKey,
    public: ed25519_dalek::VerifyingKey,
}

impl Served {
    /// The newest valid licence for an installation (bound to it, or to none).
    fn licence_for(&self, installation: &str) -> Option<String> {
        let mut best: Option<(chrono::DateTime<chrono::Utc>, String)> = None;
        for entry in std::fs::read_dir(&self.dir).ok()?.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("lic") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let Ok(l) = license::open::<License>(&self.public, &text) else { continue };
            if l.installation_id.as_deref().is_some_and(|i| i != installation) {
                continue;
            }
            if best.as_ref().is_none_or(|(at, _)| l.issued_at > *at) {
                best = Some((l.issued_at, text));
            }
        }
        best.map(|(_, t)| t)
    }

    fn revocations(&self) -> String {
        let revoked = std::fs::read_to_string(self.dir.join("revoked.txt"))
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        license::sign(&self.key, &Revocations { revoked, issued_at: chrono::Utc::now() })
    }
}

async fn licence(served: web::Data<Served>, installation: web::Path<String>) -> HttpResponse {
    match served.licence_for(&installation) {
        Some(text) => HttpResponse::Ok().content_type("application/json").body(text),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn revocations(served: web::Data<Served>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(served.revocations())
}

/// The licence server's routes (also used in-process by tests).
pub fn server_app(
    dir: PathBuf,
    key: ed25519_dalek::SigningKey,
) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    let public = key.verifying_key();
    let served = web::Data::new(Served { dir, key, public });
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(served.clone())
            .service(web::resource("/licenses/{installation}").route(web::get().to(licence)))
            .service(web::resource("/revocations").route(web::get().to(revocations)));
    }
}

pub async fn serve(args: ServerArgs) -> anyhow::Result<()> {
    let key = read_key(&args.key)?;
    println!(
        "licence server on http://{} serving {} (public key {})",
        args.listen,
        args.dir.display(),
        license::public_of(&key)
    );
    let routes = server_app(args.dir.clone(), key);
    HttpServer::new(move || App::new().configure(routes.clone())).bind(args.listen)?.run().await?;
    Ok(())
}
