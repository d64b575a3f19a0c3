//! `tuf-repo transcript verify <transcript> [--metadata <file>]...`: the
//! witness's check of a ceremony transcript (format: docs/transcript.md).
//! It checks the whole hash chain and prints the head to compare with the
//! one written down at the ceremony; with `--metadata`, it also checks that
//! every signature the transcript records over that file's content is in
//! the file, byte for byte.
//!
//! It also lists every witness sign-off by name, and warns (stderr, a
//! `warning:` line each, exit code unchanged) about a session no witness
//! signed off and about signatures in a `--metadata` file that the
//! transcript does not record: the ceremony does not vouch for those.
//!
//! `tuf-repo transcript report <transcript> [--metadata <file>]...
//! [--html <out.html>] [--text <out.txt>]` makes the same checks, then
//! writes the ceremony record (`transcript::report`) for publication and
//! the witness's paper file; a transcript or metadata file that `verify`
//! refuses is refused the same way and nothing is written.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args as ClapArgs, Subcommand};
use metadata_io::write_atomically;
use transcript::report::{self, MetadataInput, Report};
use transcript::{
    Entry, Event, MAX_TRANSCRIPT_BYTES, VerifyError, check_signatures, line_hash, sessions,
    signoffs, unrecorded_signatures, verify,
};
use tuf_metadata::Limits;

use metadata_io::read_capped;

/// `tuf-repo transcript …`.
#[derive(Subcommand)]
pub enum TranscriptCommand {
    /// Check the hash chain of a ceremony transcript and, with --metadata,
    /// that the signatures it records are in those files.
    Verify(VerifyArgs),
    /// Check a transcript as verify does, then write the ceremony record
    /// (HTML page and/or plain text; the text on stdout if neither is
    /// given) for publication and the witness's paper file.
    Report(ReportArgs),
}

/// Arguments of `transcript verify`.
#[derive(ClapArgs)]
pub struct VerifyArgs {
    /// The transcript from the ceremony stick (JSON lines).
    #[arg(value_name = "transcript.jsonl")]
    transcript: PathBuf,
    /// A signed metadata file whose recorded signatures must all be in it
    /// (repeatable).
    #[arg(long, value_name = "file")]
    metadata: Vec<PathBuf>,
}

/// Arguments of `transcript report`.
#[derive(ClapArgs)]
pub struct ReportArgs {
    /// The transcript from the ceremony stick (JSON lines).
    #[arg(value_name = "transcript.jsonl")]
    transcript: PathBuf,
    /// A metadata file whose roles and thresholds the record shows: the
    /// trusted root (before) or a file signed in the ceremony (after);
    /// its recorded signatures are checked as verify does (repeatable).
    #[arg(long, value_name = "file")]
    metadata: Vec<PathBuf>,
    /// Write the record as a self-contained HTML page (A4, no scripts).
    #[arg(long, value_name = "out.html")]
    html: Option<PathBuf>,
    /// Write the record as plain text.
    #[arg(long, value_name = "out.txt")]
    text: Option<PathBuf>,
}

/// Runs a `transcript` subcommand; errors name the file.
pub fn run(command: &TranscriptCommand) -> Result<()> {
    match command {
        TranscriptCommand::Verify(args) => run_verify(args),
        TranscriptCommand::Report(args) => run_report(args),
    }
}

/// A transcript that verified, with what the check found.
struct Checked {
    entries: Vec<Entry>,
    head: String,
    /// One `warning:` sentence each (without the prefix).
    warnings: Vec<String>,
    /// Each `--metadata` file: its name, its bytes, and what verify says
    /// about its signatures (`None` for a trusted root the ceremony only
    /// read).
    metadata: Vec<(String, Vec<u8>, Option<String>)>,
}

/// The checks `transcript verify` makes: the chain, then each metadata
/// file's recorded signatures. With `trusted_ok`, a file whose content is
/// a `trusted_root` of the transcript (and was not signed in it) is taken
/// as the root before the ceremony instead of being refused.
fn check(transcript: &Path, metadata: &[PathBuf], trusted_ok: bool) -> Result<Checked> {
    let name = transcript.display().to_string();
    let bytes = read_capped(transcript, MAX_TRANSCRIPT_BYTES).with_context(|| name.clone())?;
    let entries = verify(&bytes).with_context(|| name.clone())?;
    let Some(last) = bytes
        .strip_suffix(b"\n")
        .and_then(|body| body.rsplit(|&b| b == b'\n').next())
    else {
        bail!("{name}: the transcript is empty: it records nothing");
    };
    let mut warnings = Vec::new();
    for session in sessions(&entries).iter().filter(|s| !s.signed_off()) {
        let ending = if session.finished_line.is_some() {
            "before it finished"
        } else {
            "(it never finished)"
        };
        warnings.push(format!(
            "{name}: the session starting at line {} has no witness sign-off {ending}",
            session.started_line
        ));
    }
    let mut checked = Vec::new();
    for path in metadata {
        let file = path.display().to_string();
        let bytes = read_capped(path, Limits::ANY.max_bytes).with_context(|| file.clone())?;
        let check = match check_signatures(&entries, &file, &bytes) {
            Ok(check) => check,
            Err(VerifyError::NoSignatureRecorded { digest, .. })
                if trusted_ok && is_trusted_root(&entries, &digest) =>
            {
                checked.push((file, bytes, None));
                continue;
            }
            Err(err @ VerifyError::Metadata { .. }) => return Err(err).context(file),
            Err(err) => return Err(err).context(name),
        };
        let mut line = format!(
            "{file}: {} {} recorded in the transcript {} in the file",
            check.matched,
            plural(check.matched, "signature", "signatures"),
            plural(check.matched, "is", "are"),
        );
        if check.superseded > 0 {
            line.push_str(&format!(
                " ({} earlier {} by the same key superseded)",
                check.superseded,
                plural(check.superseded, "signature", "signatures")
            ));
        }
        let unrecorded = unrecorded_signatures(&entries, &file, &bytes).context(file.clone())?;
        for keyid in unrecorded {
            warnings.push(format!(
                "{file}: signature by {keyid} is not recorded in the transcript"
            ));
        }
        checked.push((file, bytes, Some(line)));
    }
    Ok(Checked {
        head: line_hash(last),
        entries,
        warnings,
        metadata: checked,
    })
}

fn is_trusted_root(entries: &[Entry], digest: &str) -> bool {
    entries.iter().any(|e| {
        matches!(&e.event, Event::TrustedRoot { canonical_sha256, .. } if canonical_sha256 == digest)
    })
}

fn run_verify(args: &VerifyArgs) -> Result<()> {
    let checked = check(&args.transcript, &args.metadata, false)?;
    let entries = &checked.entries;
    let sessions = sessions(entries).len();
    let drill = if entries.iter().any(|e| e.drill) {
        " (DRILL)"
    } else {
        ""
    };
    say!(
        "transcript: ok{drill} — {} {}, {sessions} {}, chain intact, head {}",
        entries.len(),
        plural(entries.len(), "entry", "entries"),
        plural(sessions, "session", "sessions"),
        checked.head
    );
    for signoff in signoffs(entries) {
        match &signoff.keyid {
            Some(keyid) => say!(
                "witness: {} (line {}, signed with key {keyid})",
                signoff.name,
                signoff.line
            ),
            None => say!("witness: {} (line {})", signoff.name, signoff.line),
        }
    }
    for line in checked
        .metadata
        .iter()
        .filter_map(|(_, _, line)| line.as_ref())
    {
        say!("{line}");
    }
    // Warnings go out last, and only when nothing was refused: a refusal
    // stays one `error:` line.
    for warning in &checked.warnings {
        say_err!("warning: {warning}");
    }
    Ok(())
}

fn run_report(args: &ReportArgs) -> Result<()> {
    let name = args.transcript.display().to_string();
    let checked = check(&args.transcript, &args.metadata, true)?;
    let inputs: Vec<MetadataInput<'_>> = checked
        .metadata
        .iter()
        .map(|(file, bytes, _)| MetadataInput { name: file, bytes })
        .collect();
    let record = Report::new(
        &checked.entries,
        &checked.head,
        &inputs,
        checked.warnings.clone(),
    )
    .with_context(|| name.clone())?;
    let mut outputs = Vec::new();
    if let Some(path) = &args.html {
        outputs.push((path, report::html(&record)));
    }
    if let Some(path) = &args.text {
        outputs.push((path, report::text(&record)));
    }
    if outputs.is_empty() {
        for line in report::text(&record).lines() {
            say!("{line}");
        }
    }
    for (path, content) in &outputs {
        let out = path.display().to_string();
        write_atomically(path, content.as_bytes())
            .with_context(|| format!("{out}: the ceremony record of {name}"))?;
        say!(
            "report: {out} — {} {}, {} {}, head {}",
            record.signatures.len(),
            plural(record.signatures.len(), "signature", "signatures"),
            record.witnesses.len(),
            plural(record.witnesses.len(), "witness", "witnesses"),
            checked.head
        );
    }
    for warning in &checked.warnings {
        say_err!("warning: {warning}");
    }
    Ok(())
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}
