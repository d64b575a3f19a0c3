//! One transcript line: the chained header ([`Entry`]) and what happened
//! ([`Event`]). The serde derives here *are* the file format: a line is
//! exactly `serde_json::to_string(&entry)`, and the verifier refuses any line
//! that does not re-serialize to its own bytes.

use serde::{Deserialize, Serialize};

/// One line of the transcript. Field order in the file is the order here,
/// then the event's tag and fields (the event is flattened into the line).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the file, from 0; it continues across sessions, so a
    /// removed or reordered line shows as a gap.
    pub seq: u64,
    /// Lowercase hex SHA-256 of the previous line's bytes (without its
    /// newline); 64 `0`s for seq 0. This is the chain: editing any earlier
    /// line changes every later `prev`.
    pub prev: String,
    /// When it happened: the ceremony's confirmed clock, RFC 3339 UTC to the
    /// second (`2026-11-22T10:00:00Z`). The appliance has no trusted clock,
    /// so this is what the keyholder and witness confirmed.
    pub time: String,
    /// True for entries of a drill (practice keys, network allowed): a
    /// witness must never mistake a drill transcript for a real ceremony.
    pub drill: bool,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// What a transcript entry records. Serialized as `"event": "<snake_case>"`
/// followed by the variant's fields, in the order declared here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// The appliance started a session; later entries up to the next
    /// `session_started` belong to it.
    SessionStarted {
        /// Program and version that wrote the session, e.g. `ceremony 0.1.0`,
        /// so a witness knows which code made the signatures.
        tool: String,
        /// The host's clock as read at start (RFC 3339), before anyone
        /// confirmed it: a wrong battery clock shows here.
        host_clock: String,
        /// The boot files the image was started from, hashed at boot (kernel,
        /// initramfs, loaders, the boot manifest), so the record shows which
        /// image ran; empty off the image.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        boot_files: Vec<BootFileDigest>,
        /// Network hardware present at boot (PCI and USB network, wireless
        /// and Bluetooth devices, driver loaded or not); empty when none.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        network_hardware: Vec<String>,
    },
    /// The witness acknowledged the network hardware the appliance found
    /// (none of it has a driver on the image; a ceremony proceeds only
    /// after this entry).
    HardwareAcknowledged {
        /// The devices, as listed on the clock screen.
        devices: Vec<String>,
    },
    /// The keyholder and witness confirmed (or corrected) the clock.
    ClockConfirmed {
        /// The time they confirmed (RFC 3339); entries' `time` follows it.
        confirmed: String,
        /// What the host clock said at that moment, for comparison.
        host_clock: String,
    },
    /// A stick was found and its files read.
    MediaLoaded {
        /// Where the stick is mounted (or its label), as shown on screen.
        media: String,
        /// Which layout was recognised (e.g. `ceremony-bundle`).
        layout: String,
        /// Every file read from it, with its digest, so the witness can
        /// compare with what the releaser staged.
        files: Vec<FileDigest>,
    },
    /// The root that decides who may sign was established.
    TrustedRoot {
        /// The file it came from, relative to the stick.
        file: String,
        /// Its version.
        version: u64,
        /// Hex SHA-256 of its canonical `signed` bytes.
        canonical_sha256: String,
        /// True if it matched a root pinned in the appliance image rather
        /// than being taken from the stick on trust.
        pinned: bool,
    },
    /// The keyholder confirmed having reviewed a file before signing it.
    ReviewAcknowledged {
        /// The file reviewed.
        file: String,
        /// Its role (`root`, `targets`, a delegated role's name).
        role: String,
        /// Its version.
        version: u64,
        /// Hex SHA-256 of the canonical `signed` bytes that were reviewed:
        /// the same digest the `signed` entry must carry.
        canonical_sha256: String,
    },
    /// A signature was made and verified.
    Signed {
        /// The file signed.
        file: String,
        /// Its role.
        role: String,
        /// Its version.
        version: u64,
        /// Hex SHA-256 of the canonical `signed` bytes the signature covers;
        /// `tuf-repo transcript verify --metadata` matches files by it.
        canonical_sha256: String,
        /// The key ids the signature was stored under (one key may be listed
        /// under more than one id).
        keyids: Vec<String>,
        /// Who signed: the token and key as the signer backend names them.
        signer: String,
        /// The signature, hex, exactly as stored in the metadata's `sig`.
        signature: String,
    },
    /// A file was written to the stick.
    Written {
        /// The file, relative to the stick.
        file: String,
        /// Hex SHA-256 of the whole file as written (not the canonical
        /// bytes): what `sha256sum` on the stick shows.
        sha256: String,
    },
    /// A step failed; the transcript keeps failures too, so a gap in the
    /// story is visible.
    Failed {
        /// The step that failed (e.g. `sign`, `write`).
        step: String,
        /// The file concerned, if any.
        file: Option<String>,
        /// The error as shown on screen.
        error: String,
    },
    /// A token was refused before or after its PIN (it holds no key of
    /// this ceremony, its PIN is locked, it could not be read): a keyholder
    /// turned away leaves a trace, not a gap.
    TokenRefused {
        /// The token as the keyholder chose it: model, serial, label.
        token: String,
        /// Why, as shown on screen.
        reason: String,
    },
    /// The stick could not be read or written (pulled, failing, a file
    /// changed under the ceremony); recorded in memory when the stick
    /// itself cannot take it, so the screen still shows it.
    StickError {
        /// The file or directory concerned, as shown on screen.
        file: String,
        /// The one-line error.
        error: String,
    },
    /// A witness signed off on the transcript so far.
    WitnessSignoff {
        /// The witness's name.
        name: String,
        /// What the witness attests, in their words.
        statement: String,
        /// Optionally a signature over this entry's `prev` (the head before
        /// the sign-off), so the sign-off cannot be moved to another
        /// transcript.
        signature: Option<WitnessSignature>,
    },
    /// The session ended normally.
    SessionFinished {
        /// One line per result (e.g. `root.json v5: signed by 2 of 3`).
        summary: Vec<String>,
    },
}

/// A boot file of the image and its digest, as the image hashed it at boot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootFileDigest {
    /// Its path on the boot partition (or `boot manifest`).
    pub file: String,
    /// Hex SHA-256 of its bytes.
    pub sha256: String,
}

/// A file read from the stick and its digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDigest {
    /// Path relative to the stick.
    pub file: String,
    /// Hex SHA-256 of its bytes.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A witness's signature over the transcript head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessSignature {
    /// The witness's public key as a TUF key object (`keytype`, `scheme`,
    /// `keyval.public`), so the transcript alone suffices to check it.
    pub key: serde_json::Value,
    /// The key id of `key` (SHA-256 of its canonical form); must match.
    pub keyid: String,
    /// Hex signature over the ASCII bytes of the entry's `prev` (64 hex
    /// characters), in the key's scheme as TUF encodes signatures.
    pub sig: String,
}

impl WitnessSignature {
    /// A witness signature by `key` (signature `sig`, hex) in the shape the
    /// transcript stores, computing the key id so it cannot be mistyped.
    pub fn new(key: &tuf_metadata::Key, sig: String) -> Self {
        let text = tuf_metadata::json::to_pretty(&key.to_value());
        // `to_pretty` writes valid JSON text, so serde_json reads it back; a
        // failure would be a bug there, shown as `null` (which then fails
        // verification) rather than a panic.
        let key_json = serde_json::from_slice(&text).unwrap_or(serde_json::Value::Null);
        WitnessSignature {
            key: key_json,
            keyid: key.key_id(),
            sig,
        }
    }
}

impl Event {
    /// The event's tag as written in the file (`signed`, `written`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Event::SessionStarted { .. } => "session_started",
            Event::HardwareAcknowledged { .. } => "hardware_acknowledged",
            Event::ClockConfirmed { .. } => "clock_confirmed",
            Event::MediaLoaded { .. } => "media_loaded",
            Event::TrustedRoot { .. } => "trusted_root",
            Event::ReviewAcknowledged { .. } => "review_acknowledged",
            Event::Signed { .. } => "signed",
            Event::Written { .. } => "written",
            Event::Failed { .. } => "failed",
            Event::TokenRefused { .. } => "token_refused",
            Event::StickError { .. } => "stick_error",
            Event::WitnessSignoff { .. } => "witness_signoff",
            Event::SessionFinished { .. } => "session_finished",
        }
    }

    /// One short line for the witness sheet and the screen.
    pub fn describe(&self) -> String {
        match self {
            Event::SessionStarted {
                tool,
                host_clock,
                boot_files,
                network_hardware,
            } => {
                let mut line = format!("session started: {tool} (host clock {host_clock})");
                if !boot_files.is_empty() {
                    line.push_str(&format!("; {} boot files hashed", boot_files.len()));
                }
                if !network_hardware.is_empty() {
                    line.push_str(&format!(
                        "; NETWORK HARDWARE PRESENT: {}",
                        network_hardware.len()
                    ));
                }
                line
            }
            Event::HardwareAcknowledged { devices } => format!(
                "witness acknowledged network hardware: {}",
                devices.join("; ")
            ),
            Event::ClockConfirmed {
                confirmed,
                host_clock,
            } => format!("clock confirmed: {confirmed} (host clock {host_clock})"),
            Event::MediaLoaded {
                media,
                layout,
                files,
            } => format!("media loaded: {media} ({layout}, {} files)", files.len()),
            Event::TrustedRoot {
                file,
                version,
                canonical_sha256,
                pinned,
            } => format!(
                "trusted root: {file} v{version}{} canonical {}",
                if *pinned { " (pinned)" } else { "" },
                short(canonical_sha256)
            ),
            Event::ReviewAcknowledged {
                file,
                role,
                version,
                canonical_sha256,
            } => format!(
                "reviewed: {file} ({role} v{version}) canonical {}",
                short(canonical_sha256)
            ),
            Event::Signed {
                file,
                role,
                version,
                canonical_sha256,
                keyids,
                signer,
                ..
            } => format!(
                "signed: {file} ({role} v{version}) canonical {} key {} by {signer}",
                short(canonical_sha256),
                keyids
                    .iter()
                    .map(|k| short(k))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Event::Written { file, sha256 } => {
                format!("written: {file} sha256 {}", short(sha256))
            }
            Event::Failed { step, file, error } => match file {
                Some(file) => format!("FAILED {step} {file}: {error}"),
                None => format!("FAILED {step}: {error}"),
            },
            Event::TokenRefused { token, reason } => format!("REFUSED token {token}: {reason}"),
            Event::StickError { file, error } => format!("STICK ERROR {file}: {error}"),
            Event::WitnessSignoff {
                name, signature, ..
            } => match signature {
                Some(s) => format!("witness sign-off: {name} (signed, key {})", short(&s.keyid)),
                None => format!("witness sign-off: {name}"),
            },
            Event::SessionFinished { summary } => {
                format!("session finished ({} results)", summary.len())
            }
        }
    }
}

/// The first 16 characters of a hex digest: enough to read aloud and
/// compare, short enough for one screen line.
fn short(hex: &str) -> &str {
    hex.get(..16).unwrap_or(hex)
}
