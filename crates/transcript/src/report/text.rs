//! The ceremony record as plain text, for the witness's paper file and for
//! a terminal: at most 80 columns apart from long recorded text, every
//! recorded string through [`tuf_metadata::escape`].

use std::fmt::Write as _;

use super::{Report, date_of, grouped, plural, shown};

/// A line to write by hand on.
const BLANK: &str = "______________________________";

/// The report as plain text.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let o = &mut out;
    line(o, "CEREMONY RECORD");
    if report.drill {
        line(
            o,
            "*** DRILL: practice keys, network allowed; not a real ceremony ***",
        );
    }
    line(o, "");
    let first = report.first_time.as_deref().unwrap_or("");
    let last = report.last_time.as_deref().unwrap_or("");
    line(o, &format!("Date:  {}", shown(date_of(first))));
    line(
        o,
        &format!(
            "Time:  {} to {} (confirmed clock, UTC)",
            shown(first),
            shown(last)
        ),
    );
    line(o, &format!("Place: {BLANK}"));
    line(o, "Transcript head (SHA-256 of its last line):");
    digest(o, &report.head, "  ");
    line(
        o,
        &format!(
            "{} {}, {} {}",
            report.entry_count,
            plural(report.entry_count, "entry", "entries"),
            report.sessions.len(),
            plural(report.sessions.len(), "session", "sessions")
        ),
    );

    heading(o, "Sessions");
    for s in &report.sessions {
        let witnesses = if s.witnesses.is_empty() {
            "no witness sign-off".to_owned()
        } else {
            format!("witnessed by {}", shown(&s.witnesses.join(", ")))
        };
        line(
            o,
            &format!(
                "  line {}: {} {}, {}; {witnesses}",
                s.line,
                shown(&s.started),
                shown(&s.tool),
                s.outcome.word()
            ),
        );
    }

    heading(o, "Trusted root");
    if report.trusted_roots.is_empty() {
        line(o, "  none recorded");
    }
    for r in &report.trusted_roots {
        let pinned = if r.pinned {
            "pinned in the appliance image"
        } else {
            "taken from the stick"
        };
        line(
            o,
            &format!(
                "  {} v{} ({pinned}), line {}, canonical SHA-256:",
                shown(&r.file),
                r.version,
                r.line
            ),
        );
        digest(o, &r.canonical_sha256, "    ");
    }

    heading(o, "Files reviewed and signed");
    if report.files.is_empty() {
        line(o, "  none");
    }
    for f in &report.files {
        line(
            o,
            &format!(
                "  {} ({} v{}), {} {}; canonical SHA-256:",
                shown(&f.file),
                shown(&f.role),
                f.version,
                f.signatures,
                plural(f.signatures, "signature", "signatures")
            ),
        );
        digest(o, &f.canonical_sha256, "    ");
        if let Some(sha) = &f.written_sha256 {
            line(o, "    written; SHA-256 of the file (sha256sum):");
            digest(o, sha, "    ");
        }
    }

    heading(o, "Signatures");
    if report.signatures.is_empty() {
        line(o, "  none");
    }
    for (n, s) in report.signatures.iter().enumerate() {
        line(
            o,
            &format!(
                "  {}. {} ({} v{}) at {}, line {}",
                n + 1,
                shown(&s.file),
                shown(&s.role),
                s.version,
                shown(&s.time),
                s.line
            ),
        );
        line(
            o,
            &format!(
                "     keyholder: {}",
                shown(s.keyholder.as_deref().unwrap_or("(not recorded)"))
            ),
        );
        line(o, &format!("     token: {}", shown(&s.token)));
        line(
            o,
            &format!(
                "     serial {}",
                shown(s.serial.as_deref().unwrap_or("(not recorded)"))
            ),
        );
        for keyid in &s.keyids {
            line(o, "     key id:");
            digest(o, keyid, "       ");
        }
        line(o, &format!("     initials: {}", &BLANK[..12]));
    }

    heading(o, "Thresholds");
    if report.thresholds.is_empty() {
        line(o, "  no metadata given (--metadata)");
    }
    for t in &report.thresholds {
        line(
            o,
            &format!(
                "  {}: {} ({}), expires {}, {} {} in the file",
                t.stage.word(),
                shown(&t.file),
                shown(&t.what),
                shown(&t.expires),
                t.signatures,
                plural(t.signatures, "signature", "signatures")
            ),
        );
        for (role, threshold, keys) in &t.roles {
            line(
                o,
                &format!("    {}: {threshold} of {keys} keys", shown(role)),
            );
        }
    }

    heading(o, "Refusals and exceptions");
    if report.exceptions.is_empty() && report.warnings.is_empty() {
        line(o, "  none");
    }
    for e in &report.exceptions {
        line(
            o,
            &format!(
                "  line {} {} {}: {}",
                e.line,
                shown(&e.time),
                e.kind.to_uppercase(),
                shown(&e.text)
            ),
        );
    }
    for w in &report.warnings {
        line(o, &format!("  warning: {}", shown(w)));
    }

    heading(o, "Witnesses");
    if report.witnesses.is_empty() {
        line(o, "  no witness signed off");
    }
    for w in &report.witnesses {
        line(
            o,
            &format!("  {} (line {}, {})", shown(&w.name), w.line, shown(&w.time)),
        );
        line(o, &format!("    \"{}\"", shown(&w.statement)));
        if let Some(keyid) = &w.keyid {
            line(o, "    signed with key:");
            digest(o, keyid, "      ");
        }
        line(o, &format!("    signature: {BLANK}  initials: ______"));
    }

    heading(o, "Those present");
    for _ in 0..4 {
        line(o, &format!("  name: {BLANK}  role: ______________"));
        line(o, &format!("  signature: {BLANK}  initials: ______"));
        line(o, "");
    }
    out
}

fn line(out: &mut String, text: &str) {
    let _ = writeln!(out, "{text}");
}

fn heading(out: &mut String, title: &str) {
    line(out, "");
    line(out, title);
    line(out, &"-".repeat(title.len()));
}

fn digest(out: &mut String, hex: &str, indent: &str) {
    for row in grouped(&shown(hex)) {
        line(out, &format!("{indent}{row}"));
    }
}
