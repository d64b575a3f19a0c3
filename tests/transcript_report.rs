//! `tuf-repo transcript report`: the ceremony record of a real transcript
//! (written by the transcript crate's own writer, as the appliance writes
//! it, over a root rotation really signed by two keys) opened in a real
//! headless Chromium: the screenshot is not blank, the PDF prints on A4
//! with every digest row whole, and the page and the text form name the
//! signers, the digests, the head and the witness. A hostile witness name
//! stays text in both forms; a broken chain is refused and nothing is
//! written.

use std::path::{Path, PathBuf};
use std::process::Command;

use time::OffsetDateTime;
use time::macros::datetime;
use transcript::{Event, Transcript};
use tuf_ceremony_e2e::{Run, assert_ok, path_str, refused, tuf_repo};
use tuf_metadata::testing::{TestKey, file_bytes, root, signed};

const T0: OffsetDateTime = datetime!(2026-11-22 10:00:00 UTC);

/// A root rotation 1 → 2 signed at a ceremony: the files and the
/// transcript, in a temp dir.
struct Ceremony {
    dir: tempfile::TempDir,
    transcript: PathBuf,
    old_root: PathBuf,
    new_root: PathBuf,
    new_digest: String,
    head: String,
}

/// The ceremony, with `witness` signing it off.
fn ceremony(witness: &str) -> Ceremony {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (TestKey::from_seed(1), TestKey::from_seed(2));
    let old = signed(root(1, &[&a], 1, "2030-01-01T00:00:00Z"), &[&a]);
    let new = signed(root(2, &[&a, &b], 2, "2031-01-01T00:00:00Z"), &[&a, &b]);
    let old_root = dir.path().join("1.root.json");
    let new_root = dir.path().join("2.root.json");
    std::fs::write(&old_root, file_bytes(&old)).unwrap();
    std::fs::write(&new_root, file_bytes(&new)).unwrap();
    let path = dir.path().join("transcript.jsonl");
    let mut t = Transcript::open(&path, false).unwrap();
    let mut events = vec![
        Event::SessionStarted {
            tool: "ceremony 0.1.0".into(),
            host_clock: "2026-11-22T09:58:12Z".into(),
            boot_files: Vec::new(),
            network_hardware: Vec::new(),
        },
        Event::TrustedRoot {
            file: "repository/1.root.json".into(),
            version: 1,
            canonical_sha256: old.signed_digest(),
            pinned: false,
        },
        Event::ReviewAcknowledged {
            file: "staged/root.json".into(),
            role: "root".into(),
            version: 2,
            canonical_sha256: new.signed_digest(),
        },
        Event::TokenRefused {
            token: "SoftHSM v2, serial 42, token \"mallory\"".into(),
            reason: "this token holds no key of this ceremony; the PIN was not asked for".into(),
        },
    ];
    for (key, who, serial) in [(&a, "alice", "5e6f0a1b"), (&b, "bob", "7a8b9c0d")] {
        let sig = new
            .signatures()
            .iter()
            .find(|s| s.keyid == key.id())
            .unwrap()
            .sig
            .clone();
        events.push(Event::Signed {
            file: "staged/root.json".into(),
            role: "root".into(),
            version: 2,
            canonical_sha256: new.signed_digest(),
            keyids: vec![key.id()],
            signer: format!(
                "PKCS#11 token: SoftHSM project / SoftHSM v2, serial {serial}, token \"{who}\", slot 1, key \"{who}-root\""
            ),
            signature: sig,
        });
    }
    events.push(Event::Written {
        file: "staged/root.json".into(),
        sha256: metadata_sha256(&new_root),
    });
    events.push(Event::WitnessSignoff {
        name: witness.into(),
        statement: "I watched both keyholders sign and compared the digests read aloud".into(),
        signature: None,
    });
    events.push(Event::SessionFinished {
        summary: vec!["staged/root.json v2: signed by 2 of 2".into()],
    });
    for (minute, event) in events.into_iter().enumerate() {
        t.append(T0 + time::Duration::minutes(minute as i64), event)
            .unwrap();
    }
    Ceremony {
        head: t.head(),
        transcript: path,
        old_root,
        new_root,
        new_digest: new.signed_digest(),
        dir,
    }
}

fn metadata_sha256(path: &Path) -> String {
    tuf_metadata::sha256_hex(&std::fs::read(path).unwrap())
}

impl Ceremony {
    fn out(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn report(&self) -> Run {
        tuf_repo([
            "transcript",
            "report",
            path_str(&self.transcript),
            "--metadata",
            path_str(&self.new_root),
            "--metadata",
            path_str(&self.old_root),
            "--html",
            path_str(&self.out("record.html")),
            "--text",
            path_str(&self.out("record.txt")),
        ])
    }
}

/// A digest as the record shows it: two rows of eight groups of four.
fn rows(hex: &str) -> Vec<String> {
    transcript::report::grouped(hex)
}

/// Debian's headless Chromium with the flags this machine needs (no
/// sandbox as root, nothing fetched from the network) and a fresh profile.
fn chromium(profile: &Path, args: &[&str]) -> std::process::Output {
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium (Debian package `chromium`; `cargo xtask test` installs it)");
    assert!(output.status.success(), "chromium {args:?}: {output:?}");
    output
}

fn url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// Pixels of an RGB(A) PNG that are not (near) white.
fn inked_pixels(png_path: &Path) -> (usize, usize) {
    let decoder = png::Decoder::new(std::fs::File::open(png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    let pixels = &buf[..info.buffer_size()];
    let inked = pixels
        .chunks(channels)
        .filter(|p| p[..3].iter().any(|&c| c < 200))
        .count();
    (inked, pixels.len() / channels)
}

fn pdfinfo(pdf: &Path) -> String {
    let output = Command::new("pdfinfo")
        .arg(pdf)
        .output()
        .expect("pdfinfo (Debian package `poppler-utils`)");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn pdftotext(pdf: &Path) -> String {
    let output = Command::new("pdftotext")
        .args(["-layout", path_str(pdf), "-"])
        .output()
        .expect("pdftotext (Debian package `poppler-utils`)");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// Each word of the PDF with its left and right edge, in points
/// (`pdftotext -bbox`).
fn word_boxes(pdf: &Path) -> Vec<(f64, f64, String)> {
    let output = Command::new("pdftotext")
        .args(["-bbox", path_str(pdf), "-"])
        .output()
        .expect("pdftotext (Debian package `poppler-utils`)");
    assert!(output.status.success(), "{output:?}");
    let html = String::from_utf8(output.stdout).unwrap();
    let attr = |line: &str, name: &str| -> f64 {
        let start = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let end = start + line[start..].find('"').unwrap();
        line[start..end].parse().unwrap()
    };
    let words: Vec<(f64, f64, String)> = html
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("<word "))
        .map(|l| (attr(l, "xMin"), attr(l, "xMax"), l.to_owned()))
        .collect();
    assert!(words.len() > 100, "{html}");
    words
}

#[test]
fn the_record_renders_in_chromium_on_a4_and_names_signers_digests_head_and_witness() {
    let c = ceremony("Carol Witness");
    let run = c.report();
    assert_ok(&run, "transcript report");
    assert_eq!(run.stderr, "", "the session was signed off: {run:?}");
    assert!(
        run.stdout
            .contains(&format!("2 signatures, 1 witness, head {}", c.head)),
        "{run:?}"
    );

    let html = c.out("record.html");
    let profile = c.out("chromium");
    let png = c.out("record.png");
    chromium(
        &profile,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=900,1300",
            &url(&html),
        ],
    );
    let (inked, total) = inked_pixels(&png);
    // Text and table rules: far from blank, far from a solid block.
    assert!(
        inked > total / 200 && inked < total / 2,
        "{inked} of {total} pixels inked"
    );

    let pdf = c.out("record.pdf");
    chromium(
        &profile,
        &[
            "--no-pdf-header-footer",
            &format!("--print-to-pdf={}", pdf.display()),
            &url(&html),
        ],
    );
    let info = pdfinfo(&pdf);
    let size = info
        .lines()
        .find(|l| l.starts_with("Page size:"))
        .unwrap_or_default();
    assert!(size.contains("(A4)"), "{info}");
    // Nothing runs off the paper: every word printed lies inside the 14 mm
    // margins of A4 (595 x 842 pt)...
    let margin = 14.0 * 72.0 / 25.4 - 1.0;
    for (x_min, x_max, word) in word_boxes(&pdf) {
        assert!(
            x_min >= margin && x_max <= 595.28 - margin,
            "{word:?} at x {x_min}..{x_max} is outside the printable width"
        );
    }
    // ...and every digest row is printed whole, eight groups of four.
    let printed = pdftotext(&pdf);
    for row in rows(&c.new_digest).iter().chain(&rows(&c.head)) {
        assert!(
            printed.contains(row.as_str()),
            "{row} not printed:\n{printed}"
        );
    }

    let dom = String::from_utf8(chromium(&profile, &["--dump-dom", &url(&html)]).stdout).unwrap();
    let text = std::fs::read_to_string(c.out("record.txt")).unwrap();
    for form in [&dom, &text] {
        for needle in [
            "alice",
            "bob",
            "serial 5e6f0a1b",
            "serial 7a8b9c0d",
            "Carol Witness",
            "mallory",
            "root: 1 of 1",
            "root: 2 of 2",
            "Place",
        ] {
            assert!(form.contains(needle), "{needle} missing:\n{form}");
        }
        for row in rows(&c.new_digest).iter().chain(&rows(&c.head)) {
            assert!(form.contains(row.as_str()), "{row} missing:\n{form}");
        }
    }
    assert!(!dom.contains("<script"), "{dom}");
}

#[test]
fn a_hostile_witness_name_stays_text_in_the_page_and_the_text_form() {
    let c = ceremony("<script>document.title='owned'</script>\u{1b}[2J\u{202e}Eve");
    assert_ok(&c.report(), "transcript report");
    let html = c.out("record.html");
    let dom = String::from_utf8(chromium(&c.out("chromium"), &["--dump-dom", &url(&html)]).stdout)
        .unwrap();
    assert!(!dom.contains("<script"), "{dom}");
    assert!(dom.contains("<title>Ceremony record</title>"), "{dom}");
    assert!(
        dom.contains("&lt;script&gt;document.title='owned'&lt;/script&gt;\\u{1b}[2J\\u{202e}Eve"),
        "{dom}"
    );
    let text = std::fs::read_to_string(c.out("record.txt")).unwrap();
    assert!(
        text.contains("<script>document.title='owned'</script>\\u{1b}[2J\\u{202e}Eve"),
        "{text}"
    );
    for form in [&dom, &text] {
        assert!(!form.contains('\u{1b}') && !form.contains('\u{202e}'));
    }
}

#[test]
fn a_broken_chain_is_refused_with_one_error_line_and_nothing_is_written() {
    let c = ceremony("Carol Witness");
    let original = std::fs::read_to_string(&c.transcript).unwrap();
    std::fs::write(&c.transcript, original.replacen("alice", "mallo", 1)).unwrap();
    let run = c.report();
    refused(&run, "report of an edited transcript", &["line ", "prev"]);
    assert_eq!(run.stdout, "");
    assert!(!c.out("record.html").exists() && !c.out("record.txt").exists());
}

#[test]
fn metadata_the_ceremony_neither_signed_nor_trusted_is_refused() {
    let c = ceremony("Carol Witness");
    let k = TestKey::from_seed(9);
    let other = c.out("7.root.json");
    std::fs::write(
        &other,
        file_bytes(&signed(root(7, &[&k], 1, "2030-01-01T00:00:00Z"), &[&k])),
    )
    .unwrap();
    let run = tuf_repo([
        "transcript",
        "report",
        path_str(&c.transcript),
        "--metadata",
        path_str(&other),
        "--html",
        path_str(&c.out("record.html")),
    ]);
    refused(
        &run,
        "report with unrelated metadata",
        &["records no signature"],
    );
    assert!(!c.out("record.html").exists());
}
