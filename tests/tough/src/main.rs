//! tough (awslabs' Rust TUF client) as an independent peer of the interop
//! tests, beside python-tuf and tuf-js: it loads a repository that our
//! `tuf-repo publish` or `serve` produced and, when asked, downloads one
//! target. Only tough's public client API is used, so what this program
//! accepts or refuses is what a tough-based updater would.
//!
//! ```text
//! tough-peer load     DATASTORE TRUSTED_ROOT METADATA_URL TARGETS_URL
//! tough-peer download DATASTORE TRUSTED_ROOT METADATA_URL TARGETS_URL TARGET OUT_FILE
//! ```
//!
//! URLs are `http://` or `file://`. DATASTORE is tough's directory for the
//! timestamp, snapshot and targets it last trusted (created if missing);
//! reusing it across runs is how a refresh is checked for rollbacks.
//! Prints what it loaded and exits 0; prints `tough refused: <error chain>`
//! and exits 1 when tough refuses; exits 2 on a usage error.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tough::{IntoVec, Repository, RepositoryLoader, TargetName};
use url::Url;

/// What the command line asked for.
enum Mode {
    /// Load (and verify) the metadata only.
    Load,
    /// Load, then download `target` into `out`.
    Download { target: String, out: PathBuf },
}

/// The parsed command line.
struct Args {
    mode: Mode,
    datastore: PathBuf,
    trusted_root: PathBuf,
    metadata_url: String,
    targets_url: String,
}

const USAGE: &str = "usage: tough-peer load DATASTORE TRUSTED_ROOT METADATA_URL TARGETS_URL\n       \
                     tough-peer download DATASTORE TRUSTED_ROOT METADATA_URL TARGETS_URL TARGET OUT_FILE";

fn parse_args(words: &[String]) -> Option<Args> {
    let (mode, rest) = words.split_first()?;
    let mode = match (mode.as_str(), rest.len()) {
        ("load", 4) => Mode::Load,
        ("download", 6) => Mode::Download {
            target: rest[4].clone(),
            out: PathBuf::from(&rest[5]),
        },
        _ => return None,
    };
    Some(Args {
        mode,
        datastore: PathBuf::from(&rest[0]),
        trusted_root: PathBuf::from(&rest[1]),
        metadata_url: rest[2].clone(),
        targets_url: rest[3].clone(),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let words: Vec<String> = std::env::args().skip(1).collect();
    let Some(args) = parse_args(&words) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            println!("tough refused: {}", chain(err.as_ref()));
            ExitCode::from(1)
        }
    }
}

async fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let root = std::fs::read(&args.trusted_root)
        .map_err(|e| format!("reading {}: {e}", args.trusted_root.display()))?;
    std::fs::create_dir_all(&args.datastore)
        .map_err(|e| format!("creating {}: {e}", args.datastore.display()))?;
    let repo = RepositoryLoader::new(
        &root,
        base_url(&args.metadata_url)?,
        base_url(&args.targets_url)?,
    )
    .datastore(&args.datastore)
    .load()
    .await?;
    report(&repo);
    if let Mode::Download { target, out } = &args.mode {
        download(&repo, target, out).await?;
    }
    Ok(())
}

/// A base URL with the trailing slash tough joins file names onto.
fn base_url(text: &str) -> Result<Url, Box<dyn Error>> {
    let with_slash = if text.ends_with('/') {
        text.to_owned()
    } else {
        format!("{text}/")
    };
    Url::parse(&with_slash).map_err(|e| format!("URL {text:?}: {e}").into())
}

/// One line per trusted role version, then every target tough can reach
/// (top-level and delegated), names escaped: they come from the repository.
fn report(repo: &Repository) {
    println!(
        "tough: root v{}, timestamp v{}, snapshot v{}, targets v{}, consistent_snapshot {}",
        repo.root().signed.version,
        repo.timestamp().signed.version,
        repo.snapshot().signed.version,
        repo.targets().signed.version,
        repo.root().signed.consistent_snapshot,
    );
    for (name, target) in repo.all_targets() {
        println!(
            "tough: target {}: {} bytes",
            escape(name.raw()),
            target.length
        );
    }
}

async fn download(repo: &Repository, target: &str, out: &Path) -> Result<(), Box<dyn Error>> {
    let name = TargetName::new(target)?;
    let stream = repo
        .read_target(&name)
        .await?
        .ok_or_else(|| format!("target {:?} not found", target))?;
    let bytes = stream.into_vec().await?;
    std::fs::write(out, &bytes).map_err(|e| format!("writing {}: {e}", out.display()))?;
    println!(
        "tough: {}: {} bytes, root v{}",
        escape(target),
        bytes.len(),
        repo.root().signed.version
    );
    Ok(())
}

/// The error and every cause below it, on one line, escaped.
fn chain(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    escape(&text)
}

/// Control characters (terminal escapes, newlines) from a repository or an
/// error shown as Rust escapes, so one line stays one line on a terminal.
fn escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
