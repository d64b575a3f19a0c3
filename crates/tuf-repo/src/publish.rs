//! `tuf-repo publish <repo> --to <dir | git work tree | s3://bucket/prefix>`:
//! copies `<repo>/repository/` to where clients fetch it, in an order that
//! keeps every intermediate state acceptable to a client (target files, then
//! versioned metadata, then roots, then `root.json`, then `timestamp.json`
//! last: nothing new is reachable before the timestamp naming it is in
//! place), after the local repository verifies, and then checks the copy as
//! a client would. Versioned files and hash-named target files are immutable
//! at the destination: a different copy there is an error, never overwritten.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args as ClapArgs;
use metadata_io::write_atomically;
use time::OffsetDateTime;
use tuf_metadata::Signed;

use crate::clock::{AtArgs, now_or, rfc3339};
use crate::layout::{Repo, load_any};
use crate::publish_git::{GitDestination, is_work_tree};

/// Where a repository is published.
pub trait Destination {
    /// For messages, e.g. "s3://bucket/prefix" or "/srv/tuf".
    fn describe(&self) -> String;
    /// Hex SHA-256 of the object at `path` (relative, `/`-separated), None if absent.
    fn existing_sha256(&mut self, path: &str) -> anyhow::Result<Option<String>>;
    /// Stores `bytes` at `path`, replacing it atomically for readers.
    fn put(&mut self, path: &str, bytes: &[u8], cache_control: &str) -> anyhow::Result<()>;
    /// Called once after every put succeeded (git: commit).
    fn finish(&mut self, versions: &str) -> anyhow::Result<()>;
    /// A fetcher reading back what was published (for the re-check).
    fn read_back(&self) -> Box<dyn tuf_client::Fetcher + '_>;
}

/// Options of S3-compatible destinations (`--to s3://bucket/prefix`),
/// read by `crate::publish_s3`: flattened into `publish`'s arguments so the
/// S3 code adds no subcommand of its own.
#[derive(ClapArgs, Clone, Debug, Default)]
pub struct S3Options {
    /// The S3 endpoint, for stores other than AWS (MinIO, R2, Ceph).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The bucket's region (else from the environment).
    #[arg(long)]
    pub region: Option<String>,
    /// Path-style requests (`endpoint/bucket/key`), which MinIO and most
    /// self-hosted stores need.
    #[arg(long)]
    pub path_style: bool,
}

/// Arguments of `publish`.
#[derive(ClapArgs)]
pub struct Args {
    /// The repository directory (its `repository/` is published).
    pub(crate) repo: PathBuf,
    /// A directory, a git work tree (then committed), or s3://bucket/prefix.
    #[arg(long, value_name = "dest")]
    to: String,
    /// Print what would be uploaded and skipped; write nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    at: AtArgs,
    /// S3 options (only with `--to s3://`).
    #[command(flatten)]
    s3: S3Options,
}

/// Cache-Control for versioned files and hash-named targets: their content
/// never changes under that name.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache-Control for `timestamp.json` and `root.json`: a stale copy would
/// hide an update (or a key rotation) from clients.
pub const NO_CACHE: &str = "no-cache";
/// Cache-Control for everything else that may change (unversioned
/// `snapshot.json`/`targets.json` of repositories without consistent
/// snapshots, other files): a short staleness window.
pub const SHORT: &str = "public, max-age=60";

/// The Cache-Control header for the published file at `path` (relative,
/// `/`-separated); `serve` uses the same rule as `publish`.
pub fn cache_control(path: &str) -> &'static str {
    match classify(path) {
        Kind::Timestamp | Kind::RootJson => NO_CACHE,
        kind if kind.immutable(path) => IMMUTABLE,
        _ => SHORT,
    }
}

/// What a published file is: decides its place in the order, whether it may
/// be replaced, and its cache header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `targets/**`.
    Target,
    /// Anything else outside the metadata naming scheme.
    Other,
    /// `V.<role>.json` for roles other than root.
    Versioned,
    /// `<role>.json` other than root and timestamp (no consistent snapshots).
    Unversioned,
    /// `N.root.json`.
    Root,
    /// `root.json`.
    RootJson,
    /// `timestamp.json`.
    Timestamp,
}

impl Kind {
    /// Label for the counts.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Target => "target files",
            Kind::Other => "other files",
            Kind::Versioned => "versioned metadata",
            Kind::Unversioned => "unversioned metadata",
            Kind::Root => "N.root.json",
            Kind::RootJson => "root.json",
            Kind::Timestamp => "timestamp.json",
        }
    }

    /// Whether the file at `path` of this kind never changes once
    /// published: target files only under consistent-snapshot names
    /// (`<sha256>.<name>`), since plain names are rewritten in place.
    fn immutable(self, path: &str) -> bool {
        match self {
            Kind::Versioned | Kind::Root => true,
            Kind::Target => {
                let base = path.rsplit('/').next().unwrap_or(path);
                base.split_once('.').is_some_and(|(hash, _)| {
                    hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit())
                })
            }
            _ => false,
        }
    }
}

/// `(version, role)` of `V.<role>.json`.
fn versioned_name(name: &str) -> Option<(u64, &str)> {
    let stem = name.strip_suffix(".json")?;
    let (version, role) = stem.split_once('.')?;
    if version.starts_with('0') || role.is_empty() {
        return None;
    }
    Some((version.parse().ok()?, role))
}

fn classify(path: &str) -> Kind {
    if path.starts_with("targets/") {
        return Kind::Target;
    }
    if path.contains('/') || !path.ends_with(".json") {
        return Kind::Other;
    }
    match path {
        "timestamp.json" => Kind::Timestamp,
        "root.json" => Kind::RootJson,
        _ => match versioned_name(path) {
            Some((_, "root")) => Kind::Root,
            Some(_) => Kind::Versioned,
            None => Kind::Unversioned,
        },
    }
}

/// The publishing order inside one kind: delegated roles before targets
/// before snapshot (each names nothing published after it), versions
/// ascending.
fn order_key(kind: Kind, path: &str) -> (Kind, u8, String, u64) {
    let (version, role) = match kind {
        Kind::Versioned | Kind::Root => versioned_name(path).map_or((0, path), |(v, r)| (v, r)),
        Kind::Unversioned => (0, path.strip_suffix(".json").unwrap_or(path)),
        _ => (0, path),
    };
    let rank = match role {
        "targets" if kind != Kind::Target => 1,
        "snapshot" if kind != Kind::Target => 2,
        _ => 0,
    };
    (kind, rank, role.to_owned(), version)
}

/// Uploaded and unchanged objects of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    /// Written (or, in a dry run, to be written).
    pub uploaded: u64,
    /// Already there with the same SHA-256.
    pub skipped: u64,
}

/// What `publish` did, for the command's output and for tests.
#[derive(Debug)]
pub struct PublishReport {
    /// The destination, as it describes itself.
    pub destination: String,
    /// "root vN, targets vT, snapshot vS, timestamp vX" of what was published.
    pub versions: String,
    /// Counts per kind, in publishing order.
    pub counts: BTreeMap<Kind, Count>,
    /// The re-check's verdict (None in a dry run).
    pub recheck: Option<String>,
}

impl PublishReport {
    /// All kinds together.
    pub fn total(&self) -> Count {
        self.counts.values().fold(Count::default(), |a, c| Count {
            uploaded: a.uploaded + c.uploaded,
            skipped: a.skipped + c.skipped,
        })
    }
}

/// One file to publish.
#[derive(Debug)]
struct Item {
    /// Relative, `/`-separated.
    path: String,
    local: PathBuf,
    kind: Kind,
    upload: bool,
}

/// Verifies `<repo>/repository/`, publishes it to `dest` in the
/// client-safe order, skipping what is unchanged, then re-reads the
/// destination with the TUF client pinned to `1.root.json`.
pub fn publish(
    repo: &Path,
    dest: &mut dyn Destination,
    now: OffsetDateTime,
) -> Result<PublishReport> {
    verify_local(repo, now)?;
    let versions = versions(repo)?;
    let items = plan(&Repo::new(repo).published(), dest)?;
    // The client's local copy is made before anything is written, so a
    // failure here (a full or read-only temp directory) is told apart from
    // a destination that does not verify.
    let client = LocalClient::prepare(repo).map_err(|e| {
        anyhow!(
            "could not prepare the local copy for the re-check ({e:#}): the destination is unchanged"
        )
    })?;
    let counts = upload(&items, dest)?;
    dest.finish(&versions)
        .with_context(|| format!("{}: finishing the publication", dest.describe()))?;
    let recheck = client.recheck(dest, now)?;
    Ok(PublishReport {
        destination: dest.describe(),
        versions,
        counts,
        recheck: Some(recheck),
    })
}

/// `publish --dry-run`: verifies and plans (reading the destination's
/// hashes) but writes nothing.
pub fn dry_run(
    repo: &Path,
    dest: &mut dyn Destination,
    now: OffsetDateTime,
) -> Result<PublishReport> {
    verify_local(repo, now)?;
    let versions = versions(repo)?;
    let items = plan(&Repo::new(repo).published(), dest)?;
    Ok(PublishReport {
        destination: dest.describe(),
        versions,
        counts: tally(&items),
        recheck: None,
    })
}

/// `tuf-repo verify <repo> --at <now>`, the same code path as the command
/// (its arguments are private to it, so they are built by clap).
fn verify_local(repo: &Path, now: OffsetDateTime) -> Result<()> {
    let command = <crate::verify::Args as clap::Args>::augment_args(clap::Command::new("verify"));
    let matches = command
        .try_get_matches_from([
            OsString::from("verify"),
            repo.as_os_str().to_owned(),
            OsString::from("--at"),
            OsString::from(rfc3339(now)),
        ])
        .context("building the verify arguments")?;
    let args = <crate::verify::Args as clap::FromArgMatches>::from_arg_matches(&matches)
        .context("building the verify arguments")?;
    crate::verify::run(&args).context("the local repository does not verify, nothing was published")
}

/// "root vN, targets vT, snapshot vS, timestamp vX" of the verified repository.
fn versions(repo: &Path) -> Result<String> {
    let repo = Repo::new(repo);
    let root = repo.latest_version("root")?.unwrap_or(0);
    let (_, timestamp) = load_any(&repo.published_file("timestamp.json"))?;
    let Signed::Timestamp(ts) = timestamp.signed() else {
        bail!(
            "{}: not timestamp metadata",
            repo.published_file("timestamp.json").display()
        );
    };
    let snapshot_version = ts.snapshot.version;
    let consistent = repo.published_file(&format!("{snapshot_version}.snapshot.json"));
    let snapshot_file = if consistent.exists() {
        consistent
    } else {
        repo.published_file("snapshot.json")
    };
    let (_, snapshot) = load_any(&snapshot_file)?;
    let targets = match snapshot.signed() {
        Signed::Snapshot(sn) => sn
            .meta
            .get("targets.json")
            .map_or_else(|| "?".to_owned(), |m| m.version.to_string()),
        _ => bail!("{}: not snapshot metadata", snapshot_file.display()),
    };
    Ok(format!(
        "root v{root}, targets v{targets}, snapshot v{snapshot_version}, timestamp v{}",
        ts.common.version
    ))
}

/// Every file of `published`, in publishing order, each marked upload or
/// skip by the destination's hash. An immutable file that the destination
/// holds with other content refuses the whole plan, before anything is written.
fn plan(published: &Path, dest: &mut dyn Destination) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    list_files(published, "", &mut items)?;
    items.sort_by_cached_key(|i| order_key(i.kind, &i.path));
    let mut conflicts = Vec::new();
    for item in &mut items {
        let local = file_sha256(&item.local)
            .with_context(|| format!("{}: cannot read", item.local.display()))?;
        let existing = dest
            .existing_sha256(&item.path)
            .with_context(|| format!("{}: cannot read {}", dest.describe(), item.path))?;
        item.upload = match existing {
            None => true,
            Some(hash) if hash.eq_ignore_ascii_case(&local) => false,
            Some(_) if item.kind.immutable(&item.path) => {
                conflicts.push(item.path.clone());
                true
            }
            Some(_) => true,
        };
    }
    if let Some(first) = conflicts.first() {
        let more = match conflicts.len() {
            1 => String::new(),
            n => format!(" (and {} more: {})", n - 1, conflicts[1..].join(", ")),
        };
        bail!(
            "{}: {first} differs from the local copy{more}; published versioned files are immutable, so nothing was written",
            dest.describe()
        );
    }
    Ok(items)
}

fn list_files(dir: &Path, prefix: &str, items: &mut Vec<Item>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("{}: cannot list", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            bail!("{}: a file name that is not UTF-8", entry.path().display());
        };
        // Temp files of an interrupted atomic write (`.<name>.tmp-<pid>`).
        if name.starts_with('.') {
            continue;
        }
        let path = format!("{prefix}{name}");
        let local = entry.path();
        let meta = std::fs::metadata(&local).with_context(|| local.display().to_string())?;
        if meta.is_dir() {
            list_files(&local, &format!("{path}/"), items)?;
        } else if meta.is_file() {
            let kind = classify(&path);
            items.push(Item {
                path,
                local,
                kind,
                upload: false,
            });
        }
    }
    Ok(())
}

fn upload(items: &[Item], dest: &mut dyn Destination) -> Result<BTreeMap<Kind, Count>> {
    for item in items.iter().filter(|i| i.upload) {
        let bytes = std::fs::read(&item.local)
            .with_context(|| format!("{}: cannot read", item.local.display()))?;
        dest.put(&item.path, &bytes, cache_control(&item.path))
            .with_context(|| format!("{}: writing {}", dest.describe(), item.path))?;
    }
    Ok(tally(items))
}

fn tally(items: &[Item]) -> BTreeMap<Kind, Count> {
    let mut counts: BTreeMap<Kind, Count> = BTreeMap::new();
    for item in items {
        let count = counts.entry(item.kind).or_default();
        if item.upload {
            count.uploaded += 1;
        } else {
            count.skipped += 1;
        }
    }
    counts
}

/// The TUF client that re-checks a publication, in its own scratch
/// directory and pinned to the local `1.root.json` (the oldest root of an
/// imported checkout), made before the upload.
struct LocalClient {
    scratch: ScratchDir,
    /// The file name of the root it is pinned to, for the report.
    pinned_name: String,
    /// The local `timestamp.json`, which the destination must serve.
    ours: Vec<u8>,
}

impl LocalClient {
    /// Reads the pinned root and our timestamp and initialises the client's
    /// metadata directory: every local write the re-check needs to begin.
    fn prepare(repo: &Path) -> Result<Self> {
        let published = Repo::new(repo).published();
        let read = |name: &str| {
            let path = published.join(name);
            std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))
        };
        let first = Repo::new(repo).first_root_file()?;
        let pinned =
            std::fs::read(&first).with_context(|| format!("{}: cannot read", first.display()))?;
        let pinned_name = first
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let ours = read("timestamp.json")?;
        let scratch = ScratchDir::new()?;
        tuf_client::Updater::init(&scratch.0, &pinned)?;
        Ok(LocalClient {
            scratch,
            pinned_name,
            ours,
        })
    }

    /// The client updates from what the destination now serves; it must end
    /// up trusting our timestamp. Its own local writes failing is said as
    /// such, not as a destination that does not verify.
    fn recheck(self, dest: &dyn Destination, now: OffsetDateTime) -> Result<String> {
        let fetcher = dest.read_back();
        let failed = |e: tuf_client::ClientError| match e {
            tuf_client::ClientError::Local { .. } => anyhow!(
                "the re-check's local copy failed ({e}): {} was written but not re-checked; publish again to re-check it",
                dest.describe()
            ),
            e => anyhow!("published copy at {} does not verify: {e}", dest.describe()),
        };
        let mut updater = tuf_client::Updater::open(&self.scratch.0).map_err(failed)?;
        updater.refresh(&*fetcher, now).map_err(failed)?;
        // A cache in front of the destination could serve an older timestamp
        // that still verifies: then clients would not see this publication yet.
        if let Ok(trusted) = std::fs::read(self.scratch.0.join("timestamp.json"))
            && trusted != self.ours
        {
            bail!(
                "published copy at {} does not verify: the client was served an older timestamp.json than the one published",
                dest.describe()
            );
        }
        Ok(format!(
            "the TUF client pinned to {} updates from {} ({})",
            self.pinned_name,
            fetcher.describe(),
            rfc3339(now)
        ))
    }
}

/// A private temp directory for the re-check's client metadata, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Result<Self> {
        let base = std::env::temp_dir();
        sweep_stale_scratch(&base);
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        for attempt in 0..100 {
            let dir = base.join(format!(
                "tuf-repo-publish-{}-{nanos}-{attempt}",
                std::process::id()
            ));
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(ScratchDir(dir)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("{}: cannot create", dir.display()));
                }
            }
        }
        bail!("{}: cannot make a scratch directory", base.display())
    }
}

/// Removes the scratch directories of publications that were killed (their
/// process is gone) and that belong to this user: nothing else removes them.
fn sweep_stale_scratch(base: &Path) {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    let me = std::fs::metadata("/proc/self").ok().map(|m| m.uid());
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("tuf-repo-publish-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let gone = !Path::new(&format!("/proc/{pid}")).exists();
        if gone && meta.is_dir() && Some(meta.uid()) == me {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Hex SHA-256 of a file, read in blocks (target files may be large).
pub(crate) fn file_sha256(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        context.update(&buf[..n]);
    }
    Ok(hex::encode(context.finish()))
}

/// Checks a destination-relative path: `/`-separated, no empty, `.` or `..`
/// segment, no backslash or NUL, so it cannot leave the destination.
pub(crate) fn check_relative(path: &str) -> Result<()> {
    let bad = path.is_empty()
        || path.contains(['\\', '\0'])
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..");
    if bad {
        bail!("{path:?}: not a plain relative path");
    }
    Ok(())
}

/// A local directory (a web server's document root, a mounted share).
pub struct DirDestination {
    dir: PathBuf,
    /// Folders whose stale temp files were removed this run (once each).
    swept: std::collections::BTreeSet<PathBuf>,
}

impl DirDestination {
    /// The directory `dir`; created (with its parents) on the first write,
    /// so a dry run leaves no trace.
    pub fn new(dir: &Path) -> Self {
        DirDestination {
            dir: dir.to_owned(),
            swept: std::collections::BTreeSet::new(),
        }
    }

    /// The directory written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Destination for DirDestination {
    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    fn existing_sha256(&mut self, path: &str) -> Result<Option<String>> {
        check_relative(path)?;
        let file = self.dir.join(path);
        match file_sha256(&file) {
            Ok(hash) => Ok(Some(hash)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("{}: cannot read", file.display())),
        }
    }

    fn put(&mut self, path: &str, bytes: &[u8], _cache_control: &str) -> Result<()> {
        check_relative(path)?;
        let file = self.dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("{}: cannot create", parent.display()))?;
            // A publication killed mid-write left its temp file here; the
            // destination is ours alone, so any of a gone writer goes.
            if self.swept.insert(parent.to_owned()) {
                metadata_io::remove_stale_temp_files(parent, |_| true);
            }
        }
        write_atomically(&file, bytes).with_context(|| file.display().to_string())
    }

    fn finish(&mut self, _versions: &str) -> Result<()> {
        Ok(())
    }

    fn read_back(&self) -> Box<dyn tuf_client::Fetcher + '_> {
        Box::new(tuf_client::DirFetcher::new(&self.dir))
    }
}

/// The destination `--to` names: `s3://…` (the S3 module), a git work tree
/// (committed after writing), or a directory.
fn open_destination(to: &str, s3: &S3Options) -> Result<Box<dyn Destination>> {
    if to.starts_with("s3://") {
        return crate::publish_s3::open(to, s3);
    }
    if let Some((scheme, _)) = to.split_once("://") {
        bail!(
            "{to}: {scheme}:// is not a destination; give a directory, a git work tree or s3://bucket/prefix"
        );
    }
    let path = Path::new(to);
    if is_work_tree(path) {
        Ok(Box::new(GitDestination::open(path)?))
    } else {
        if path.exists() && !path.is_dir() {
            bail!("{to}: not a directory");
        }
        Ok(Box::new(DirDestination::new(path)))
    }
}

/// Runs the command.
pub fn run(args: &Args) -> Result<()> {
    let now = now_or(args.at);
    let mut dest = open_destination(&args.to, &args.s3)?;
    let report = if args.dry_run {
        dry_run(&args.repo, dest.as_mut(), now)?
    } else {
        publish(&args.repo, dest.as_mut(), now)?
    };
    let verb = if args.dry_run {
        "would upload"
    } else {
        "uploaded"
    };
    for (kind, count) in &report.counts {
        say!(
            "{}: {} {verb}, {} unchanged",
            kind.label(),
            count.uploaded,
            count.skipped
        );
    }
    let total = report.total();
    let lead = if args.dry_run {
        "dry run, nothing written"
    } else {
        "published"
    };
    say!(
        "{lead}: {} to {}: {} {verb}, {} unchanged",
        report.versions,
        report.destination,
        total.uploaded,
        total.skipped
    );
    if let Some(recheck) = &report.recheck {
        say!("re-check: ok — {recheck}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn scratch_dirs_of_killed_publications_are_swept_and_live_ones_kept() {
        let base = tempfile::tempdir().unwrap();
        // No process has a pid above the kernel's limit (2^22).
        let dead = base.path().join("tuf-repo-publish-999999999-1-0");
        let live = base
            .path()
            .join(format!("tuf-repo-publish-{}-1-0", std::process::id()));
        let other = base.path().join("tuf-repo-publisher-1");
        for dir in [&dead, &live, &other] {
            std::fs::create_dir(dir).unwrap();
        }
        sweep_stale_scratch(base.path());
        assert!(!dead.exists());
        assert!(live.exists());
        assert!(other.exists());
    }

    /// Records puts; holds objects in memory.
    #[derive(Default)]
    struct Recorder {
        objects: BTreeMap<String, Vec<u8>>,
        puts: Vec<(String, String)>,
    }

    impl Destination for Recorder {
        fn describe(&self) -> String {
            "memory".into()
        }
        fn existing_sha256(&mut self, path: &str) -> Result<Option<String>> {
            Ok(self
                .objects
                .get(path)
                .map(|b| crate::online_roles::sha256_hex(b)))
        }
        fn put(&mut self, path: &str, bytes: &[u8], cache_control: &str) -> Result<()> {
            self.objects.insert(path.to_owned(), bytes.to_vec());
            self.puts.push((path.to_owned(), cache_control.to_owned()));
            Ok(())
        }
        fn finish(&mut self, _versions: &str) -> Result<()> {
            Ok(())
        }
        fn read_back(&self) -> Box<dyn tuf_client::Fetcher + '_> {
            unreachable!("not re-checked in these tests")
        }
    }

    const HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// A repository's published files (content only; these tests never verify).
    fn published() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let files = [
            "timestamp.json",
            "root.json",
            "2.root.json",
            "1.root.json",
            "10.root.json",
            "3.snapshot.json",
            "2.targets.json",
            "1.bins-0.json",
            "4.bins-1.json",
            "2.snapshot.json",
            ".timestamp.json.tmp-7",
            &format!("targets/keys/{HASH}.log.pub"),
            &format!("targets/{HASH}.z.txt"),
        ];
        for name in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, format!("content of {name}")).unwrap();
        }
        dir
    }

    fn publish_plain(dir: &Path, dest: &mut dyn Destination) -> Result<BTreeMap<Kind, Count>> {
        let items = plan(dir, dest)?;
        upload(&items, dest)
    }

    #[test]
    fn a_directory_destination_sweeps_the_temp_files_a_killed_publication_left() {
        let dir = published();
        let dest_dir = tempfile::tempdir().unwrap();
        let stale = [
            dest_dir.path().join(".timestamp.json.tmp-999999999"),
            dest_dir
                .path()
                .join(format!("targets/keys/.{HASH}.log.pub.tmp-999999998")),
        ];
        // pid 1 is always alive: a writer that is still running.
        let live = dest_dir.path().join(".2.snapshot.json.tmp-1");
        for file in stale.iter().chain([&live]) {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, b"half").unwrap();
        }
        let mut dest = DirDestination::new(dest_dir.path());
        publish_plain(dir.path(), &mut dest).unwrap();
        for file in &stale {
            assert!(!file.exists(), "{} was left", file.display());
        }
        assert!(live.exists(), "a live writer's temp file is kept");
        assert!(dest_dir.path().join("timestamp.json").is_file());
    }

    #[test]
    fn files_are_put_targets_first_then_metadata_then_roots_then_root_json_then_timestamp() {
        let dir = published();
        let mut dest = Recorder::default();
        publish_plain(dir.path(), &mut dest).unwrap();
        let order: Vec<&str> = dest.puts.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            order,
            [
                &format!("targets/{HASH}.z.txt") as &str,
                &format!("targets/keys/{HASH}.log.pub"),
                "1.bins-0.json",
                "4.bins-1.json",
                "2.targets.json",
                "2.snapshot.json",
                "3.snapshot.json",
                "1.root.json",
                "2.root.json",
                "10.root.json",
                "root.json",
                "timestamp.json",
            ]
        );
        let position = |p: &str| order.iter().position(|o| *o == p).unwrap();
        assert!(position("3.snapshot.json") < position("1.root.json"));
        assert!(position("10.root.json") < position("root.json"));
        let caches: BTreeMap<&str, &str> = dest
            .puts
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .collect();
        assert_eq!(caches["timestamp.json"], NO_CACHE);
        assert_eq!(caches["root.json"], NO_CACHE);
        assert_eq!(caches["2.root.json"], IMMUTABLE);
        assert_eq!(caches["3.snapshot.json"], IMMUTABLE);
        assert_eq!(caches[&format!("targets/{HASH}.z.txt") as &str], IMMUTABLE);
    }

    #[test]
    fn unchanged_objects_are_skipped_and_mutable_ones_replaced() {
        let dir = published();
        let mut dest = Recorder::default();
        publish_plain(dir.path(), &mut dest).unwrap();
        dest.puts.clear();
        std::fs::write(dir.path().join("timestamp.json"), b"timestamp v2").unwrap();
        std::fs::write(dir.path().join("4.snapshot.json"), b"snapshot v4").unwrap();
        let counts = publish_plain(dir.path(), &mut dest).unwrap();
        let order: Vec<&str> = dest.puts.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(order, ["4.snapshot.json", "timestamp.json"]);
        assert_eq!(
            counts[&Kind::Versioned],
            Count {
                uploaded: 1,
                skipped: 5
            }
        );
        assert_eq!(
            counts[&Kind::Timestamp],
            Count {
                uploaded: 1,
                skipped: 0
            }
        );
        assert_eq!(dest.objects["timestamp.json"], b"timestamp v2");
    }

    #[test]
    fn a_versioned_file_that_differs_at_the_destination_is_refused_and_nothing_is_written() {
        let dir = published();
        let mut dest = Recorder::default();
        publish_plain(dir.path(), &mut dest).unwrap();
        let before = dest.objects.clone();
        dest.puts.clear();
        dest.objects
            .insert("2.targets.json".into(), b"tampered".to_vec());
        let tampered = dest.objects.clone();
        std::fs::write(dir.path().join("timestamp.json"), b"timestamp v2").unwrap();
        std::fs::write(dir.path().join("5.root.json"), b"root v5").unwrap();
        let err = publish_plain(dir.path(), &mut dest).unwrap_err();
        assert!(format!("{err:#}").contains("2.targets.json"), "{err:#}");
        assert!(dest.puts.is_empty(), "{:?}", dest.puts);
        assert_eq!(dest.objects, tampered);
        assert_ne!(dest.objects, before);
    }

    #[test]
    fn paths_that_leave_the_destination_are_refused() {
        for bad in ["", "../x", "a/../b", "/abs", "a//b", "a\\b", "./a", "a\0b"] {
            assert!(check_relative(bad).is_err(), "{bad:?}");
        }
        check_relative("targets/a/b.txt").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut dest = DirDestination::new(&dir.path().join("out"));
        assert!(dest.put("../escape", b"x", SHORT).is_err());
        dest.put("targets/a/b.txt", b"x", IMMUTABLE).unwrap();
        assert_eq!(
            dest.existing_sha256("targets/a/b.txt").unwrap(),
            Some(crate::online_roles::sha256_hex(b"x"))
        );
        assert_eq!(dest.existing_sha256("missing.json").unwrap(), None);
        let names: BTreeSet<_> = std::fs::read_dir(dir.path().join("out/targets/a"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temp file left: {names:?}");
    }

    #[test]
    fn cache_headers_follow_mutability() {
        assert_eq!(cache_control("timestamp.json"), NO_CACHE);
        assert_eq!(cache_control("root.json"), NO_CACHE);
        assert_eq!(cache_control("7.root.json"), IMMUTABLE);
        assert_eq!(cache_control("12.bins-3f.json"), IMMUTABLE);
        assert_eq!(cache_control("snapshot.json"), SHORT);
        assert_eq!(cache_control("targets/plain.txt"), SHORT);
        assert_eq!(cache_control("01.root.json"), SHORT);
    }
}
