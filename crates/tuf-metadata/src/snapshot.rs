//! Snapshot and timestamp metadata: versions (and optionally lengths and
//! hashes) of other metadata files, which stop mix-and-match and freeze attacks.

use std::collections::BTreeMap;

use crate::fields::{Fields, FormatError, Problem, Within, err, int, object_with};
use crate::json::{Object, Value};
use crate::mode::ReadMode;
use crate::root::Common;
use crate::targets::{hashes_from, opt_count};

/// One entry of `meta`: the version of a metadata file, and optionally its
/// length and hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaFile {
    /// The file's `version`.
    pub version: u64,
    /// Its length in bytes, if published.
    pub length: Option<u64>,
    /// Its hashes, if published.
    pub hashes: Option<BTreeMap<String, String>>,
    /// Unknown fields, kept.
    pub unrecognized: Object,
}

impl MetaFile {
    fn from_value(value: Value) -> Result<Self, FormatError> {
        let mut fields = Fields::new(value)?;
        let version = fields.count("version")?;
        let length = opt_count(fields.take_opt("length")).within("length")?;
        let hashes = match fields.take_opt("hashes") {
            None => None,
            Some(h) => Some(hashes_from(h).within("hashes")?),
        };
        Ok(MetaFile {
            version,
            length,
            hashes,
            unrecognized: fields.rest(),
        })
    }

    /// The entry as published.
    pub fn to_value(&self) -> Value {
        let mut entries = vec![("version", int(self.version))];
        if let Some(length) = self.length {
            entries.push(("length", int(length)));
        }
        if let Some(hashes) = &self.hashes {
            let map = hashes
                .iter()
                .map(|(alg, d)| (alg.clone(), Value::from(d.as_str())))
                .collect();
            entries.push(("hashes", Value::Object(map)));
        }
        object_with(entries, &self.unrecognized)
    }
}

fn read_meta(value: Value, mode: ReadMode) -> Result<BTreeMap<String, MetaFile>, FormatError> {
    let mut meta = BTreeMap::new();
    for (name, entry) in crate::fields::as_object(value)? {
        mode.check_meta_name(&name)?;
        let file = MetaFile::from_value(entry).within(&name)?;
        meta.insert(name, file);
    }
    Ok(meta)
}

fn meta_to_value(meta: &BTreeMap<String, MetaFile>) -> Value {
    Value::Object(
        meta.iter()
            .map(|(n, m)| (n.clone(), m.to_value()))
            .collect(),
    )
}

/// Snapshot metadata (`_type` `snapshot`): versions of every targets role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// version, expiry, spec version.
    pub common: Common,
    /// `<role>.json` → its version (and maybe length and hashes).
    pub meta: BTreeMap<String, MetaFile>,
    /// Unknown fields of `signed`, kept.
    pub unrecognized: Object,
}

impl Snapshot {
    /// The `_type` value.
    pub const TYPE: &'static str = "snapshot";

    pub(crate) fn from_fields(mut fields: Fields, mode: ReadMode) -> Result<Self, FormatError> {
        let common = Common::read(&mut fields, mode)?;
        let meta = read_meta(fields.take("meta")?, mode).within("meta")?;
        Ok(Snapshot {
            common,
            meta,
            unrecognized: fields.rest(),
        })
    }

    /// The `signed` object as it will be encoded and signed.
    pub fn to_value(&self) -> Value {
        let mut entries = Vec::from(self.common.entries(Self::TYPE));
        entries.push(("meta", meta_to_value(&self.meta)));
        object_with(entries, &self.unrecognized)
    }
}

/// Timestamp metadata (`_type` `timestamp`): the current snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timestamp {
    /// version, expiry, spec version.
    pub common: Common,
    /// The `snapshot.json` entry.
    pub snapshot: MetaFile,
    /// Unknown fields of `signed`, kept.
    pub unrecognized: Object,
}

impl Timestamp {
    /// The `_type` value.
    pub const TYPE: &'static str = "timestamp";

    pub(crate) fn from_fields(mut fields: Fields, mode: ReadMode) -> Result<Self, FormatError> {
        let common = Common::read(&mut fields, mode)?;
        let mut meta = read_meta(fields.take("meta")?, mode).within("meta")?;
        let snapshot = meta
            .remove("snapshot.json")
            .ok_or_else(|| err("meta.snapshot.json", Problem::Missing))?;
        if let Some(other) = meta.into_keys().next() {
            return Err(err(
                format!("meta.{other}"),
                Problem::BadRoleName(other, "timestamp lists only snapshot.json"),
            ));
        }
        Ok(Timestamp {
            common,
            snapshot,
            unrecognized: fields.rest(),
        })
    }

    /// The `signed` object as it will be encoded and signed.
    pub fn to_value(&self) -> Value {
        let mut entries = Vec::from(self.common.entries(Self::TYPE));
        let meta = Value::Object(Object::from([(
            "snapshot.json".to_owned(),
            self.snapshot.to_value(),
        )]));
        entries.push(("meta", meta));
        object_with(entries, &self.unrecognized)
    }
}
