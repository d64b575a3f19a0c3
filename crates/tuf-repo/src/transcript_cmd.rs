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

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args as ClapArgs, Subcommand};
use transcript::{
    MAX_TRANSCRIPT_BYTES, VerifyError, check_signatures, line_hash, sessions, signoffs,
    unrecorded_signatures, verify,
};
use tuf_metadata::Limits;

use metadata_io::read_capped;

/// `tuf-repo transcript …`.
#[derive(Subcommand)]
pub enum TranscriptCommand {
    /// Check the hash chain of a ceremony transcript and, with --metadata,
    /// that the signatures it records are in those files.
    Verify(VerifyArgs),
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

/// Runs a `transcript` subcommand; errors name the file.
pub fn run(command: &TranscriptCommand) -> Result<()> {
    match command {
        TranscriptCommand::Verify(args) => run_verify(args),
    }
}

fn run_verify(args: &VerifyArgs) -> Result<()> {
    let name = args.transcript.display().to_string();
    let bytes =
        read_capped(&args.transcript, MAX_TRANSCRIPT_BYTES).with_context(|| name.clone())?;
    let entries = verify(&bytes).with_context(|| name.clone())?;
    let Some(last) = bytes
        .strip_suffix(b"\n")
        .and_then(|body| body.rsplit(|&b| b == b'\n').next())
    else {
        bail!("{name}: the transcript is empty: it records nothing");
    };
    let records = sessions(&entries);
    let sessions = records.len();
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
        line_hash(last)
    );
    for signoff in signoffs(&entries) {
        match &signoff.keyid {
            Some(keyid) => say!(
                "witness: {} (line {}, signed with key {keyid})",
                signoff.name,
                signoff.line
            ),
            None => say!("witness: {} (line {})", signoff.name, signoff.line),
        }
    }
    // Warnings go out last, and only when nothing was refused: a refusal
    // stays one `error:` line.
    let mut warnings = Vec::new();
    for session in records.iter().filter(|s| !s.signed_off()) {
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
    for path in &args.metadata {
        let file = path.display().to_string();
        let metadata = read_capped(path, Limits::ANY.max_bytes).with_context(|| file.clone())?;
        let check = match check_signatures(&entries, &file, &metadata) {
            Ok(check) => check,
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
        say!("{line}");
        let unrecorded = unrecorded_signatures(&entries, &file, &metadata).context(file.clone())?;
        for keyid in unrecorded {
            warnings.push(format!(
                "{file}: signature by {keyid} is not recorded in the transcript"
            ));
        }
    }
    for warning in warnings {
        say_err!("warning: {warning}");
    }
    Ok(())
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}
