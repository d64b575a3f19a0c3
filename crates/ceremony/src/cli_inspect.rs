//! `ceremony inspect --media <dir>`: the review and threshold board as text,
//! the same lines the review screen shows, for scripts, releasers checking
//! a stick before handing it over, and witnesses who want it on paper.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use ceremony::media::{load, recognise};
use ceremony::review::{bins_summary, board_lines, grouped_digest, review};
use clap::Args as ClapArgs;
use metadata_io::read_capped;
use tuf_metadata::Limits;
use tuf_metadata::escape;

use cli_common::AtArgs;

/// Arguments of `ceremony inspect`.
#[derive(ClapArgs)]
pub struct Args {
    /// The stick (its mount point) or any directory holding a bundle,
    /// a go-tuf or a tuf-on-ci layout.
    #[arg(long = "stick", visible_alias = "media", value_name = "dir")]
    media: PathBuf,
    /// A root pinned on the image, which the stick's history must contain.
    #[arg(long, value_name = "root.json")]
    pinned_root: Option<PathBuf>,
    #[command(flatten)]
    at: AtArgs,
}

/// Appends one line to `out`, escaped: paths, notes and names come from
/// the stick (DESIGN.md: text from a stick is escaped before a terminal).
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        $out.push_str(&escape(&format!($($arg)*)));
        $out.push('\n');
    }};
}

/// Prints the review; fails (exit 1) where the appliance would stop.
pub fn run(args: &Args) -> Result<()> {
    let now = args.at.now();
    let pinned = args
        .pinned_root
        .as_ref()
        .map(|path| {
            read_capped(path, Limits::ROOT.max_bytes).with_context(|| path.display().to_string())
        })
        .transpose()?;
    let media = recognise(&args.media)?;
    let loaded = load(&media, pinned.as_deref(), now)?;
    // Collected, then written at once: a reader that stops early (`| head`)
    // is not an error, and a stick that fails half-way prints nothing.
    let mut out = String::new();
    say!(
        out,
        "media: {} ({})",
        args.media.display(),
        loaded.media.layout
    );
    for note in &loaded.media.notes {
        say!(out, "note: {note}");
    }
    match &loaded.trusted {
        Some(trusted) => {
            say!(
                out,
                "trusted root: v{} from {}{}{}; chain verified {}",
                trusted.version,
                trusted.display,
                if trusted.pinned { " (pinned)" } else { "" },
                if trusted.expired { " (expired)" } else { "" },
                trusted
                    .chain
                    .iter()
                    .map(|v| format!("v{v}"))
                    .collect::<Vec<_>>()
                    .join(" → ")
            );
            say!(
                out,
                "trusted root canonical sha256 {}",
                trusted.canonical_sha256
            );
            for row in grouped_digest(&trusted.canonical_sha256) {
                say!(out, "  {row}");
            }
        }
        None => {
            say!(out, "trusted root: none on the stick (a first ceremony)");
        }
    }
    // Thousands of hash bins: what changes across all of them comes first.
    if let Some(summary) = bins_summary(&loaded, now) {
        out.push('\n');
        for line in &summary.lines {
            say!(out, "{line}");
        }
    }
    for (index, file) in loaded.files.iter().enumerate() {
        out.push('\n');
        let (_, plan) = loaded
            .read_and_plan(index, now)
            .with_context(|| file.staged.display.clone())?;
        let compare = if plan.role() == "root" {
            loaded.trusted.as_ref().map(|t| t.metadata())
        } else {
            None
        };
        let published = file.published.as_ref().map(|p| p.metadata.signed());
        for line in review(
            &file.staged.display,
            plan.metadata(),
            compare,
            published,
            now,
        ) {
            say!(out, "{line}");
        }
        say!(out, "canonical sha256 {}", plan.metadata().signed_digest());
        for line in board_lines(&plan.board()) {
            say!(out, "{line}");
        }
        for line in ceremony::key_sets::file_key_set_lines(&loaded, index, plan.key_sets()) {
            say!(out, "{line}");
        }
    }
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
