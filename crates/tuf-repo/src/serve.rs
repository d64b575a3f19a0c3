//! `tuf-repo serve <repo> [--addr 127.0.0.1:PORT]`: `<repo>/repository/`
//! over plain HTTP, exactly as clients fetch a published repository, for
//! drills and local client checks (python-tuf, tuf-js, `tuf-repo client`).
//! Read-only and deliberately small: GET and HEAD, no directory listings,
//! nothing outside the directory (percent-decoded `..`, absolute paths,
//! backslashes, NUL and symlinks leading out are refused), the same cache
//! headers `publish` sets. Loopback by default; it is not a production
//! server.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use clap::Args as ClapArgs;
use tiny_http::{Header, Method, Request, Response, Server};
use tuf_metadata::escape;

use crate::layout::Repo;
use crate::publish::cache_control;

/// Arguments of `serve`.
#[derive(ClapArgs)]
pub struct Args {
    /// The repository directory (its `repository/` is served), or a
    /// directory `publish --to` wrote.
    #[arg(value_name = "dir")]
    repo: PathBuf,
    /// Address to listen on; port 0 picks a free port (printed on the first line).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
}

/// Worker threads: enough for a few clients with keep-alive connections.
const WORKERS: usize = 4;

/// What to serve for `arg`: a repository's `repository/`, or `arg`
/// itself when it is a published tree (what `publish --to <dir>` wrote:
/// `timestamp.json` or `1.root.json` at its top).
fn served_dir(arg: &Path) -> PathBuf {
    let published = Repo::new(arg).published();
    let is_tree = |d: &Path| d.join("timestamp.json").is_file() || d.join("1.root.json").is_file();
    if !published.is_dir() && is_tree(arg) {
        arg.to_path_buf()
    } else {
        published
    }
}

/// Runs the command: prints `serving http://<ip>:<port>/ from <dir>` as the
/// first line of stdout (scripts parse it), then serves until killed.
pub fn run(args: &Args) -> Result<()> {
    let dir = served_dir(&args.repo);
    let root = dir
        .canonicalize()
        .with_context(|| format!("{}: cannot serve", dir.display()))?;
    if !root.is_dir() {
        return Err(anyhow!("{}: not a directory", dir.display()));
    }
    let server =
        Server::http(args.addr).map_err(|e| anyhow!("{}: cannot listen: {e}", args.addr))?;
    let bound = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| anyhow!("{}: not an IP listener", args.addr))?;
    if !bound.ip().is_loopback() {
        say_err!(
            "warning: listening on {bound}, which is not loopback: anyone who can reach it can read the repository"
        );
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "serving http://{bound}/ from {}",
        escape(&dir.display().to_string())
    )?;
    stdout.flush()?;
    drop(stdout);

    let server = Arc::new(server);
    let root = Arc::new(root);
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let server = Arc::clone(&server);
            let root = Arc::clone(&root);
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    handle(&root, request);
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    Ok(())
}

/// Answers one request and logs it on stderr.
fn handle(root: &Path, request: Request) {
    let method = request.method().clone();
    let url = request.url().to_owned();
    let remote = request
        .remote_addr()
        .map_or_else(|| "-".to_owned(), ToString::to_string);
    let (status, length, result) = if !matches!(method, Method::Get | Method::Head) {
        let response = Response::from_string("method not allowed\n")
            .with_status_code(405)
            .with_header(header("Allow", "GET, HEAD"));
        (405, 0, request.respond(response))
    } else {
        match resolve(root, &url) {
            Err(status) => {
                let text = if status == 400 {
                    "bad request\n"
                } else {
                    "not found\n"
                };
                let response = Response::from_string(text)
                    .with_status_code(status)
                    .with_header(header("Content-Type", "text/plain; charset=utf-8"))
                    .with_header(header("Cache-Control", "no-cache"));
                (status, 0, request.respond(response))
            }
            Ok((file, relative)) => match std::fs::File::open(&file) {
                Ok(opened) => {
                    let length = opened.metadata().map_or(0, |m| m.len());
                    let content_type = if relative.ends_with(".json") {
                        "application/json"
                    } else {
                        "application/octet-stream"
                    };
                    let response = Response::from_file(opened)
                        // Always Content-Length, never chunked.
                        .with_chunked_threshold(usize::MAX)
                        .with_header(header("Content-Type", content_type))
                        .with_header(header("Cache-Control", cache_control(&relative)));
                    (200, length, request.respond(response))
                }
                Err(_) => {
                    let response = Response::from_string("not found\n").with_status_code(404);
                    (404, 0, request.respond(response))
                }
            },
        }
    };
    let outcome = match result {
        Ok(()) => String::new(),
        Err(e) => format!(" ({e})"),
    };
    cli_common::err_line(&log_line(&remote, &method, &url, status, length, &outcome));
}

/// One line of the request log. The request target is the client's, raw
/// (tiny_http passes bytes a terminal acts on): escaped, like all of it.
fn log_line(
    remote: &str,
    method: &Method,
    url: &str,
    status: u16,
    length: u64,
    outcome: &str,
) -> String {
    escape(&format!(
        "{remote} {method} {url} {status} {length}{outcome}"
    ))
    .into_owned()
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("ASCII header")
}

/// The file a request target names, with its `/`-separated path relative to
/// the served directory; 400 for a malformed or escaping path, 404 for
/// anything that is not a regular file inside the directory.
fn resolve(root: &Path, url: &str) -> Result<(PathBuf, String), u16> {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let Some(path) = path.strip_prefix('/') else {
        return Err(400);
    };
    // Malformed escapes and non-UTF-8 paths alike are bad requests.
    let relative = tuf_client::names::percent_decode(path).ok_or(400u16)?;
    if relative.is_empty() || relative.ends_with('/') {
        // The directory itself, or a directory: no listings.
        return Err(404);
    }
    if relative.contains(['\\', '\0'])
        || relative
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(400);
    }
    let file = root.join(&relative);
    // Symlinks could still lead out: the real path must stay inside.
    let real = file.canonicalize().map_err(|_| 404u16)?;
    if !real.starts_with(root) || !real.is_file() {
        return Err(404);
    }
    Ok((real, relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repository_serves_its_published_tree_and_a_published_tree_serves_itself() {
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir(repo.path().join("repository")).unwrap();
        assert_eq!(served_dir(repo.path()), repo.path().join("repository"));
        let www = tempfile::tempdir().unwrap();
        std::fs::write(www.path().join("timestamp.json"), b"{}").unwrap();
        assert_eq!(served_dir(www.path()), www.path());
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(served_dir(empty.path()), empty.path().join("repository"));
    }

    #[test]
    fn paths_resolve_inside_the_directory_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repository");
        std::fs::create_dir_all(root.join("targets/a")).unwrap();
        std::fs::write(dir.path().join("tuf-repo.toml"), b"secret").unwrap();
        std::fs::write(root.join("timestamp.json"), b"{}").unwrap();
        std::fs::write(root.join("targets/a/x y.txt"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("tuf-repo.toml"), root.join("link.json"))
            .unwrap();
        let root = root.canonicalize().unwrap();
        let ok = |url: &str| resolve(&root, url).map(|(_, r)| r);
        assert_eq!(ok("/timestamp.json"), Ok("timestamp.json".into()));
        assert_eq!(ok("/timestamp.json?x=1"), Ok("timestamp.json".into()));
        assert_eq!(ok("/targets/a/x%20y.txt"), Ok("targets/a/x y.txt".into()));
        for (url, status) in [
            ("/../tuf-repo.toml", 400),
            ("/%2e%2e/tuf-repo.toml", 400),
            ("/targets/%2E%2E/%2e%2e/tuf-repo.toml", 400),
            ("/..%2ftuf-repo.toml", 400),
            ("/..%5ctuf-repo.toml", 400),
            ("/timestamp.json%00", 400),
            ("//etc/passwd", 400),
            ("/%", 400),
            ("/%zz", 400),
            ("/%ff", 400),
            ("http://x/timestamp.json", 400),
            ("/", 404),
            ("/targets/", 404),
            ("/targets", 404),
            ("/missing.json", 404),
            ("/link.json", 404),
        ] {
            assert_eq!(resolve(&root, url).map(|(_, r)| r), Err(status), "{url}");
        }
    }

    #[test]
    fn a_hostile_request_target_is_logged_escaped() {
        let line = log_line(
            "127.0.0.1:5",
            &Method::Get,
            "/%1b[2J\u{1b}]0;owned\u{7}\u{1b}[2K\r200 OK\u{202e}",
            400,
            0,
            "",
        );
        assert_eq!(
            line,
            "127.0.0.1:5 GET /%1b[2J\\u{1b}]0;owned\\u{7}\\u{1b}[2K\\u{d}200 OK\\u{202e} 400 0"
        );
        assert!(!line.chars().any(tuf_metadata::display::is_hidden));
    }
}
