//! `publish --to s3://bucket/prefix`: an S3-compatible bucket (AWS S3,
//! Cloudflare R2, MinIO, moto) as a [`Destination`], through `object_store`.
//!
//! - Credentials come from the environment as `object_store` reads it
//!   (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`,
//!   web identity, ECS task roles, EC2 instance metadata); shared profile
//!   files (`~/.aws/credentials`) are not read. They are never printed: every
//!   error from the store is reduced to the operation, the object and the
//!   kind of failure whenever its text quotes a credential or a signature.
//! - `--endpoint-url` points at a non-AWS service. Plain `http://` is
//!   allowed only to a loopback address (`127.0.0.0/8`, `::1`, `localhost`),
//!   whatever `AWS_ALLOW_HTTP` says; anything else must be `https://`.
//! - `--path-style` addresses objects as `<endpoint>/<bucket>/<key>`; without
//!   it requests go to `<bucket>.<endpoint host>` (virtual-hosted style), except
//!   for an endpoint given as an IP address or `localhost`, which has no
//!   per-bucket host names and is always addressed path style.
//! - Each object carries its SHA-256 as user metadata (`x-amz-meta-sha256`),
//!   so deciding whether a file is unchanged costs one HEAD request; an object
//!   another tool uploaded (no such metadata) is downloaded and hashed.
//! - An S3 PUT replaces an object atomically: a reader sees the old bytes or
//!   the new ones, never a mix. The order of the PUTs (what makes a publish
//!   that stops half-way harmless to clients) is `publish`'s business.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, BackoffConfig, GetOptions, ObjectStore, PutOptions, PutPayload,
    RetryConfig,
};
use tuf_client::{FetchError, Fetcher};
use tuf_metadata::sha256_hex;

use crate::publish::{Destination, S3Options};

/// The user-metadata key (`x-amz-meta-sha256`) holding an object's SHA-256.
const SHA256_METADATA: &str = "sha256";

/// Environment variables whose values must never appear in a message.
const SECRET_VARIABLES: &[&str] = &[
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

/// Fragments of request-signing material: an error quoting one of these is
/// never shown verbatim either (S3 echoes the string it expected signed).
const SIGNING_MARKERS: &[&str] = &[
    "signature",
    "credential=",
    "x-amz-security-token",
    "x-amz-credential",
    "stringtosign",
    "canonicalrequest",
    "authorization",
];

/// Opens `url` (`s3://<bucket>[/<prefix>]`) as a publish destination.
pub fn open(url: &str, opts: &S3Options) -> Result<Box<dyn Destination>> {
    Ok(Box::new(S3Destination::open(url, opts)?))
}

/// A bucket (and key prefix) that `publish` writes a repository into.
pub struct S3Destination {
    store: AmazonS3,
    bucket: String,
    prefix: Vec<String>,
    /// `s3://bucket/prefix`, plus the endpoint when one was given.
    label: String,
    runtime: tokio::runtime::Runtime,
}

/// Where an `s3://` URL points: bucket and key prefix (without slashes at
/// either end; empty for the bucket's root).
#[derive(Debug, PartialEq, Eq)]
struct BucketUrl {
    bucket: String,
    prefix: Vec<String>,
}

fn parse_url(url: &str) -> Result<BucketUrl> {
    let Some(rest) = url.strip_prefix("s3://") else {
        bail!("{url}: not an s3:// URL (expected s3://<bucket>[/<prefix>])");
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && !bucket.starts_with(['.', '-'])
        && !bucket.ends_with(['.', '-']);
    if !bucket_ok {
        bail!(
            "{url}: {bucket:?} is not a bucket name (3 to 63 of a-z 0-9 . -, \
             starting and ending with a letter or digit)"
        );
    }
    let prefix: Vec<String> = prefix
        .split('/')
        .filter(|part| !part.is_empty())
        .map(str::to_owned)
        .collect();
    for part in &prefix {
        if part == "." || part == ".." {
            bail!("{url}: the key prefix may not contain {part:?}");
        }
    }
    Ok(BucketUrl {
        bucket: bucket.to_owned(),
        prefix,
    })
}

/// An endpoint URL taken apart: scheme, host (brackets kept for IPv6) and
/// everything after the host (port and path).
#[derive(Debug, PartialEq, Eq)]
struct Endpoint<'a> {
    https: bool,
    host: &'a str,
    rest: &'a str,
}

fn parse_endpoint(endpoint: &str) -> Result<Endpoint<'_>> {
    let (https, after) = if let Some(after) = endpoint.strip_prefix("https://") {
        (true, after)
    } else if let Some(after) = endpoint.strip_prefix("http://") {
        (false, after)
    } else {
        bail!("endpoint {endpoint}: expected an http:// or https:// URL");
    };
    if after.contains(['?', '#']) {
        // Never echo it: a query string may carry a presigned signature.
        bail!("the endpoint URL may not have a query string or fragment");
    }
    let authority_end = after.find('/').unwrap_or(after.len());
    let authority = &after[..authority_end];
    if authority.contains('@') {
        // Never echo it: whatever precedes '@' is a user name and password.
        bail!(
            "the endpoint URL may not carry credentials (user:password@): use the AWS_* variables"
        );
    }
    let host_end = if authority.starts_with('[') {
        authority.find(']').map(|i| i + 1)
    } else {
        Some(authority.find(':').unwrap_or(authority.len()))
    };
    let Some(host_end) = host_end.filter(|&end| end > 0 && end <= authority.len()) else {
        bail!("endpoint {endpoint}: no host name");
    };
    Ok(Endpoint {
        https,
        host: &after[..host_end],
        rest: &after[host_end..],
    })
}

impl Endpoint<'_> {
    /// 127.0.0.0/8, ::1 or localhost: traffic that never leaves the machine.
    fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// An address with no per-bucket host names (IP literal, localhost).
    fn is_bare_address(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok()
    }
}

/// The endpoint in force: `--endpoint-url`, else what `object_store` would
/// take from the environment.
fn effective_endpoint(opts: &S3Options) -> Option<String> {
    opts.endpoint_url.clone().or_else(|| {
        ["AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    })
}

impl S3Destination {
    /// Builds the client (nothing is sent yet).
    pub fn open(url: &str, opts: &S3Options) -> Result<S3Destination> {
        let BucketUrl { bucket, prefix } = parse_url(url)?;
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&bucket)
            // Fail in seconds, not minutes, when the endpoint is unreachable;
            // a publish that stops part-way is re-run, and skips what landed.
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
            });
        if let Some(region) = &opts.region {
            builder = builder.with_region(region);
        }
        let endpoint = effective_endpoint(opts);
        let mut label = format!("s3://{bucket}");
        for part in &prefix {
            label.push('/');
            label.push_str(part);
        }
        match &endpoint {
            Some(endpoint_url) => {
                let endpoint = parse_endpoint(endpoint_url)?;
                let loopback = endpoint.is_loopback();
                if !endpoint.https && !loopback {
                    bail!(
                        "endpoint {}: plain http:// is allowed only to a loopback address \
                         (127.0.0.1, ::1, localhost); use https://",
                        endpoint_url
                    );
                }
                let path_style = opts.path_style || endpoint.is_bare_address();
                let base = if path_style {
                    endpoint_url.trim_end_matches('/').to_owned()
                } else {
                    let scheme = if endpoint.https { "https" } else { "http" };
                    format!(
                        "{scheme}://{bucket}.{}{}",
                        endpoint.host,
                        endpoint.rest.trim_end_matches('/')
                    )
                };
                builder = builder
                    .with_endpoint(base)
                    .with_virtual_hosted_style_request(!path_style)
                    .with_allow_http(loopback);
                label.push_str(&format!(" (endpoint {endpoint_url})"));
            }
            None => {
                builder = builder
                    .with_virtual_hosted_style_request(!opts.path_style)
                    .with_allow_http(false);
            }
        }
        let store = builder
            .build()
            .map_err(|e| anyhow::anyhow!(redacted("configure", &label, &e)))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the I/O runtime for S3")?;
        Ok(S3Destination {
            store,
            bucket,
            prefix,
            label,
            runtime,
        })
    }

    /// The object key of repository path `path` (`targets/a/<hash>.b`).
    fn key(&self, path: &str) -> Result<ObjectPath> {
        let mut key = self.prefix.join("/");
        if !key.is_empty() {
            key.push('/');
        }
        key.push_str(path);
        ObjectPath::parse(&key).map_err(|_| {
            anyhow::anyhow!(
                "{path}: not a name an S3 object can have here \
                 (empty segments, . or .., and characters such as % # [ ] {{ }} are refused)"
            )
        })
    }

    /// HEAD of `key`: its size and attributes, or None if there is none.
    fn head(&self, key: &ObjectPath) -> Result<Option<(u64, Attributes)>, object_store::Error> {
        let head = self.runtime.block_on(
            self.store
                .get_opts(key, GetOptions::default().with_head(true)),
        );
        match head {
            Ok(result) => Ok(Some((result.meta.size, result.attributes))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// GET of `key`, refused without reading it if it is over `max_len`.
    fn get(&self, key: &ObjectPath, max_len: u64) -> Result<Option<Vec<u8>>, GetError> {
        self.runtime.block_on(async {
            let result = match self.store.get_opts(key, GetOptions::default()).await {
                Ok(result) => result,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(GetError::Store(e)),
            };
            if result.meta.size > max_len {
                return Err(GetError::TooLong);
            }
            let bytes = result.bytes().await.map_err(GetError::Store)?;
            if bytes.len() as u64 > max_len {
                return Err(GetError::TooLong);
            }
            Ok(Some(bytes.to_vec()))
        })
    }
}

/// Why a GET gave no bytes.
enum GetError {
    TooLong,
    Store(object_store::Error),
}

impl Destination for S3Destination {
    fn describe(&self) -> String {
        self.label.clone()
    }

    fn existing_sha256(&mut self, path: &str) -> Result<Option<String>> {
        let key = self.key(path)?;
        let attributes = match self.head(&key) {
            Ok(Some((_, attributes))) => attributes,
            Ok(None) => return Ok(None),
            // Also what S3 answers for a missing key to a caller that may
            // not list the bucket: never guess "absent", since that would
            // overwrite immutable files unseen.
            Err(e @ object_store::Error::PermissionDenied { .. }) => bail!(
                "{} (check the credentials; publishing needs s3:GetObject, s3:ListBucket and s3:PutObject)",
                redacted("HEAD", key.as_ref(), &e)
            ),
            Err(e) => bail!(redacted("HEAD", key.as_ref(), &e)),
        };
        let recorded = attributes
            .get(&Attribute::Metadata(SHA256_METADATA.into()))
            .map(|v| v.as_ref().to_ascii_lowercase())
            .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()));
        if let Some(digest) = recorded {
            return Ok(Some(digest));
        }
        // Uploaded by another tool: hash what is there.
        match self.get(&key, u64::MAX) {
            Ok(Some(bytes)) => Ok(Some(sha256_hex(&bytes))),
            Ok(None) => Ok(None),
            Err(GetError::TooLong) => bail!("GET {key}: longer than any file can be"),
            Err(GetError::Store(e)) => bail!(redacted("GET", key.as_ref(), &e)),
        }
    }

    fn put(&mut self, path: &str, bytes: &[u8], cache_control: &str) -> Result<()> {
        let key = self.key(path)?;
        let content_type = if path.ends_with(".json") {
            "application/json"
        } else {
            "application/octet-stream"
        };
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::CacheControl, cache_control.to_owned().into());
        attributes.insert(Attribute::ContentType, content_type.into());
        attributes.insert(
            Attribute::Metadata(SHA256_METADATA.into()),
            sha256_hex(bytes).into(),
        );
        let options = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        let payload = PutPayload::from(bytes.to_vec());
        match self
            .runtime
            .block_on(self.store.put_opts(&key, payload, options))
        {
            Ok(_) => Ok(()),
            // A PUT creates the object: "not found" can only be the bucket.
            Err(object_store::Error::NotFound { .. }) => bail!(
                "PUT {key}: there is no bucket {:?} at this endpoint \
                 (or the service wants --path-style)",
                self.bucket
            ),
            Err(e) => bail!(redacted("PUT", key.as_ref(), &e)),
        }
    }

    fn finish(&mut self, _versions: &str) -> Result<()> {
        // Every PUT is already visible; there is nothing to seal.
        Ok(())
    }

    fn read_back(&self) -> Box<dyn Fetcher + '_> {
        Box::new(S3Fetcher { destination: self })
    }
}

/// Reads a published repository back through the same client and
/// credentials, for `publish`'s check of what clients will see.
struct S3Fetcher<'a> {
    destination: &'a S3Destination,
}

impl Fetcher for S3Fetcher<'_> {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
        let url = format!("{}/{path}", self.destination.label_url());
        let key = self.destination.key(path).map_err(|e| FetchError::Other {
            url: url.clone(),
            why: e.to_string(),
        })?;
        let other = |e: &object_store::Error| FetchError::Other {
            url: url.clone(),
            why: redacted("read", key.as_ref(), e),
        };
        match self.destination.head(&key) {
            Ok(None) => return Err(FetchError::NotFound(url)),
            Ok(Some((size, _))) if size > max_len => {
                return Err(FetchError::TooLong { url, max: max_len });
            }
            Ok(Some(_)) => {}
            Err(e) => return Err(other(&e)),
        }
        match self.destination.get(&key, max_len) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(FetchError::NotFound(url)),
            Err(GetError::TooLong) => Err(FetchError::TooLong { url, max: max_len }),
            Err(GetError::Store(e)) => Err(other(&e)),
        }
    }

    fn describe(&self) -> String {
        self.destination.label.clone()
    }
}

impl S3Destination {
    /// `s3://bucket/prefix` without the endpoint note.
    fn label_url(&self) -> &str {
        self.label
            .split_once(" (endpoint ")
            .map_or(self.label.as_str(), |(url, _)| url)
    }
}

/// `<operation> <object>: <what went wrong>`, with the store's own words
/// only if they quote no credential and no signing material; otherwise
/// (and for very long answers) just the kind of failure.
fn redacted(operation: &str, object: &str, error: &object_store::Error) -> String {
    let kind = error_kind(error);
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = text.trim_end_matches([':', ' ']);
    if quotes_secrets(text) {
        return format!(
            "{operation} {object}: {kind} (the service's message is withheld: it quotes credentials or signing material)"
        );
    }
    const MAX: usize = 600;
    if text.len() > MAX {
        let mut cut = MAX;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        return format!("{operation} {object}: {kind}: {}…", &text[..cut]);
    }
    format!("{operation} {object}: {kind}: {text}")
}

/// Does `text` contain a secret from the environment or signing material?
fn quotes_secrets(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if SIGNING_MARKERS.iter().any(|m| lower.contains(m)) {
        return true;
    }
    SECRET_VARIABLES.iter().any(|name| {
        std::env::var(name)
            .ok()
            .filter(|secret| secret.len() >= 4)
            .is_some_and(|secret| text.contains(&secret))
    })
}

fn error_kind(error: &object_store::Error) -> &'static str {
    use object_store::Error as E;
    match error {
        E::NotFound { .. } => "not found",
        E::PermissionDenied { .. } => "permission denied",
        E::Unauthenticated { .. } => "not authenticated (check the AWS_* credentials)",
        E::Precondition { .. } => "precondition failed",
        E::AlreadyExists { .. } => "already exists",
        E::NotModified { .. } => "not modified",
        E::NotSupported { .. } | E::NotImplemented { .. } => "not supported by this service",
        E::InvalidPath { .. } => "invalid object name",
        E::UnknownConfigurationKey { .. } => "bad configuration",
        E::Generic { .. } => "request failed",
        _ => "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_bucket_and_a_prefix() {
        assert_eq!(
            parse_url("s3://tuf/prod/").unwrap(),
            BucketUrl {
                bucket: "tuf".into(),
                prefix: vec!["prod".into()]
            }
        );
        assert_eq!(
            parse_url("s3://my-bucket").unwrap().prefix,
            Vec::<String>::new()
        );
        assert_eq!(
            parse_url("s3://b.example/a//b").unwrap().prefix,
            vec!["a".to_owned(), "b".to_owned()]
        );
        for bad in [
            "https://tuf/prod",
            "s3://",
            "s3://UPPER/x",
            "s3://ab",
            "s3://tuf/../x",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for (url, https, loopback, bare) in [
            ("http://127.0.0.1:9000", false, true, true),
            ("http://localhost:9000/", false, true, true),
            ("http://[::1]:9000", false, true, true),
            ("http://10.0.0.1:9000", false, false, true),
            ("https://s3.example.com", true, false, false),
            ("http://s3.example.com:80/x", false, false, false),
        ] {
            let e = parse_endpoint(url).unwrap();
            assert_eq!(e.https, https, "{url}");
            assert_eq!(e.is_loopback(), loopback, "{url}");
            assert_eq!(e.is_bare_address(), bare, "{url}");
        }
        assert!(parse_endpoint("ftp://x").is_err());
        let err = parse_endpoint("https://s3.example.com/?X-Amz-Signature=abc123")
            .err()
            .unwrap()
            .to_string();
        assert!(!err.contains("abc123"), "{err}");
        let err = parse_endpoint("https://user:hunter22@s3.example.com")
            .err()
            .unwrap()
            .to_string();
        assert!(!err.contains("hunter22"), "{err}");
    }

    #[test]
    fn signing_material_is_withheld() {
        assert!(quotes_secrets(
            "<Error><Code>SignatureDoesNotMatch</Code><StringToSign>AWS4</StringToSign></Error>"
        ));
        assert!(!quotes_secrets(
            "Error performing PUT http://127.0.0.1:1/tuf/prod/1.root.json - connection refused"
        ));
    }
}
