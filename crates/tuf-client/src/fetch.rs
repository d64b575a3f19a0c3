//! Where metadata and targets come from: a [`Fetcher`] hands the updater the
//! bytes of a relative path, never more than the caller's cap, so a hostile
//! mirror cannot make the client read (or hold) an endless file.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::names::percent_decode;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The file does not exist there (HTTP 404 / no such file).
    #[error("{0}: not found")]
    NotFound(String),
    /// The file is longer than the caller allows (never read past the cap).
    #[error("{url}: longer than the {max} bytes allowed")]
    TooLong {
        /// What was fetched.
        url: String,
        /// The cap.
        max: u64,
    },
    /// Anything else (connection refused, I/O error), in words.
    #[error("{url}: {why}")]
    Other {
        /// What was fetched.
        url: String,
        /// What went wrong.
        why: String,
    },
}

/// A source of files by relative path (`2.root.json`, `targets/a/<hash>.b`).
pub trait Fetcher {
    /// The bytes of `path` (relative to the fetcher's base), at most
    /// `max_len` bytes: a longer file is an error, never truncated.
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError>;

    /// Where this fetcher reads from, for messages.
    fn describe(&self) -> String;
}

/// Reads at most `max_len + 1` bytes of `reader`: one byte more than allowed
/// is enough to know the file is too long, and no more is ever read.
fn read_limited(reader: impl Read, url: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
    let mut bytes = Vec::new();
    reader
        .take(max_len.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| FetchError::Other {
            url: url.to_owned(),
            why: format!("cannot read: {e}"),
        })?;
    if bytes.len() as u64 > max_len {
        return Err(FetchError::TooLong {
            url: url.to_owned(),
            max: max_len,
        });
    }
    Ok(bytes)
}

/// Files under a base URL, over HTTP(S): what `tuf-repo client` and the
/// TUF conformance suite use.
///
/// Timeouts: 15 s to connect, 30 s for the response head, 300 s for a body
/// (a large target over a slow link). HTTP 404 and 403 are both
/// [`FetchError::NotFound`], as python-tuf treats both as "no such file"
/// when it probes for the next root. Paths are appended to the base as
/// given: percent-encoding them is the caller's job.
pub struct HttpFetcher {
    base: String,
    agent: ureq::Agent,
}

impl HttpFetcher {
    /// A fetcher for `base_url` (`http://` or `https://`; a `/` is added
    /// when missing, so `…/metadata` and `…/metadata/` mean the same).
    pub fn new(base_url: &str) -> Result<HttpFetcher, FetchError> {
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(FetchError::Other {
                url: base_url.to_owned(),
                why: "not an http:// or https:// URL".into(),
            });
        }
        let mut base = base_url.to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_recv_response(Some(Duration::from_secs(30)))
            .timeout_recv_body(Some(Duration::from_secs(300)))
            .max_redirects(5)
            .build();
        Ok(HttpFetcher {
            base,
            agent: ureq::Agent::new_with_config(config),
        })
    }
}

impl Fetcher for HttpFetcher {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
        let url = format!("{}{}", self.base, path);
        let response = self.agent.get(&url).call().map_err(|e| FetchError::Other {
            url: url.clone(),
            why: e.to_string(),
        })?;
        let status = response.status().as_u16();
        if status == 404 || status == 403 {
            return Err(FetchError::NotFound(url));
        }
        if !(200..300).contains(&status) {
            return Err(FetchError::Other {
                url,
                why: format!("HTTP status {status}"),
            });
        }
        read_limited(response.into_body().into_reader(), &url, max_len)
    }

    fn describe(&self) -> String {
        self.base.clone()
    }
}

/// Files under a local directory (a published tree, a git work tree): what
/// `file://` URLs map to.
///
/// A path is read like a static web server reads a URL path: split at `/`,
/// each segment percent-decoded. A segment that is empty, `.` or `..`, or
/// that decodes to something holding `/`, `\` or NUL, is refused, and so is
/// an absolute path: nothing outside the directory is ever opened (symbolic
/// links inside it are followed, as a web server would).
pub struct DirFetcher {
    base: PathBuf,
}

impl DirFetcher {
    /// A fetcher for the files under `dir`.
    pub fn new(dir: &Path) -> DirFetcher {
        DirFetcher {
            base: dir.to_path_buf(),
        }
    }

    /// The file `path` names under the directory, or why it is refused.
    fn resolve(&self, path: &str) -> Result<PathBuf, FetchError> {
        let refuse = |why: &str| FetchError::Other {
            url: path.to_owned(),
            why: format!("refused: {why}"),
        };
        if path.starts_with('/') {
            return Err(refuse("an absolute path"));
        }
        let mut file = self.base.clone();
        for segment in path.split('/') {
            let decoded = percent_decode(segment).ok_or_else(|| refuse("bad percent-encoding"))?;
            if decoded.is_empty() || decoded == "." || decoded == ".." {
                return Err(refuse("an empty, . or .. path segment"));
            }
            if decoded.contains(['/', '\\', '\0']) {
                return Err(refuse("a segment decodes to /, \\ or NUL"));
            }
            let mut parts = Path::new(&decoded).components();
            match (parts.next(), parts.next()) {
                (Some(Component::Normal(_)), None) => file.push(&decoded),
                _ => return Err(refuse("a segment is not a plain file name")),
            }
        }
        Ok(file)
    }
}

impl Fetcher for DirFetcher {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
        let file_path = self.resolve(path)?;
        let url = file_path.display().to_string();
        let file = match File::open(&file_path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(FetchError::NotFound(url));
            }
            Err(e) => {
                return Err(FetchError::Other {
                    url,
                    why: format!("cannot open: {e}"),
                });
            }
        };
        match file.metadata() {
            Ok(m) if m.is_dir() => return Err(FetchError::NotFound(url)),
            // Refused before reading: the size on disk is already too much.
            Ok(m) if m.len() > max_len => {
                return Err(FetchError::TooLong { url, max: max_len });
            }
            _ => {}
        }
        read_limited(file, &url, max_len)
    }

    fn describe(&self) -> String {
        self.base.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_fetcher_refuses_paths_leaving_the_dir() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("repo");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(root.path().join("secret"), b"s").unwrap();
        std::fs::write(dir.join("a b"), b"spaced").unwrap();
        let fetcher = DirFetcher::new(&dir);
        for bad in [
            "../secret",
            "%2e%2e/secret",
            "%2E%2E/secret",
            "a/../../secret",
            "/etc/passwd",
            "..%2Fsecret",
            "x%00",
            "",
            "a//b",
            "%zz",
        ] {
            let err = fetcher.fetch(bad, 100).unwrap_err();
            assert!(matches!(err, FetchError::Other { .. }), "{bad}: {err}");
        }
        assert_eq!(fetcher.fetch("a%20b", 100).unwrap(), b"spaced");
        assert_eq!(fetcher.fetch("a b", 100).unwrap(), b"spaced");
        assert!(matches!(
            fetcher.fetch("missing.json", 100),
            Err(FetchError::NotFound(_))
        ));
    }

    #[test]
    fn dir_fetcher_caps_the_size() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"12345").unwrap();
        let fetcher = DirFetcher::new(dir.path());
        assert_eq!(fetcher.fetch("f", 5).unwrap(), b"12345");
        let err = fetcher.fetch("f", 4).unwrap_err();
        assert!(matches!(err, FetchError::TooLong { max: 4, .. }), "{err}");
        // u64::MAX does not overflow the one-byte-more read.
        assert_eq!(fetcher.fetch("f", u64::MAX).unwrap(), b"12345");
    }

    #[test]
    fn the_limited_reader_stops_one_byte_past_the_cap() {
        // An endless source: only max + 1 bytes are ever pulled from it.
        let endless = io::repeat(b'x');
        let err = read_limited(endless, "endless", 1000).unwrap_err();
        assert!(matches!(err, FetchError::TooLong { max: 1000, .. }));
    }

    #[test]
    fn http_fetcher_wants_an_http_url() {
        assert!(HttpFetcher::new("ftp://example.org/").is_err());
        assert_eq!(
            HttpFetcher::new("http://127.0.0.1:1/m").unwrap().describe(),
            "http://127.0.0.1:1/m/"
        );
    }
}
