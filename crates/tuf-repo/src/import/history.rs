//! The root history an import starts from: any consecutive run of roots
//! (a checkout may hold 5..N only). Trust starts at the oldest root
//! present, checked against its own keys, or at a pinned `--trusted` root,
//! which must be one of the history (the same signed content) or its
//! direct predecessor (then it must sign the oldest present root, as every
//! later root signs the next). Every step is one [`RootChain`] step and
//! only the last root must be unexpired (TUF spec 5.3.10). Nothing is
//! written here.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use time::OffsetDateTime;
use tuf_metadata::{ChainLimits, Limits, Metadata, Root, RootChain};

use crate::layout::load_root_existing;
use crate::layouts::read;

/// A verified root history.
pub struct History {
    /// Every root the new repository publishes, `(version, file bytes)`,
    /// ascending and consecutive: the history found, with a pinned
    /// predecessor in front of it.
    pub files: Vec<(u64, Vec<u8>)>,
    /// Where trust started: the pinned root's file or the oldest found.
    pub start: PathBuf,
    /// The latest root.
    pub latest: Metadata<Root>,
}

/// Walks `found` (`(version, file)` ascending, as listed in the imported
/// directory) from the oldest root or from `trusted`; refuses a gap, a
/// file whose name is not its version, a pinned root that is not part of
/// this history, and any step the client would refuse.
pub fn establish(
    found: &[(u64, PathBuf)],
    trusted: Option<&Path>,
    now: OffsetDateTime,
) -> Result<History> {
    let (Some((oldest, oldest_path)), Some((latest, _))) = (found.first(), found.last()) else {
        bail!("no N.root.json found: an imported repository needs its root history");
    };
    for pair in found.windows(2) {
        let (prev, path) = &pair[0];
        if pair[1].0 != prev + 1 {
            let missing = path.with_file_name(format!("{}.root.json", prev + 1));
            bail!(
                "{}: missing; the root history must be consecutive (found v{oldest}..v{latest})",
                missing.display()
            );
        }
    }
    let mut files = Vec::new();
    let mut chain = None;
    let mut pinned_in_history = None;
    let mut start = oldest_path.clone();
    if let Some(path) = trusted {
        let file = path.display().to_string();
        let pinned = load_root_existing(path)?;
        let version = pinned.signed().common.version;
        if version > *latest {
            bail!("{file}: root v{version} is newer than the latest root here, v{latest}");
        }
        if version + 1 < *oldest {
            bail!(
                "{file}: root v{version} cannot be checked against this history, which starts at v{oldest}: roots v{}..v{} are missing",
                version + 1,
                oldest - 1
            );
        }
        if version + 1 == *oldest {
            let (c, _) =
                RootChain::from_trusted(pinned, ChainLimits::EXISTING).with_context(|| {
                    format!("{file}: root v{version} is not signed by its own keys")
                })?;
            chain = Some(c);
            files.push((version, read(path, Limits::EXISTING_ROOT.max_bytes)?));
            start = path.to_path_buf();
        } else {
            pinned_in_history = Some((file, pinned));
        }
    }
    for (version, path) in found {
        let file = path.display().to_string();
        let bytes = read(path, Limits::EXISTING_ROOT.max_bytes)?;
        match &mut chain {
            None => {
                let root = Metadata::parse(&bytes, &Limits::EXISTING_ROOT)
                    .and_then(|m| Ok(m.into_root()?))
                    .with_context(|| file.clone())?;
                let found = root.signed().common.version;
                if found != *version {
                    bail!("{file}: holds root v{found}, not v{version}");
                }
                let (c, _) = RootChain::from_trusted(root, ChainLimits::EXISTING).with_context(|| {
                    format!("{file}: root v{version}, where trust starts, is not signed by its own keys")
                })?;
                chain = Some(c);
            }
            Some(chain) => {
                chain.advance_bytes(&bytes).with_context(|| file.clone())?;
            }
        }
        if let Some((pinned_file, pinned)) = &pinned_in_history
            && pinned.signed().common.version == *version
        {
            let here = chain.as_ref().expect("set above").trusted();
            if here.signed_digest() != pinned.signed_digest() {
                bail!(
                    "{pinned_file}: root v{version} is not the one this history holds ({file}): another repository's root, or a forked history"
                );
            }
        }
        files.push((*version, bytes));
    }
    let chain = chain.expect("at least one root");
    let (_, last) = found.last().expect("at least one root");
    chain
        .check_expiry(now)
        .with_context(|| last.display().to_string())?;
    Ok(History {
        files,
        start,
        latest: chain.into_trusted(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tuf_metadata::testing::{TestKey, file_bytes, root};

    /// Roots 1..=n in `dir`, root v(k+1) signed by key k and k+1 (threshold
    /// 1 each), every root listing only its own key.
    fn history(dir: &Path, n: u64) -> Vec<(u64, PathBuf)> {
        history_from(dir, n, 1)
    }

    /// [`history`] with keys from seed `seed` on (another repository's).
    fn history_from(dir: &Path, n: u64, seed: u8) -> Vec<(u64, PathBuf)> {
        let keys: Vec<TestKey> = (0..=n as u8)
            .map(|i| TestKey::from_seed(seed + i))
            .collect();
        let mut out = Vec::new();
        for v in 1..=n {
            let k = v as usize;
            let mut md = Metadata::new(root(v, &[&keys[k]], 1, "2040-01-01T00:00:00Z"));
            keys[k].sign(&mut md);
            if v > 1 {
                keys[k - 1].sign(&mut md);
            }
            let path = dir.join(format!("{v}.root.json"));
            std::fs::write(&path, file_bytes(&md)).unwrap();
            out.push((v, path));
        }
        out
    }

    fn at() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[test]
    fn trust_starts_at_the_oldest_root_present_or_at_a_pinned_one() {
        let dir = tempfile::tempdir().unwrap();
        let all = history(dir.path(), 7);
        let checkout = &all[4..];
        let h = establish(checkout, None, at()).unwrap();
        assert_eq!(h.latest.signed().common.version, 7);
        assert_eq!(h.files.iter().map(|f| f.0).collect::<Vec<_>>(), [5, 6, 7]);
        assert_eq!(h.start, all[4].1);

        // Pinned inside the history, or just before it (then published too).
        let h = establish(checkout, Some(&all[5].1), at()).unwrap();
        assert_eq!(h.files.len(), 3);
        let h = establish(checkout, Some(&all[3].1), at()).unwrap();
        assert_eq!(
            h.files.iter().map(|f| f.0).collect::<Vec<_>>(),
            [4, 5, 6, 7]
        );
        assert_eq!(h.start, all[3].1);
    }

    #[test]
    fn gaps_foreign_pins_and_unreachable_pins_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let all = history(dir.path(), 7);
        let gap = [all[4].clone(), all[6].clone()];
        let err = format!("{:#}", establish(&gap, None, at()).err().unwrap());
        assert!(err.contains("6.root.json: missing"), "{err}");

        let err = format!(
            "{:#}",
            establish(&all[4..], Some(&all[2].1), at()).err().unwrap()
        );
        assert!(err.contains("roots v4..v4 are missing"), "{err}");

        let other = tempfile::tempdir().unwrap();
        let foreign = history_from(other.path(), 4, 100);
        let err = format!(
            "{:#}",
            establish(&all[..], Some(&foreign[1].1), at())
                .err()
                .unwrap()
        );
        assert!(err.contains("not the one this history holds"), "{err}");
        let err = format!(
            "{:#}",
            establish(&all[4..], Some(&foreign[0].1), at())
                .err()
                .unwrap()
        );
        assert!(err.contains("cannot be checked"), "{err}");
        // A predecessor whose keys did not sign the oldest root present.
        let err = format!(
            "{:#}",
            establish(&all[4..], Some(&foreign[3].1), at())
                .err()
                .unwrap()
        );
        assert!(err.contains("5.root.json"), "{err}");
    }
}
