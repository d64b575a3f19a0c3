//! What the fuzz targets share: the text format of their inputs, the
//! built-in trusted key and root, and the seeds written from our own code.
//!
//! An input is a list of sections, each a header line `@@ <name>[ <arg>]`
//! followed by its body (any bytes) up to the newline before the next
//! header. The format is readable, so seeds are made by concatenating real
//! files (`fuzz/seed-corpus.sh`), and libFuzzer's mutations of a body keep
//! the other sections intact.

pub mod seeds;

use std::path::{Path, PathBuf};

use tuf_metadata::testing::{self, TestKey};
use tuf_metadata::{Limits, Metadata, Signed};

/// One section of an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Section<'a> {
    /// The word after `@@ `.
    pub name: &'a str,
    /// The rest of the header line after one space (may be empty).
    pub arg: &'a str,
    /// The bytes up to the next header (its newline excluded).
    pub body: &'a [u8],
}

/// Splits `data` into sections; bytes before the first header are dropped,
/// and a header that is not UTF-8 ends the previous body without starting
/// a section.
pub fn sections(data: &[u8]) -> Vec<Section<'_>> {
    let mut starts = Vec::new();
    if data.starts_with(b"@@ ") {
        starts.push(0);
    }
    for (i, w) in data.windows(4).enumerate() {
        if w == b"\n@@ " {
            starts.push(i + 1);
        }
    }
    let mut out = Vec::new();
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(data.len(), |&next| next - 1);
        let text = &data[start + 3..end.max(start + 3)];
        let (header, body) = match text.iter().position(|&b| b == b'\n') {
            Some(i) => (&text[..i], &text[i + 1..]),
            None => (text, &text[text.len()..]),
        };
        // The newline encode() ends the input with is no part of the body.
        let body = match (end == data.len(), body.strip_suffix(b"\n")) {
            (true, Some(shorter)) => shorter,
            _ => body,
        };
        let Ok(header) = std::str::from_utf8(header) else {
            continue;
        };
        let (name, arg) = header.split_once(' ').unwrap_or((header, ""));
        out.push(Section { name, arg, body });
    }
    out
}

/// The input made of `parts` (`(header, body)`): what [`sections`] reads back.
pub fn encode(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (header, body) in parts {
        out.extend_from_slice(b"@@ ");
        out.extend_from_slice(header.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(body);
        out.push(b'\n');
    }
    out
}

/// The one key of the built-in repository: every role of [`trusted_root`]
/// and the `resign` sections of the client target.
pub fn key() -> &'static TestKey {
    static KEY: std::sync::OnceLock<TestKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| TestKey::from_seed(7))
}

/// Root v1 of the built-in repository: [`key`] holds every role,
/// threshold 1, expiring in 2100.
pub fn trusted_root() -> Vec<u8> {
    let root = testing::root(1, &[key()], 1, "2100-01-01T00:00:00Z");
    testing::file_bytes(&testing::signed(root, &[key()]))
}

/// `body` parsed and signed again by [`key`] (its other signatures kept),
/// so a mutation of the signed content still reaches the checks after the
/// signature; the body as is if it does not parse.
pub fn resign(body: &[u8]) -> Vec<u8> {
    match Metadata::<Signed>::parse(body, &Limits::ANY) {
        Ok(mut metadata) => {
            key().sign(&mut metadata);
            testing::file_bytes(&metadata)
        }
        Err(_) => body.to_vec(),
    }
}

/// A scratch directory for one fuzzing process, on tmpfs (`/dev/shm`) when
/// there is one: the code under test fsyncs what it writes, which costs
/// milliseconds on a disk and nothing on tmpfs.
/// A process never drops it (libFuzzer exits), so the directories of
/// processes that are gone are removed here.
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let parent = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    const PREFIX: &str = "tuf-ceremony-fuzz-";
    for entry in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next());
        if let Some(pid) = pid
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-", std::process::id()))
        .tempdir_in(&parent)
        .expect("a scratch directory")
}

/// Writes the seeds `make` returns (`(file name, input)`) into the
/// directory `TUF_FUZZ_SEEDS` names, then exits the process, when that
/// variable is set (`cargo xtask fuzz` sets it when a corpus is empty); else
/// does nothing. Called from each target's libFuzzer `init`.
pub fn write_seeds_if_asked(make: fn() -> Vec<(&'static str, Vec<u8>)>) {
    let Some(dir) = std::env::var_os("TUF_FUZZ_SEEDS").map(PathBuf::from) else {
        return;
    };
    let seeds = make();
    let outcome = std::fs::create_dir_all(&dir).and_then(|()| {
        seeds
            .iter()
            .try_for_each(|(name, bytes)| std::fs::write(dir.join(name), bytes))
    });
    match outcome {
        Ok(()) => {
            eprintln!("wrote {} seeds into {}", seeds.len(), dir.display());
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("error: cannot write seeds into {}: {e}", dir.display());
            std::process::exit(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_read_back_what_encode_wrote() {
        let input = encode(&[("trusted", b"{\n}"), ("role a b", b""), ("x", b"\n@")]);
        let got = sections(&input);
        assert_eq!(got.len(), 3);
        assert_eq!(
            (got[0].name, got[0].arg, got[0].body),
            ("trusted", "", &b"{\n}"[..])
        );
        assert_eq!(
            (got[1].name, got[1].arg, got[1].body),
            ("role", "a b", &b""[..])
        );
        assert_eq!((got[2].name, got[2].body), ("x", &b"\n@"[..]));
    }
}
