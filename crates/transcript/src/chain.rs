//! Writing the transcript: [`Transcript`] appends one verified line at a
//! time, with one `write` on an `O_APPEND` file followed by `fsync`.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use metadata_io::ReadError;
use time::OffsetDateTime;

use crate::entry::{Entry, Event};
use crate::verify::{LineProblem, VerifyError, check_fields, check_line, format_time, verify};
use crate::{GENESIS_PREV, MAX_TRANSCRIPT_BYTES, line_hash};

/// Why the transcript could not be opened or an entry not appended. I/O
/// errors are shown in the message (not chained), so an error chain prints
/// them once.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    /// The existing transcript could not be read.
    #[error("{path}: cannot read the transcript: {error}")]
    Read {
        /// The transcript file.
        path: PathBuf,
        /// The I/O error.
        error: io::Error,
    },
    /// The existing transcript is over [`MAX_TRANSCRIPT_BYTES`].
    #[error("{path}: the transcript is over the {limit}-byte limit")]
    TooLarge {
        /// The transcript file.
        path: PathBuf,
        /// The cap.
        limit: usize,
    },
    /// The existing transcript does not verify; appending to it would
    /// extend a chain nobody can check.
    #[error("{path}: {error}; refusing to continue a broken transcript")]
    Invalid {
        /// The transcript file.
        path: PathBuf,
        /// What is wrong, with its line number.
        error: VerifyError,
    },
    /// The file changed on disk since it was read (another writer, or it
    /// was replaced): appending would break the chain.
    #[error(
        "{path}: the transcript changed on disk since it was read ({expected} bytes expected, {found} found); the entry was not recorded"
    )]
    Changed {
        /// The transcript file.
        path: PathBuf,
        /// Size this transcript wrote or read.
        expected: u64,
        /// Size found.
        found: u64,
    },
    /// Opening for append failed before anything was written (stick
    /// read-only or removed, or the file appeared meanwhile).
    #[error(
        "{path}: cannot open the transcript for appending: {error}; the {event} entry was not recorded"
    )]
    Open {
        /// The transcript file.
        path: PathBuf,
        /// The event not recorded.
        event: &'static str,
        /// The I/O error.
        error: io::Error,
    },
    /// Writing or syncing the line failed: the entry is not in memory, and
    /// the file may now end in a torn line.
    #[error(
        "{path}: writing the {event} entry (seq {seq}) failed: {error}; the entry was not recorded and may be torn on the stick, so nothing more will be appended to this file"
    )]
    Write {
        /// The transcript file.
        path: PathBuf,
        /// The event not recorded.
        event: &'static str,
        /// Its seq.
        seq: u64,
        /// The I/O error (or what was short).
        error: io::Error,
    },
    /// An earlier write failed; the file may end in a torn line.
    #[error(
        "{path}: an earlier write to the transcript failed ({reason}); refusing to append after a possibly torn line"
    )]
    Broken {
        /// The transcript file.
        path: PathBuf,
        /// The earlier failure.
        reason: String,
    },
    /// The entry itself would not verify (bad time, malformed digest,
    /// failing witness signature), so it is not written.
    #[error("the {event} entry would not verify: {problem}")]
    Entry {
        /// The event refused.
        event: &'static str,
        /// Why.
        problem: LineProblem,
    },
    /// Appending would take the file over [`MAX_TRANSCRIPT_BYTES`], past
    /// what the verifier reads.
    #[error("the transcript would exceed its {limit}-byte limit; the entry was not recorded")]
    Full {
        /// The cap.
        limit: usize,
    },
}

/// An append-only, hash-chained transcript, in memory and (usually) in a
/// file on the stick. Entries are in memory only once they are on disk.
#[derive(Debug)]
pub struct Transcript {
    path: Option<PathBuf>,
    /// Open for appending once the first entry of this run is written.
    file: Option<File>,
    /// The file existed when opened: append to it, never create it.
    existed: bool,
    /// Bytes in the file (or that would be), to notice other writers.
    size: u64,
    entries: Vec<Entry>,
    head: String,
    drill: bool,
    /// Set when a write failed; the file may end in a torn line.
    broken: Option<String>,
}

impl Transcript {
    /// Opens the transcript at `path` for appending, entries marked `drill`.
    ///
    /// An existing file is read (at most [`MAX_TRANSCRIPT_BYTES`]) and
    /// verified in full first: a torn last line, a broken chain or a
    /// malformed line is an error naming the file and line, never silently
    /// continued. A missing file is created by the first append.
    pub fn open(path: &Path, drill: bool) -> Result<Self, TranscriptError> {
        let mut transcript = Transcript::in_memory(drill);
        transcript.path = Some(path.to_owned());
        // Never through a link (it could lead off the stick), never a FIFO
        // (it would block the appliance): refused at once, before the PIN.
        let file = match metadata_io::open_regular_nofollow(path) {
            Ok(file) => file,
            Err(ReadError::Open(error)) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(transcript);
            }
            Err(error) => {
                return Err(TranscriptError::Read {
                    path: path.to_owned(),
                    error: io::Error::other(error.to_string()),
                });
            }
        };
        let mut bytes = Vec::new();
        file.take(MAX_TRANSCRIPT_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| TranscriptError::Read {
                path: path.to_owned(),
                error,
            })?;
        if bytes.len() > MAX_TRANSCRIPT_BYTES {
            return Err(TranscriptError::TooLarge {
                path: path.to_owned(),
                limit: MAX_TRANSCRIPT_BYTES,
            });
        }
        let entries = verify(&bytes).map_err(|error| TranscriptError::Invalid {
            path: path.to_owned(),
            error,
        })?;
        if let Some(body) = bytes.strip_suffix(b"\n") {
            let last = body.rsplit(|&b| b == b'\n').next().unwrap_or(body);
            transcript.head = line_hash(last);
        }
        transcript.entries = entries;
        transcript.existed = true;
        transcript.size = bytes.len() as u64;
        Ok(transcript)
    }

    /// A transcript kept only in memory: for tests, and for a ceremony whose
    /// stick cannot be written (the screen still shows it).
    pub fn in_memory(drill: bool) -> Self {
        Transcript {
            path: None,
            file: None,
            existed: false,
            size: 0,
            entries: Vec::new(),
            head: GENESIS_PREV.to_owned(),
            drill,
            broken: None,
        }
    }

    /// Appends `event` at `time` (recorded in UTC to the second).
    ///
    /// The line is checked as the verifier would check it, then written
    /// with one `write` call and `fsync`ed; only then is the entry kept in
    /// memory. If the write fails, the error says the entry was not
    /// recorded, and later appends to this file are refused (it may end in
    /// a torn line).
    pub fn append(
        &mut self,
        time: OffsetDateTime,
        event: Event,
    ) -> Result<&Entry, TranscriptError> {
        let name = event.name();
        if let (Some(reason), Some(path)) = (&self.broken, &self.path) {
            return Err(TranscriptError::Broken {
                path: path.clone(),
                reason: reason.clone(),
            });
        }
        let refused = |problem| TranscriptError::Entry {
            event: name,
            problem,
        };
        let time = format_time(time).ok_or_else(|| refused(LineProblem::Time(time.to_string())))?;
        let entry = Entry {
            seq: self.entries.len() as u64,
            prev: self.head.clone(),
            time,
            drill: self.drill,
            event,
        };
        check_fields(&entry).map_err(refused)?;
        let line = serde_json::to_string(&entry)
            .map_err(|e| refused(LineProblem::Shape(e.to_string())))?;
        // What the verifier will do with it; refuse now rather than write a
        // line that makes the whole file unverifiable.
        check_line(line.as_bytes(), entry.seq, &self.head).map_err(refused)?;
        let mut bytes = line.into_bytes();
        bytes.push(b'\n');
        let new_size = self.size + bytes.len() as u64;
        if new_size > MAX_TRANSCRIPT_BYTES as u64 {
            return Err(TranscriptError::Full {
                limit: MAX_TRANSCRIPT_BYTES,
            });
        }
        if let Some(path) = self.path.clone() {
            self.write_line(&path, name, entry.seq, &bytes)?;
        }
        self.size = new_size;
        self.head = line_hash(&bytes[..bytes.len() - 1]);
        self.entries.push(entry);
        Ok(&self.entries[self.entries.len() - 1])
    }

    fn write_line(
        &mut self,
        path: &Path,
        event: &'static str,
        seq: u64,
        bytes: &[u8],
    ) -> Result<(), TranscriptError> {
        let created = self.file.is_none() && !self.existed;
        let file = match &mut self.file {
            Some(file) => file,
            None => {
                // Never adopt a file that appeared since `open`; never follow
                // a link, block on a FIFO or write to anything not a regular file.
                let file =
                    metadata_io::open_append_nofollow(path, !self.existed).map_err(|error| {
                        TranscriptError::Open {
                            path: path.to_owned(),
                            event,
                            error: match error {
                                ReadError::Open(error) => error,
                                other => io::Error::other(other.to_string()),
                            },
                        }
                    })?;
                self.file.insert(file)
            }
        };
        let found = file
            .metadata()
            .map_err(|error| TranscriptError::Open {
                path: path.to_owned(),
                event,
                error,
            })?
            .len();
        if found != self.size {
            return Err(TranscriptError::Changed {
                path: path.to_owned(),
                expected: self.size,
                found,
            });
        }
        let result = write_once(file, bytes)
            .and_then(|()| file.sync_all())
            .and_then(|()| if created { sync_parent(path) } else { Ok(()) });
        if let Err(error) = result {
            self.broken = Some(format!("seq {seq}: {error}"));
            return Err(TranscriptError::Write {
                path: path.to_owned(),
                event,
                seq,
                error,
            });
        }
        Ok(())
    }

    /// All entries, oldest first (those read at open, then those appended).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Lowercase hex SHA-256 of the last line: the value a witness writes
    /// down. For an empty transcript, the genesis `prev` (64 `0`s). It is
    /// also the `prev` of the next entry, so a witness signature is made
    /// over the ASCII bytes of this value.
    pub fn head(&self) -> String {
        self.head.clone()
    }

    /// The file, or `None` for an in-memory transcript.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if nothing has been recorded (in the file or in this run).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether entries appended by this transcript are marked as a drill.
    pub fn drill(&self) -> bool {
        self.drill
    }

    /// The witness sheet: one line per entry (seq, time, what happened,
    /// `DRILL` where it was one), and last the head hash to write down.
    pub fn summary_text(&self) -> String {
        let mut out = String::new();
        for entry in &self.entries {
            let drill = if entry.drill { "DRILL " } else { "" };
            out.push_str(&format!(
                "{:>4}  {}  {drill}{}\n",
                entry.seq,
                entry.time,
                entry.event.describe()
            ));
        }
        out.push_str(&format!("head {}\n", self.head));
        out
    }
}

/// One `write` call for the whole line, so concurrent `O_APPEND` writers
/// and a pulled stick cannot interleave or split it more than the kernel
/// does; a short write is an error, never continued.
fn write_once(file: &mut File, bytes: &[u8]) -> io::Result<()> {
    loop {
        match file.write(bytes) {
            Ok(n) if n == bytes.len() => return Ok(()),
            Ok(n) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!("short write: {n} of {} bytes", bytes.len()),
                ));
            }
            // Interrupted before any byte was written: safe to repeat.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Makes a new file's directory entry durable.
fn sync_parent(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

#[cfg(test)]
mod stick_tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn started() -> Event {
        Event::SessionStarted {
            tool: "ceremony 0.1.0".into(),
            host_clock: "2026-11-22T09:58:12Z".into(),
            boot_files: Vec::new(),
            network_hardware: Vec::new(),
        }
    }

    fn at() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap()
    }

    #[test]
    fn a_transcript_linked_off_the_stick_is_refused_and_its_target_untouched() {
        let stick = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let target = elsewhere.path().join("shadow");
        // An existing file and a missing one: neither is written through.
        for existing in [true, false] {
            let path = stick.path().join(format!("t-{existing}.jsonl"));
            if existing {
                std::fs::write(&target, b"root's file\n").unwrap();
            } else {
                let _ = std::fs::remove_file(&target);
            }
            std::os::unix::fs::symlink(&target, &path).unwrap();
            match Transcript::open(&path, false) {
                Err(err) => assert!(err.to_string().contains("symbolic link"), "{err}"),
                Ok(mut transcript) => {
                    // A dangling link looks missing to open; the append
                    // refuses to create through it.
                    assert!(!existing);
                    let err = transcript.append(at(), started()).unwrap_err();
                    assert!(matches!(err, TranscriptError::Open { .. }), "{err}");
                    assert!(transcript.is_empty());
                }
            }
            if existing {
                assert_eq!(std::fs::read(&target).unwrap(), b"root's file\n");
            } else {
                assert!(!target.exists());
            }
        }
    }

    #[test]
    fn a_fifo_transcript_is_refused_at_once() {
        let stick = tempfile::tempdir().unwrap();
        let path = stick.path().join("transcript.jsonl");
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        let started_at = Instant::now();
        let err = Transcript::open(&path, false).unwrap_err();
        assert!(err.to_string().contains("(a FIFO)"), "{err}");
        assert!(started_at.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_transcript_replaced_by_a_fifo_after_open_is_not_written() {
        let stick = tempfile::tempdir().unwrap();
        let path = stick.path().join("transcript.jsonl");
        let mut transcript = Transcript::open(&path, false).unwrap();
        transcript.append(at(), started()).unwrap();
        let mut reopened = Transcript::open(&path, false).unwrap();
        std::fs::remove_file(&path).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        let started_at = Instant::now();
        let err = reopened.append(at(), started()).unwrap_err();
        assert!(err.to_string().contains("(a FIFO)"), "{err}");
        assert!(started_at.elapsed() < Duration::from_secs(5));
    }
}
