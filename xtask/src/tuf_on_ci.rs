//! The venv that holds tuf-on-ci-sign, the signer tool of tuf-on-ci
//! repositories, which the end-to-end suite runs as an independent peer
//! (`tests/tuf_on_ci_event.rs`): it must accept a signing event signed on
//! our appliance.
//!
//! It lives at `<workspace>/.venv-tuf-on-ci` (git-ignored), apart from the
//! python-tuf venv, because it brings sigstore and three cloud KMS clients
//! the other peer does not need. Like `.venv` (python.rs) it holds exactly
//! the pins of [`REQUIREMENTS`], kept by the same stamp
//! (`python::ensure_pinned`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::python;

/// The pinned requirements, relative to the workspace root.
pub const REQUIREMENTS: &str = "xtask/tuf-on-ci-requirements.txt";

/// The environment variable the end-to-end harness (`tests/harness`) reads
/// to find the `tuf-on-ci-sign` command.
pub const SIGN_ENV: &str = "TUF_CEREMONY_TUF_ON_CI_SIGN";

/// The venv directory, relative to the workspace root.
const VENV: &str = ".venv-tuf-on-ci";

/// Makes sure `.venv-tuf-on-ci` exists and holds [`REQUIREMENTS`]; returns
/// the path of its `tuf-on-ci-sign`.
pub fn ensure_venv(root: &Path) -> Result<PathBuf> {
    let venv = python::ensure_pinned(
        root,
        &python::Pinned {
            venv: VENV,
            requirements: REQUIREMENTS,
            what: "tuf-on-ci-sign",
            check: |venv| {
                let mut check = Command::new(venv.join("bin/tuf-on-ci-sign"));
                check.arg("--version");
                check
            },
        },
    )?;
    Ok(venv.join("bin/tuf-on-ci-sign"))
}
