//! `tuf-repo client`: a strict TUF client over `tuf-client`, with the
//! command line the TUF conformance suite drives (byte-exact):
//!
//! ```text
//! tuf-repo client --metadata-dir <DIR> init <TRUSTED_ROOT_FILE>
//! tuf-repo client --metadata-dir <DIR> --metadata-url <URL> refresh
//! tuf-repo client --metadata-dir <DIR> --metadata-url <URL> --target-name <PATH>...
//!     --target-base-url <URL> --target-dir <DIR> download
//! tuf-repo client --metadata-dir <DIR> --metadata-url <URL> list
//! ```
//!
//! `list` (go-tuf's `client list`) prints every target the trusted
//! metadata lists after a refresh, with its role and `custom` field.
//! `--target-base-url` is where target files are, `<repository url>/targets`
//! for a repository `tuf-repo publish` or `serve` made; a target missing
//! there is refused naming the URL tried and that rule.
//!
//! URLs are `http://`, `https://` or `file://` (a local directory, read
//! as a static web server would serve it). Exit codes: 0 success, 1
//! refused (one `error:` line), 2 usage (a missing option, an unknown URL
//! scheme).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::error::ErrorKind;
use clap::{Args as ClapArgs, Subcommand};
use time::OffsetDateTime;
use tuf_client::updater::ROOT_MAX_BYTES;
use tuf_client::{ClientError, DirFetcher, FetchError, Fetcher, HttpFetcher, Updater};

/// `tuf-repo client …`.
#[derive(ClapArgs)]
pub struct Args {
    /// Where the trusted metadata is kept (root.json, timestamp.json, …).
    #[arg(long, value_name = "DIR")]
    metadata_dir: PathBuf,
    /// Base URL of the repository's metadata (http://, https:// or file://).
    #[arg(long, value_name = "URL")]
    metadata_url: Option<String>,
    /// A target path to download (repeatable, downloaded in order).
    #[arg(long = "target-name", value_name = "PATH")]
    target_names: Vec<String>,
    /// Base URL of the target files.
    #[arg(long, value_name = "URL")]
    target_base_url: Option<String>,
    /// Where downloaded targets are written (file name: the percent-encoded target path).
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Store the initial trusted root (no network).
    Init {
        /// The root to trust, as published (e.g. 1.root.json).
        #[arg(value_name = "TRUSTED_ROOT_FILE")]
        trusted_root: PathBuf,
    },
    /// Update root, timestamp, snapshot and targets (TUF spec 5.3–5.6).
    Refresh,
    /// Refresh, then find and download each --target-name.
    Download,
    /// Refresh, then list every target the trusted metadata lists (all
    /// roles), with its length, sha256, role and custom metadata.
    List,
}

/// Runs `client`; a refusal is an error (exit 1), a usage mistake exits 2
/// here, through clap.
pub fn run(args: &Args) -> Result<()> {
    match &args.action {
        Action::Init { trusted_root } => init(&args.metadata_dir, trusted_root),
        Action::Refresh => {
            let remote = fetcher(required(&args.metadata_url, "--metadata-url"))?;
            let mut updater = Updater::open(&args.metadata_dir)?;
            updater.refresh(remote.as_ref(), OffsetDateTime::now_utc())?;
            let root = updater.trusted_root().signed().common.version;
            let snapshot = updater.trusted_snapshot().map_or(0, |s| s.common.version);
            say!("refreshed: root v{root}, snapshot v{snapshot}");
            Ok(())
        }
        Action::Download => download(args),
        Action::List => list(args),
    }
}

fn list(args: &Args) -> Result<()> {
    let remote = fetcher(required(&args.metadata_url, "--metadata-url"))?;
    let mut updater = Updater::open(&args.metadata_dir)?;
    let listing = updater.list_targets(remote.as_ref(), OffsetDateTime::now_utc())?;
    for target in &listing.targets {
        let sha256 = target.hashes.get("sha256").map_or("-", String::as_str);
        let custom = target.custom.as_ref().map_or_else(String::new, |c| {
            format!(
                "  custom {}",
                String::from_utf8_lossy(&tuf_metadata::canonical::encode(c))
            )
        });
        // Paths, roles and custom values come from the repository: escaped.
        say!(
            "{}  {} bytes  sha256 {sha256}  role {}{custom}",
            target.path,
            target.length,
            target.role
        );
    }
    let root = updater.trusted_root().signed().common.version;
    let snapshot = updater.trusted_snapshot().map_or(0, |s| s.common.version);
    say!(
        "{} target(s) in {} role(s); root v{root}, snapshot v{snapshot}",
        listing.targets.len(),
        listing.roles
    );
    if listing.truncated {
        say!(
            "only the first {} roles were read",
            tuf_client::listing::MAX_LISTED_ROLES
        );
    }
    Ok(())
}

fn init(metadata_dir: &Path, trusted_root: &Path) -> Result<()> {
    let name = trusted_root.display().to_string();
    let limit = usize::try_from(ROOT_MAX_BYTES).unwrap_or(usize::MAX - 1);
    let bytes = metadata_io::read_capped(trusted_root, limit).with_context(|| name.clone())?;
    Updater::init(metadata_dir, &bytes)?;
    let line = format!("initialised {} with {name}", metadata_dir.display());
    say!("{line}");
    Ok(())
}

fn download(args: &Args) -> Result<()> {
    let remote = fetcher(required(&args.metadata_url, "--metadata-url"))?;
    let targets = fetcher(required(&args.target_base_url, "--target-base-url"))?;
    let Some(target_dir) = &args.target_dir else {
        usage("--target-dir <DIR> is required by download");
    };
    if args.target_names.is_empty() {
        usage("at least one --target-name <PATH> is required by download");
    }
    let now = OffsetDateTime::now_utc();
    let mut updater = Updater::open(&args.metadata_dir)?;
    updater.refresh(remote.as_ref(), now)?;
    for name in &args.target_names {
        let info = updater.find_target(remote.as_ref(), name, now)?;
        let file = updater
            .download_target(&info, targets.as_ref(), target_dir)
            .map_err(|e| not_at_base_url(e, name))?;
        // The target name is the caller's, the file name the repository's.
        say!("{name}: {}", file.display());
    }
    Ok(())
}

/// A target the trusted metadata lists but the target base URL does not
/// have: most often `--target-base-url` names the repository, not its
/// `targets/` folder, so the error says so.
fn not_at_base_url(error: ClientError, name: &str) -> anyhow::Error {
    match error {
        ClientError::Fetch {
            cause: FetchError::NotFound(url),
            ..
        } => anyhow::anyhow!(
            "target {name}: not found at {url}; --target-base-url must point at the folder of target files, `<repository url>/targets`"
        ),
        other => other.into(),
    }
}

fn required<'a>(value: &'a Option<String>, flag: &str) -> &'a str {
    match value {
        Some(v) => v,
        None => usage(&format!("{flag} <URL> is required by this client command")),
    }
}

/// The fetcher for `url`: http(s) or a `file://` directory.
fn fetcher(url: &str) -> Result<Box<dyn Fetcher>> {
    if let Some(path) = url.strip_prefix("file://") {
        if !path.starts_with('/') {
            usage(&format!("{url}: a file:// URL needs an absolute path"));
        }
        let Some(path) = tuf_client::names::percent_decode(path) else {
            bail!("{url}: bad percent-encoding");
        };
        return Ok(Box::new(DirFetcher::new(Path::new(&path))));
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        return Ok(Box::new(HttpFetcher::new(url)?));
    }
    usage(&format!("{url}: not an http://, https:// or file:// URL"))
}

/// Exits 2 with clap's usage error format.
fn usage(message: &str) -> ! {
    clap::Error::raw(ErrorKind::MissingRequiredArgument, format!("{message}\n")).exit()
}
