//! The ceremony record as one self-contained HTML page: inline CSS only, no
//! scripts, nothing loaded from elsewhere, laid out for A4 paper. Every
//! recorded string is terminal-escaped ([`tuf_metadata::escape`], so a
//! bidi override or an escape sequence shows as `\u{..}`) and then
//! HTML-escaped.

use std::fmt::Write as _;

use super::{Report, date_of, grouped, plural, shown};

/// The page's style: A4, nothing wider than the printable width (digests
/// are broken into rows of eight groups, long text wraps anywhere).
const STYLE: &str = "@page { size: A4; margin: 14mm; }
* { box-sizing: border-box; }
html { background: #fff; color: #000; }
body { font-family: 'DejaVu Serif', Georgia, serif; font-size: 10pt; margin: 0 auto; max-width: 182mm; padding: 4mm 0; }
h1 { font-size: 17pt; margin: 0 0 2mm 0; }
h2 { font-size: 12pt; margin: 5mm 0 1.5mm 0; border-bottom: 1.5px solid #000; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
th, td { border: 1px solid #555; padding: 1mm 1.5mm; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #eee; }
.hex { font-family: 'DejaVu Sans Mono', monospace; font-size: 8pt; white-space: nowrap; }
.drill { border: 2px solid #000; padding: 2mm; font-weight: bold; text-align: center; }
.bad { font-weight: bold; }
.blank { display: inline-block; width: 60mm; border-bottom: 1px solid #000; height: 1.1em; }
.short { width: 20mm; }
.fields td { border: none; padding: 1.5mm 1mm; }
section { break-inside: avoid; }";

/// The report as an HTML page.
pub fn html(report: &Report) -> String {
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str("<title>Ceremony record</title>\n<style>\n");
    o.push_str(STYLE);
    o.push_str("\n</style>\n</head>\n<body>\n<h1>Ceremony record</h1>\n");
    if report.drill {
        o.push_str(
            "<p class=\"drill\">DRILL: practice keys, network allowed; not a real ceremony</p>\n",
        );
    }
    let first = report.first_time.as_deref().unwrap_or("");
    let last = report.last_time.as_deref().unwrap_or("");
    o.push_str("<table class=\"fields\">\n");
    field(&mut o, "Date", &text(date_of(first)));
    field(
        &mut o,
        "Time",
        &format!("{} to {} (confirmed clock, UTC)", text(first), text(last)),
    );
    field(&mut o, "Place", "<span class=\"blank\"></span>");
    field(
        &mut o,
        "Transcript head",
        &format!(
            "{}<br>SHA-256 of its last line; {} {}, {} {}",
            hex(&report.head),
            report.entry_count,
            plural(report.entry_count, "entry", "entries"),
            report.sessions.len(),
            plural(report.sessions.len(), "session", "sessions")
        ),
    );
    o.push_str("</table>\n");

    section(&mut o, "Sessions");
    table(
        &mut o,
        &[
            ("Line", 12),
            ("Started", 38),
            ("Program", 36),
            ("Ended", 30),
            ("Witnessed by", 58),
        ],
    );
    for s in &report.sessions {
        let witnesses = if s.witnesses.is_empty() {
            "<span class=\"bad\">no witness sign-off</span>".to_owned()
        } else {
            text(&s.witnesses.join(", "))
        };
        row(
            &mut o,
            &[
                s.line.to_string(),
                text(&s.started),
                text(&s.tool),
                s.outcome.word().to_owned(),
                witnesses,
            ],
        );
    }
    end(&mut o);

    section(&mut o, "Trusted root");
    if report.trusted_roots.is_empty() {
        o.push_str("<p>None recorded.</p>\n");
    } else {
        table(
            &mut o,
            &[
                ("Line", 12),
                ("File", 46),
                ("Source", 42),
                ("Canonical SHA-256", 74),
            ],
        );
        for r in &report.trusted_roots {
            row(
                &mut o,
                &[
                    r.line.to_string(),
                    format!("{} v{}", text(&r.file), r.version),
                    if r.pinned {
                        "pinned in the appliance image"
                    } else {
                        "taken from the stick"
                    }
                    .to_owned(),
                    hex(&r.canonical_sha256),
                ],
            );
        }
    }
    end(&mut o);

    section(&mut o, "Files reviewed and signed");
    if report.files.is_empty() {
        o.push_str("<p>None.</p>\n");
    } else {
        table(
            &mut o,
            &[
                ("File", 56),
                ("Signatures", 26),
                ("SHA-256: canonical, then of the file as written", 92),
            ],
        );
        for f in &report.files {
            row(
                &mut o,
                &[
                    format!("{} ({} v{})", text(&f.file), text(&f.role), f.version),
                    f.signatures.to_string(),
                    format!(
                        "{}<br>{}",
                        hex(&f.canonical_sha256),
                        f.written_sha256
                            .as_deref()
                            .map_or("not written".into(), hex)
                    ),
                ],
            );
        }
    }
    end(&mut o);

    section(&mut o, "Signatures");
    if report.signatures.is_empty() {
        o.push_str("<p>None.</p>\n");
    } else {
        table(
            &mut o,
            &[
                ("#", 8),
                ("File, time", 34),
                ("Keyholder, token, serial", 44),
                ("Key id", 70),
                ("Initials", 18),
            ],
        );
        for (n, s) in report.signatures.iter().enumerate() {
            let keyids: Vec<String> = s.keyids.iter().map(|k| hex(k)).collect();
            row(
                &mut o,
                &[
                    (n + 1).to_string(),
                    format!(
                        "{} ({} v{})<br>{}<br>line {}",
                        text(&s.file),
                        text(&s.role),
                        s.version,
                        text(&s.time),
                        s.line
                    ),
                    format!(
                        "<b>{}</b><br>{}<br>serial {}",
                        text(s.keyholder.as_deref().unwrap_or("(not recorded)")),
                        text(&s.token),
                        text(s.serial.as_deref().unwrap_or("(not recorded)"))
                    ),
                    keyids.join("<br>"),
                    String::new(),
                ],
            );
        }
    }
    end(&mut o);

    section(&mut o, "Thresholds");
    if report.thresholds.is_empty() {
        o.push_str("<p>No metadata given (<code>--metadata</code>).</p>\n");
    } else {
        table(
            &mut o,
            &[("When", 34), ("File", 80), ("Roles: threshold of keys", 60)],
        );
        for t in &report.thresholds {
            let roles: Vec<String> = t
                .roles
                .iter()
                .map(|(role, threshold, keys)| format!("{}: {threshold} of {keys}", text(role)))
                .collect();
            row(
                &mut o,
                &[
                    t.stage.word().to_owned(),
                    format!(
                        "{} ({})<br>expires {}<br>{} {} in the file<br>{}",
                        text(&t.file),
                        text(&t.what),
                        text(&t.expires),
                        t.signatures,
                        plural(t.signatures, "signature", "signatures"),
                        hex(&t.canonical_sha256)
                    ),
                    roles.join("<br>"),
                ],
            );
        }
    }
    end(&mut o);

    section(&mut o, "Refusals and exceptions");
    if report.exceptions.is_empty() && report.warnings.is_empty() {
        o.push_str("<p>None.</p>\n");
    } else {
        table(
            &mut o,
            &[("Line", 12), ("Time", 38), ("What", 34), ("Recorded", 90)],
        );
        for e in &report.exceptions {
            row(
                &mut o,
                &[
                    e.line.to_string(),
                    text(&e.time),
                    format!("<span class=\"bad\">{}</span>", e.kind.to_uppercase()),
                    text(&e.text),
                ],
            );
        }
        for w in &report.warnings {
            row(
                &mut o,
                &[String::new(), String::new(), "warning".to_owned(), text(w)],
            );
        }
    }
    end(&mut o);

    section(&mut o, "Witnesses");
    if report.witnesses.is_empty() {
        o.push_str("<p class=\"bad\">No witness signed off.</p>\n");
    } else {
        table(
            &mut o,
            &[("Witness", 50), ("Statement", 82), ("Signature", 42)],
        );
        for w in &report.witnesses {
            let key = w.keyid.as_deref().map_or(String::new(), |k| {
                format!("<br>signed with key<br>{}", hex(k))
            });
            row(
                &mut o,
                &[
                    format!(
                        "<b>{}</b><br>line {}, {}",
                        text(&w.name),
                        w.line,
                        text(&w.time)
                    ),
                    format!("{}{key}", text(&w.statement)),
                    "<br><br>initials:".to_owned(),
                ],
            );
        }
    }
    end(&mut o);

    section(&mut o, "Those present");
    table(
        &mut o,
        &[
            ("Name", 56),
            ("Role", 36),
            ("Signature", 56),
            ("Initials", 26),
        ],
    );
    for _ in 0..4 {
        row(
            &mut o,
            &[
                "<br><br>".to_owned(),
                String::new(),
                String::new(),
                String::new(),
            ],
        );
    }
    end(&mut o);
    o.push_str("</body>\n</html>\n");
    o
}

/// Recorded text, terminal-escaped and then HTML-escaped.
fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in shown(raw).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A digest in rows of eight groups of four, escaped.
fn hex(digest: &str) -> String {
    let rows: Vec<String> = grouped(digest).iter().map(|r| text(r)).collect();
    format!("<span class=\"hex\">{}</span>", rows.join("<br>"))
}

fn field(o: &mut String, name: &str, value: &str) {
    let _ = writeln!(
        o,
        "<tr><td style=\"width: 32mm\"><b>{name}</b></td><td>{value}</td></tr>"
    );
}

fn section(o: &mut String, title: &str) {
    let _ = writeln!(o, "<section>\n<h2>{title}</h2>");
}

/// Opens a table whose columns are `(header, width in mm)`; the widths add
/// up to the printable width of A4 (174 mm inside the margins), so a table
/// never runs off the page.
fn table(o: &mut String, headers: &[(&str, u32)]) {
    o.push_str("<table>\n<tr>");
    for (h, width) in headers {
        let _ = write!(o, "<th style=\"width: {width}mm\">{h}</th>");
    }
    o.push_str("</tr>\n");
}

fn row(o: &mut String, cells: &[String]) {
    o.push_str("<tr>");
    for c in cells {
        let _ = write!(o, "<td>{c}</td>");
    }
    o.push_str("</tr>\n");
}

/// Closes a section (and its table, if it opened one).
fn end(o: &mut String) {
    if o.rfind("<table>") > o.rfind("</table>") {
        o.push_str("</table>\n");
    }
    o.push_str("</section>\n");
}
