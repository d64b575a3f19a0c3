//! `import --layout go-tuf`: `repository/` (what is published,
//! consistent-snapshot names, `targets/`) and `staged/` (metadata being
//! prepared; target files under `staged/targets/<target path>`). Ours is
//! the same `repository/`, so it is verified in place as a client would
//! (from the oldest root present, or `--trusted`) and copied byte for
//! byte: every version stays as it is, whoever holds the online keys.

use std::path::Path;

use anyhow::{Result, bail};
use time::OffsetDateTime;
use tuf_metadata::files::sha256_hex;

use crate::config::Config;
use crate::layout::{Repo, versions};
use crate::layouts::{consistent, copy_tree, files_under, read, staged_metadata, write};
use crate::target_files::{MAX_TARGET_BYTES, staged_blob};
use crate::verify;

use super::history;
use super::{Imported, online_keys};

/// Imports `dir` into `out` (the scratch repository, configuration not
/// yet written). Expired online roles are reported, not refused:
/// `tuf-repo snapshot` renews them, or their keys' holder does.
pub fn import(
    dir: &Path,
    trusted: Option<&Path>,
    config: &Config,
    out: &Path,
    now: OffsetDateTime,
) -> Result<Imported> {
    let source = Repo::new(dir);
    let published = source.published();
    if !published.is_dir() {
        bail!(
            "{}: missing; a go-tuf layout has repository/ (and staged/)",
            published.display()
        );
    }
    let found: Vec<_> = versions(&published, "root")?
        .into_iter()
        .map(|v| (v, published.join(format!("{v}.root.json"))))
        .collect();
    let history = history::establish(&found, trusted, now)?;
    verify::check(
        &source,
        Some(&history.start),
        now,
        verify::Expiry::OnlineMayHaveExpired,
    )?;
    let root = history.latest.signed().clone();
    consistent(&source.published_file("root.json"), &root)?;
    let keys = online_keys(out, config, &root)?;
    let staged = staged_metadata(&source.staged())?;
    let mut blobs = Vec::new();
    let staged_targets = source.staged().join("targets");
    if staged_targets.is_dir() {
        for file in files_under(&staged_targets)? {
            let bytes = read(&file, MAX_TARGET_BYTES)?;
            blobs.push((sha256_hex(&bytes), bytes));
        }
    }
    // Everything is checked: now the copy.
    let repo = Repo::new(out);
    copy_tree(&published, &repo.published())?;
    // A pinned predecessor of the oldest root present is published too, so
    // that `verify` starts where this import did.
    let (first, bytes) = history.files.first().expect("at least one root");
    if found.first().is_some_and(|(oldest, _)| oldest != first) {
        write(&repo.published_file(&format!("{first}.root.json")), bytes)?;
    }
    for (name, bytes, _) in staged {
        write(&repo.staged_file(&name), &bytes)?;
    }
    for (sha256, bytes) in blobs {
        write(&staged_blob(&repo, &sha256), &bytes)?;
    }
    Ok(Imported {
        root_version: root.common.version,
        keys,
    })
}
