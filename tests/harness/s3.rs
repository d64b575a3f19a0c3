//! A real S3-compatible server on loopback for the `publish --to s3://`
//! tests: moto's standalone server (`moto[server]`, pinned in
//! `xtask/python-requirements.txt`, so it lives in the same venv as
//! python-tuf), one per test, killed when the guard drops.
//!
//! moto keeps everything in memory and accepts any credentials; the bucket
//! is made through boto3 (`tests/fixtures/python_s3_bucket.py`) with a policy
//! that lets anyone read and list it, so the tests can check what clients
//! see with plain, unsigned HTTP.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{python, workspace_root};

/// Credentials for the server (moto takes any; these are AWS's own
/// placeholder values for tests) and the region, as `tuf-repo` and boto3
/// read them from the environment.
pub const AWS_ENV: [(&str, &str); 4] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_REGION", "us-east-1"),
];

/// A moto server on `127.0.0.1:<port>`, killed on drop.
pub struct Moto {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

/// One object of a bucket, as a GET through boto3 reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The object's bytes.
    pub bytes: Vec<u8>,
    /// Its `Cache-Control` header, if any.
    pub cache_control: Option<String>,
    /// Its `Content-Type` header.
    pub content_type: Option<String>,
    /// Its user metadata (`x-amz-meta-<key>`).
    pub metadata: BTreeMap<String, String>,
}

/// An HTTP response from [`Moto::request`].
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lowercase) and values.
    pub headers: BTreeMap<String, String>,
    /// The body (empty for HEAD).
    pub body: Vec<u8>,
}

impl Moto {
    /// Starts `moto_server` from the venv on a free loopback port and waits
    /// (up to 60 s) until it answers.
    pub fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// A server that checks every request's signature (moto's IAM
    /// enforcement), with `bucket` made by an IAM user allowed `s3:*`;
    /// returns it with that user's access key id (the secret stays in the
    /// fixture: tests sign with a wrong one).
    pub fn start_checking_signatures(bucket: &str) -> (Moto, String) {
        // The three IAM calls of `create-with-user` go unchecked, no more.
        let moto = Moto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
        let output = moto.bucket_script(&["create-with-user", &moto.endpoint(), bucket]);
        assert!(
            output.status.success(),
            "creating bucket {bucket} with an IAM user: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let key_id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        (moto, key_id)
    }

    fn start_with(env: &[(&str, &str)]) -> Moto {
        let server = moto_server();
        // moto_server has no "any free port": take one the kernel hands out,
        // release it, and start moto on it at once.
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
            listener.local_addr().expect("local address").port()
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let log = std::fs::File::create(dir.path().join("moto.log")).expect("moto log");
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(AWS_ENV)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("moto log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
        let mut moto = Moto { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!(
                    "moto_server exited ({status}) before answering:\n{}",
                    moto.log()
                );
            }
            // A connection, not a request: with signature checks on, moto
            // counts every request against the unchecked allowance.
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on port {port} within 60 s:\n{}",
                moto.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:<port>`: the `--endpoint-url` to give `tuf-repo`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the server logged (one line per request).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("moto.log")).unwrap_or_default()
    }

    /// Makes `bucket`, readable and listable by anyone.
    pub fn create_bucket(&self, bucket: &str) {
        let output = self.bucket_script(&["create", &self.endpoint(), bucket]);
        assert!(
            output.status.success(),
            "creating bucket {bucket}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Every object under `<prefix>/` of `bucket`, by key relative to the
    /// prefix, read with credentials through boto3.
    pub fn objects(&self, bucket: &str, prefix: &str) -> BTreeMap<String, Object> {
        let output = self.bucket_script(&["dump", &self.endpoint(), bucket, prefix]);
        assert!(
            output.status.success(),
            "listing bucket {bucket}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let value: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("python_s3_bucket.py dump: JSON");
        let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        value
            .as_object()
            .expect("an object of objects")
            .iter()
            .map(|(key, entry)| {
                let hex = entry["hex"].as_str().expect("hex bytes");
                let object = Object {
                    bytes: decode_hex(hex),
                    cache_control: text(&entry["cache_control"]),
                    content_type: text(&entry["content_type"]),
                    metadata: entry["metadata"]
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| (k.clone(), text(v).unwrap_or_default()))
                                .collect()
                        })
                        .unwrap_or_default(),
                };
                (key.clone(), object)
            })
            .collect()
    }

    /// Uploads `bytes` as `key` the way another tool would (boto3, no user
    /// metadata, no Cache-Control).
    pub fn put_foreign(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let file = self.dir.path().join("upload");
        std::fs::write(&file, bytes).expect("write upload");
        let file = file.to_str().expect("UTF-8 temp path");
        let output = self.bucket_script(&["put", &self.endpoint(), bucket, key, file]);
        assert!(
            output.status.success(),
            "uploading {key}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// How many objects `bucket` holds under `<prefix>/` (one anonymous
    /// ListObjectsV2 page, so at most 1000): cheap enough to poll.
    pub fn count(&self, bucket: &str, prefix: &str) -> usize {
        let path = format!("/{bucket}?list-type=2&prefix={}/", prefix.trim_matches('/'));
        match self.try_request("GET", &path) {
            Ok(response) if response.status == 200 => String::from_utf8_lossy(&response.body)
                .matches("<Key>")
                .count(),
            Ok(response) => panic!("listing {bucket}: HTTP {}", response.status),
            Err(e) => panic!("listing {bucket}: {e}"),
        }
    }

    /// An anonymous, unsigned request to `path` (`/<bucket>/<key>`), as a
    /// client (or a CDN in front of the bucket) makes it.
    pub fn request(&self, method: &str, path: &str) -> Response {
        self.try_request(method, path)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    fn try_request(&self, method: &str, path: &str) -> std::io::Result<Response> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        )?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        parse_response(&raw, method == "HEAD")
    }

    fn bucket_script(&self, args: &[&str]) -> std::process::Output {
        Command::new(python())
            .arg(workspace_root().join("tests/fixtures/python_s3_bucket.py"))
            .args(args)
            .envs(AWS_ENV)
            .output()
            .expect("run python_s3_bucket.py")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `moto_server` beside the venv's python.
fn moto_server() -> PathBuf {
    let server = python().with_file_name("moto_server");
    assert!(
        server.exists(),
        "{} not found: `cargo xtask test` installs moto[server] into the venv \
         (xtask/python-requirements.txt)",
        server.display()
    );
    server
}

fn parse_response(raw: &[u8], head: bool) -> std::io::Result<Response> {
    let bad = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head_text = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head_text.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let headers: BTreeMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = if head {
        Vec::new()
    } else {
        raw[end + 4..].to_vec()
    };
    if !head
        && headers
            .get("transfer-encoding")
            .is_some_and(|t| t == "chunked")
    {
        body = dechunk(&body).ok_or_else(|| bad("bad chunked body"))?;
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}
