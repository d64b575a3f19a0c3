//! What the ceremony record says, gathered from a verified transcript (and
//! the metadata files given with it) before any rendering: the renderers
//! only lay these rows out, so the HTML page and the text form cannot tell
//! different stories.

use tuf_metadata::{DelegatedRoles, Limits, Metadata, ParseError, Signed};

use crate::entry::{Entry, Event};
use crate::sessions::sessions;

/// A metadata file given with `--metadata`: its name as typed and its bytes.
#[derive(Clone, Copy, Debug)]
pub struct MetadataInput<'a> {
    /// The file as the witness named it.
    pub name: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
}

/// Why a report could not be made from the metadata given.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A `--metadata` file is not TUF metadata.
    #[error("{file}: not TUF metadata: {error}")]
    Metadata {
        /// The file.
        file: String,
        /// What the parser refused.
        error: ParseError,
    },
    /// A `--metadata` file whose content the transcript neither signed nor
    /// trusted: the thresholds it carries say nothing about this ceremony.
    #[error(
        "{file}: the transcript records neither a signature of this content nor it as the trusted root: wrong file or wrong transcript"
    )]
    Unrelated {
        /// The file.
        file: String,
    },
}

/// The whole ceremony record, in the order the page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// True if any entry is a drill entry: the page then says DRILL at the
    /// top, so a practice run is never filed as a real ceremony.
    pub drill: bool,
    /// The transcript's head: the hash the witness wrote down.
    pub head: String,
    /// How many entries the transcript holds.
    pub entry_count: usize,
    /// The confirmed time of the first entry.
    pub first_time: Option<String>,
    /// The confirmed time of the last entry.
    pub last_time: Option<String>,
    /// Each session, in order.
    pub sessions: Vec<SessionRow>,
    /// Each root the appliance trusted to decide who may sign.
    pub trusted_roots: Vec<TrustedRootRow>,
    /// Each file reviewed or signed, with its canonical digest.
    pub files: Vec<FileRow>,
    /// Each signature made, with who made it.
    pub signatures: Vec<SignatureRow>,
    /// What did not go to plan: refused tokens, stick errors, failed steps,
    /// abandoned sessions.
    pub exceptions: Vec<ExceptionRow>,
    /// Each witness sign-off.
    pub witnesses: Vec<WitnessRow>,
    /// Thresholds from the metadata given: before (the trusted root) and
    /// after (the files signed).
    pub thresholds: Vec<ThresholdTable>,
    /// The warnings `transcript verify` gave (sessions without a sign-off,
    /// signatures the transcript does not record), one sentence each.
    pub warnings: Vec<String>,
}

/// One session of the transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    /// The line of its `session_started`.
    pub line: usize,
    /// When it started (confirmed clock).
    pub started: String,
    /// The program that wrote it.
    pub tool: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Names of the witnesses who signed it off.
    pub witnesses: Vec<String>,
}

/// How a session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `session_finished` without `ABANDONED`.
    Finished,
    /// `session_finished` whose summary starts with `ABANDONED`: quit
    /// before the witness sign-off.
    Abandoned,
    /// No `session_finished`: cut off (pulled stick, crash, power).
    Unfinished,
}

impl Outcome {
    /// The word the record prints.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Finished => "finished",
            Outcome::Abandoned => "ABANDONED",
            Outcome::Unfinished => "never finished",
        }
    }
}

/// A `trusted_root` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedRootRow {
    /// Its line.
    pub line: usize,
    /// The file it came from.
    pub file: String,
    /// Its version.
    pub version: u64,
    /// Its canonical SHA-256.
    pub canonical_sha256: String,
    /// Whether it matched a root pinned in the appliance image.
    pub pinned: bool,
}

/// A file the ceremony reviewed or signed, one row per content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRow {
    /// The file on the stick.
    pub file: String,
    /// Its role.
    pub role: String,
    /// Its version.
    pub version: u64,
    /// The canonical SHA-256 of its `signed` part: what the review showed
    /// and the signatures cover.
    pub canonical_sha256: String,
    /// SHA-256 of the whole file as last written, if it was written.
    pub written_sha256: Option<String>,
    /// How many signatures the transcript records over this content.
    pub signatures: usize,
}

/// A `signed` entry, with the signer's identity taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureRow {
    /// Its line.
    pub line: usize,
    /// When (confirmed clock).
    pub time: String,
    /// The file signed.
    pub file: String,
    /// Its role.
    pub role: String,
    /// Its version.
    pub version: u64,
    /// The canonical SHA-256 the signature covers.
    pub canonical_sha256: String,
    /// The key ids it is stored under.
    pub keyids: Vec<String>,
    /// The keyholder as the token names them (its label), if recorded.
    pub keyholder: Option<String>,
    /// The token kind (`PKCS#11`, `YubiKey PIV`, …) and model.
    pub token: String,
    /// The token serial, if recorded.
    pub serial: Option<String>,
    /// The signer exactly as recorded.
    pub signer: String,
}

/// Something that did not go to plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExceptionRow {
    /// Its line.
    pub line: usize,
    /// When (confirmed clock).
    pub time: String,
    /// What kind: `token refused`, `stick error`, `failed`, `abandoned`.
    pub kind: &'static str,
    /// What was recorded, in one line.
    pub text: String,
}

/// A `witness_signoff` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessRow {
    /// Its line.
    pub line: usize,
    /// When (confirmed clock).
    pub time: String,
    /// The witness's name as typed.
    pub name: String,
    /// What they attest.
    pub statement: String,
    /// The key id of their signature, when signed.
    pub keyid: Option<String>,
}

/// Before or after the ceremony.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The root the appliance trusted (a `trusted_root` entry's content).
    Before,
    /// A file signed in this ceremony.
    After,
}

impl Stage {
    /// The word the record prints.
    pub fn word(self) -> &'static str {
        match self {
            Stage::Before => "before (trusted root)",
            Stage::After => "after (signed in this ceremony)",
        }
    }
}

/// The roles and thresholds a metadata file carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThresholdTable {
    /// The file as given.
    pub file: String,
    /// Before or after.
    pub stage: Stage,
    /// Its `_type` and version, e.g. `root v2`.
    pub what: String,
    /// Its canonical SHA-256.
    pub canonical_sha256: String,
    /// Its expiry as written.
    pub expires: String,
    /// How many signatures the file carries.
    pub signatures: usize,
    /// Each role it delegates to: (role, threshold, number of keys).
    pub roles: Vec<(String, u64, usize)>,
}

impl Report {
    /// The record of `entries` (a transcript [`crate::verify`] accepted)
    /// whose head is `head`, with thresholds from `metadata` and the
    /// warnings the verification gave.
    pub fn new(
        entries: &[Entry],
        head: &str,
        metadata: &[MetadataInput<'_>],
        warnings: Vec<String>,
    ) -> Result<Report, ReportError> {
        let mut report = Report {
            drill: entries.iter().any(|e| e.drill),
            head: head.to_owned(),
            entry_count: entries.len(),
            first_time: entries.first().map(|e| e.time.clone()),
            last_time: entries.last().map(|e| e.time.clone()),
            sessions: session_rows(entries),
            trusted_roots: Vec::new(),
            files: Vec::new(),
            signatures: Vec::new(),
            exceptions: Vec::new(),
            witnesses: Vec::new(),
            thresholds: Vec::new(),
            warnings,
        };
        for (index, entry) in entries.iter().enumerate() {
            report.add(index + 1, entry);
        }
        for input in metadata {
            report.thresholds.push(threshold_table(entries, input)?);
        }
        report.thresholds.sort_by_key(|t| t.stage == Stage::After);
        Ok(report)
    }

    fn add(&mut self, line: usize, entry: &Entry) {
        let time = entry.time.clone();
        match &entry.event {
            Event::TrustedRoot {
                file,
                version,
                canonical_sha256,
                pinned,
            } => self.trusted_roots.push(TrustedRootRow {
                line,
                file: file.clone(),
                version: *version,
                canonical_sha256: canonical_sha256.clone(),
                pinned: *pinned,
            }),
            Event::ReviewAcknowledged {
                file,
                role,
                version,
                canonical_sha256,
            } => {
                self.file_row(file, role, *version, canonical_sha256);
            }
            Event::Signed {
                file,
                role,
                version,
                canonical_sha256,
                keyids,
                signer,
                ..
            } => {
                self.file_row(file, role, *version, canonical_sha256)
                    .signatures += 1;
                let identity = Identity::parse(signer);
                self.signatures.push(SignatureRow {
                    line,
                    time,
                    file: file.clone(),
                    role: role.clone(),
                    version: *version,
                    canonical_sha256: canonical_sha256.clone(),
                    keyids: keyids.clone(),
                    keyholder: identity.keyholder,
                    token: identity.token,
                    serial: identity.serial,
                    signer: signer.clone(),
                });
            }
            Event::Written { file, sha256 } => {
                if let Some(row) = self.files.iter_mut().rev().find(|r| &r.file == file) {
                    row.written_sha256 = Some(sha256.clone());
                }
            }
            Event::Failed { step, file, error } => self.exceptions.push(ExceptionRow {
                line,
                time,
                kind: "failed",
                text: match file {
                    Some(file) => format!("{step} {file}: {error}"),
                    None => format!("{step}: {error}"),
                },
            }),
            Event::TokenRefused { token, reason } => self.exceptions.push(ExceptionRow {
                line,
                time,
                kind: "token refused",
                text: format!("{token}: {reason}"),
            }),
            Event::StickError { file, error } => self.exceptions.push(ExceptionRow {
                line,
                time,
                kind: "stick error",
                text: format!("{file}: {error}"),
            }),
            Event::WitnessSignoff {
                name,
                statement,
                signature,
            } => self.witnesses.push(WitnessRow {
                line,
                time,
                name: name.clone(),
                statement: statement.clone(),
                keyid: signature.as_ref().map(|s| s.keyid.clone()),
            }),
            Event::SessionFinished { summary } if abandoned(summary) => {
                self.exceptions.push(ExceptionRow {
                    line,
                    time,
                    kind: "abandoned",
                    text: summary.join("; "),
                })
            }
            Event::SessionStarted {
                network_hardware, ..
            } if !network_hardware.is_empty() => self.exceptions.push(ExceptionRow {
                line,
                time,
                kind: "network hardware present",
                text: network_hardware.join("; "),
            }),
            Event::HardwareAcknowledged { devices } => self.exceptions.push(ExceptionRow {
                line,
                time,
                kind: "hardware acknowledged by the witness",
                text: devices.join("; "),
            }),
            Event::SessionStarted { .. }
            | Event::ClockConfirmed { .. }
            | Event::MediaLoaded { .. }
            | Event::SessionFinished { .. } => {}
        }
    }

    /// The row for this content, added on first sight.
    fn file_row(&mut self, file: &str, role: &str, version: u64, digest: &str) -> &mut FileRow {
        let found = self
            .files
            .iter()
            .position(|r| r.file == file && r.canonical_sha256 == digest);
        let index = found.unwrap_or_else(|| {
            self.files.push(FileRow {
                file: file.to_owned(),
                role: role.to_owned(),
                version,
                canonical_sha256: digest.to_owned(),
                written_sha256: None,
                signatures: 0,
            });
            self.files.len() - 1
        });
        &mut self.files[index]
    }
}

fn abandoned(summary: &[String]) -> bool {
    summary.first().is_some_and(|s| s.starts_with("ABANDONED"))
}

fn session_rows(entries: &[Entry]) -> Vec<SessionRow> {
    sessions(entries)
        .into_iter()
        .map(|record| {
            let start = &entries[record.started_line - 1];
            let tool = match &start.event {
                Event::SessionStarted { tool, .. } => tool.clone(),
                _ => String::new(),
            };
            let outcome = match record.finished_line.map(|l| &entries[l - 1].event) {
                Some(Event::SessionFinished { summary }) if abandoned(summary) => {
                    Outcome::Abandoned
                }
                Some(_) => Outcome::Finished,
                None => Outcome::Unfinished,
            };
            SessionRow {
                line: record.started_line,
                started: start.time.clone(),
                tool,
                outcome,
                witnesses: record.signoffs.into_iter().map(|s| s.name).collect(),
            }
        })
        .collect()
}

fn threshold_table(
    entries: &[Entry],
    input: &MetadataInput<'_>,
) -> Result<ThresholdTable, ReportError> {
    let metadata =
        Metadata::parse(input.bytes, &Limits::ANY).map_err(|error| ReportError::Metadata {
            file: input.name.to_owned(),
            error,
        })?;
    let digest = metadata.signed_digest();
    let signed_here = entries.iter().any(
        |e| matches!(&e.event, Event::Signed { canonical_sha256, .. } if *canonical_sha256 == digest),
    );
    let trusted = entries.iter().any(
        |e| matches!(&e.event, Event::TrustedRoot { canonical_sha256, .. } if *canonical_sha256 == digest),
    );
    let stage = match (signed_here, trusted) {
        (true, _) => Stage::After,
        (false, true) => Stage::Before,
        (false, false) => {
            return Err(ReportError::Unrelated {
                file: input.name.to_owned(),
            });
        }
    };
    let signed = metadata.signed();
    let common = signed.common();
    let roles = match signed {
        Signed::Root(root) => root
            .roles
            .iter()
            .map(|(name, keys)| (name.clone(), keys.threshold, keys.keyids.len()))
            .collect(),
        Signed::Targets(targets) => match targets.delegations.as_ref().map(|d| &d.roles) {
            Some(DelegatedRoles::Listed(roles)) => roles
                .iter()
                .map(|r| (r.name.clone(), r.keys.threshold, r.keys.keyids.len()))
                .collect(),
            Some(DelegatedRoles::Succinct(bins)) => vec![(
                format!("{}-* ({} bins)", bins.name_prefix, bins.bin_count()),
                bins.keys.threshold,
                bins.keys.keyids.len(),
            )],
            None => Vec::new(),
        },
        Signed::Snapshot(_) | Signed::Timestamp(_) => Vec::new(),
    };
    Ok(ThresholdTable {
        file: input.name.to_owned(),
        stage,
        what: format!("{} v{}", signed.type_name(), common.version),
        canonical_sha256: digest,
        expires: common.expires.as_str().to_owned(),
        signatures: metadata.signatures().len(),
        roles,
    })
}

/// A recorded signer taken apart. The appliance records the signer as
/// `<kind>: <model>[, serial S][, token "L"][, slot N][, key "K"]` (the
/// signers crate's `SignerIdentity`); a signer in another shape is kept
/// whole as the token, with no keyholder or serial.
#[derive(Debug, PartialEq, Eq)]
struct Identity {
    keyholder: Option<String>,
    token: String,
    serial: Option<String>,
}

impl Identity {
    fn parse(signer: &str) -> Identity {
        let mut parts = signer.split(", ");
        let token = parts.next().unwrap_or_default().to_owned();
        let mut serial = None;
        let mut label = None;
        let mut key = None;
        for part in parts {
            if let Some(s) = part.strip_prefix("serial ") {
                serial = Some(s.to_owned());
            } else if let Some(l) = part.strip_prefix("token ") {
                label = Some(unquote(l));
            } else if let Some(k) = part.strip_prefix("key ") {
                key = Some(unquote(k));
            }
        }
        Identity {
            keyholder: label.filter(|l| !l.is_empty()).or(key),
            token,
            serial,
        }
    }
}

/// `"alice"` → `alice`; anything else as it is.
fn unquote(text: &str) -> String {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pkcs11_signer_names_its_keyholder_token_and_serial() {
        let id = Identity::parse(
            "PKCS#11: SoftHSM project / SoftHSM v2, serial 5e6f, token \"alice\", slot 3, key \"alice-root\"",
        );
        assert_eq!(id.keyholder.as_deref(), Some("alice"));
        assert_eq!(id.token, "PKCS#11: SoftHSM project / SoftHSM v2");
        assert_eq!(id.serial.as_deref(), Some("5e6f"));
    }

    #[test]
    fn a_yubikey_signer_has_no_label_so_its_slot_key_names_it() {
        let id = Identity::parse("YubiKey (PIV): YubiKey 5.7.1, serial 12345678, key \"9c\"");
        assert_eq!(id.keyholder.as_deref(), Some("9c"));
        assert_eq!(id.serial.as_deref(), Some("12345678"));
    }

    #[test]
    fn a_signer_in_another_shape_is_kept_whole() {
        let id = Identity::parse("software key alice.key");
        assert_eq!(id.keyholder, None);
        assert_eq!(id.serial, None);
        assert_eq!(id.token, "software key alice.key");
    }
}
