//! `tuf-repo serve` as a test fixture, and python-tuf's ngclient over real
//! HTTP from it: the loopback server of the publish and flow tests.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::{binary, path_str, python, workspace_root};

/// A `tuf-repo serve` child, killed when dropped (even when a test fails).
pub struct Served {
    child: Child,
    /// `http://127.0.0.1:<port>/`, from the first line of stdout.
    pub url: String,
    /// `127.0.0.1:<port>`.
    pub addr: String,
}

impl Served {
    /// Starts `tuf-repo serve <repo>` on a free loopback port.
    pub fn start(repo: &Path) -> Served {
        let mut child = Command::new(binary("tuf-repo"))
            .args(["serve", path_str(repo), "--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run tuf-repo serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // Owned by the guard before any assertion, so a failure still kills it.
        let mut served = Served {
            child,
            url: String::new(),
            addr: String::new(),
        };
        let expected_dir = repo.join("repository");
        let rest = line
            .trim_end()
            .strip_prefix("serving http://")
            .unwrap_or_else(|| panic!("first line: {line:?}"));
        let (addr, dir) = rest
            .split_once("/ from ")
            .unwrap_or_else(|| panic!("first line: {line:?}"));
        assert_eq!(dir, path_str(&expected_dir), "first line: {line:?}");
        assert!(addr.starts_with("127.0.0.1:"), "{line:?}");
        assert_ne!(addr, "127.0.0.1:0", "the bound port is printed: {line:?}");
        served.url = format!("http://{addr}/");
        served.addr = addr.to_owned();
        served
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// python-tuf's ngclient, pinned to `trusted`, over HTTP from `served`;
/// returns what it printed (it must succeed).
pub fn python_http_download(trusted: &Path, served: &Served, target: &str, out: &Path) -> String {
    let output = Command::new(python())
        .arg(workspace_root().join("tests/fixtures/python_http_download.py"))
        .arg(trusted)
        .arg(&served.url)
        .arg(format!("{}targets/", served.url))
        .arg(target)
        .arg(out)
        .output()
        .expect("run python_http_download.py");
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    said
}
