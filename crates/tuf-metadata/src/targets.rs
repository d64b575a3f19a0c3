//! Targets metadata: target files, and delegations to other roles — listed
//! by name, or as succinct hash bins (TAP 15).

use std::collections::{BTreeMap, BTreeSet};

use crate::common::target_path_problem;
use crate::fields::{
    Fields, FormatError, Problem, Within, as_count, as_object, as_string, as_string_list, err, int,
    object_with, string_array,
};
use crate::json::{Object, Value};
use crate::keys::{Key, KeyId, keys_from_value, keys_to_value};
use crate::metadata::Limits;
use crate::mode::ReadMode;
use crate::root::{Common, RoleKeys};

/// Targets metadata (`_type` `targets`), top-level or delegated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Targets {
    /// version, expiry, spec version.
    pub common: Common,
    /// Target files by path.
    pub targets: BTreeMap<String, TargetFile>,
    /// Delegations, if any.
    pub delegations: Option<Delegations>,
    /// Unknown fields of `signed`, kept.
    pub unrecognized: Object,
}

/// One target file's length and hashes (`custom` and others kept verbatim).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetFile {
    /// Length in bytes.
    pub length: u64,
    /// Hash algorithm → hex digest.
    pub hashes: BTreeMap<String, String>,
    /// `custom` and any other fields, kept.
    pub unrecognized: Object,
}

/// Keys and delegated roles of a targets role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delegations {
    /// Keys the delegated roles use.
    pub keys: BTreeMap<KeyId, Key>,
    /// The roles, listed or succinct.
    pub roles: DelegatedRoles,
    /// Unknown fields, kept.
    pub unrecognized: Object,
}

/// Either an ordered list of roles or one succinct hash-bin description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DelegatedRoles {
    /// `roles`: searched in order.
    Listed(Vec<DelegatedRole>),
    /// `succinct_roles` (TAP 15).
    Succinct(SuccinctRoles),
}

/// A delegated role listed by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelegatedRole {
    /// Role name (also its file name).
    pub name: String,
    /// Key ids and threshold.
    pub keys: RoleKeys,
    /// Stop searching further roles when this one matches.
    pub terminating: bool,
    /// Either path patterns or hash prefixes decide which targets it covers.
    pub scope: RoleScope,
}

/// Which targets a delegated role is trusted for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleScope {
    /// `paths`: shell-style patterns.
    Paths(Vec<String>),
    /// `path_hash_prefixes`: hex prefixes of SHA-256(target path).
    HashPrefixes(Vec<String>),
}

/// Hash bins: 2^bit_length roles named `<prefix>-<hex>`, all with the same keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuccinctRoles {
    /// Key ids and threshold shared by every bin.
    pub keys: RoleKeys,
    /// Number of leading hash bits that pick the bin (1..=32).
    pub bit_length: u32,
    /// Bin names start with this and a `-`.
    pub name_prefix: String,
}

impl SuccinctRoles {
    /// How many bins there are.
    pub fn bin_count(&self) -> u64 {
        1u64 << self.bit_length
    }

    /// The name of bin `n`, hex-padded as python-tuf and go-tuf write it.
    pub fn bin_name(&self, n: u64) -> String {
        let width = self.bit_length.div_ceil(4) as usize;
        format!("{}-{n:0width$x}", self.name_prefix)
    }

    /// The bin responsible for `target_path`.
    pub fn bin_for_target(&self, target_path: &str) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, target_path.as_bytes());
        let head = u32::from_be_bytes(digest.as_ref()[..4].try_into().expect("4 bytes"));
        self.bin_name(u64::from(head >> (32 - self.bit_length)))
    }

    /// True if `name` is one of the bins.
    pub fn is_bin(&self, name: &str) -> bool {
        let Some(suffix) = name
            .strip_prefix(self.name_prefix.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
        else {
            return false;
        };
        let width = self.bit_length.div_ceil(4) as usize;
        suffix.len() == width
            && suffix
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && u64::from_str_radix(suffix, 16).is_ok_and(|n| n < self.bin_count())
    }
}

impl Targets {
    /// The `_type` value.
    pub const TYPE: &'static str = "targets";

    pub(crate) fn from_fields(mut fields: Fields, limits: &Limits) -> Result<Self, FormatError> {
        let common = Common::read(&mut fields, limits.mode)?;
        let targets = read_target_files(fields.take("targets")?).within("targets")?;
        let delegations = match fields.take_opt("delegations") {
            None => None,
            Some(value) => Some(Delegations::from_value(value, limits).within("delegations")?),
        };
        Ok(Targets {
            common,
            targets,
            delegations,
            unrecognized: fields.rest(),
        })
    }

    /// The `signed` object as it will be encoded and signed.
    pub fn to_value(&self) -> Value {
        let targets = Value::Object(
            self.targets
                .iter()
                .map(|(path, file)| (path.clone(), file.to_value()))
                .collect(),
        );
        let mut entries = Vec::from(self.common.entries(Self::TYPE));
        entries.push(("targets", targets));
        if let Some(d) = &self.delegations {
            entries.push(("delegations", d.to_value()));
        }
        object_with(entries, &self.unrecognized)
    }
}

impl TargetFile {
    fn from_value(value: Value) -> Result<Self, FormatError> {
        let mut fields = Fields::new(value)?;
        let length = fields.count("length")?;
        let hashes = hashes_from(fields.take("hashes")?).within("hashes")?;
        if hashes.is_empty() {
            return Err(err("hashes", Problem::Missing));
        }
        Ok(TargetFile {
            length,
            hashes,
            unrecognized: fields.rest(),
        })
    }

    /// The target file object as published.
    pub fn to_value(&self) -> Value {
        let hashes = Value::Object(
            self.hashes
                .iter()
                .map(|(alg, d)| (alg.clone(), Value::from(d.as_str())))
                .collect(),
        );
        object_with(
            [("length", int(self.length)), ("hashes", hashes)],
            &self.unrecognized,
        )
    }
}

impl Delegations {
    fn from_value(value: Value, limits: &Limits) -> Result<Self, FormatError> {
        let mut fields = Fields::new(value)?;
        let keys = keys_from_value(fields.take("keys")?, limits.max_keys).within("keys")?;
        let mode = limits.mode;
        let roles = match (fields.take_opt("roles"), fields.take_opt("succinct_roles")) {
            (Some(list), None) => {
                DelegatedRoles::Listed(read_listed_roles(list, &keys, mode).within("roles")?)
            }
            (None, Some(succinct)) => DelegatedRoles::Succinct(
                read_succinct(succinct, &keys, mode).within("succinct_roles")?,
            ),
            _ => {
                return Err(err(
                    "",
                    Problem::BadDelegation(
                        "exactly one of roles and succinct_roles must be present".into(),
                    ),
                ));
            }
        };
        Ok(Delegations {
            keys,
            roles,
            unrecognized: fields.rest(),
        })
    }

    /// The delegations object as published.
    pub fn to_value(&self) -> Value {
        let roles = match &self.roles {
            DelegatedRoles::Listed(list) => (
                "roles",
                Value::Array(list.iter().map(DelegatedRole::to_value).collect()),
            ),
            DelegatedRoles::Succinct(s) => {
                let mut entries = Vec::from(s.keys.entries());
                entries.push(("bit_length", int(u64::from(s.bit_length))));
                entries.push(("name_prefix", Value::from(s.name_prefix.as_str())));
                ("succinct_roles", object_with(entries, &s.keys.unrecognized))
            }
        };
        object_with(
            [("keys", keys_to_value(&self.keys)), roles],
            &self.unrecognized,
        )
    }

    /// The key ids and threshold that sign for delegated role `name`, if it
    /// is delegated here.
    pub fn role_keys(&self, name: &str) -> Option<&RoleKeys> {
        match &self.roles {
            DelegatedRoles::Listed(list) => list.iter().find(|r| r.name == name).map(|r| &r.keys),
            DelegatedRoles::Succinct(s) => s.is_bin(name).then_some(&s.keys),
        }
    }
}

fn read_target_files(value: Value) -> Result<BTreeMap<String, TargetFile>, FormatError> {
    let mut targets = BTreeMap::new();
    for (path, file) in as_object(value)? {
        if let Some(why) = target_path_problem(&path) {
            return Err(err(path.clone(), Problem::BadTargetPath(path, why)));
        }
        let file = TargetFile::from_value(file).within(&path)?;
        targets.insert(path, file);
    }
    Ok(targets)
}

fn read_listed_roles(
    value: Value,
    keys: &BTreeMap<KeyId, Key>,
    mode: ReadMode,
) -> Result<Vec<DelegatedRole>, FormatError> {
    let Value::Array(items) = value else {
        return Err(crate::fields::wrong_type("array", &value));
    };
    let mut names = BTreeSet::new();
    let mut roles = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let role =
            read_delegated_role(item, keys, mode).map_err(|e| e.within(&format!("[{i}]")))?;
        if !names.insert(role.name.clone()) {
            return Err(err(
                format!("[{i}].name"),
                Problem::BadRoleName(role.name, "delegated twice"),
            ));
        }
        roles.push(role);
    }
    Ok(roles)
}

fn read_delegated_role(
    item: Value,
    keys: &BTreeMap<KeyId, Key>,
    mode: ReadMode,
) -> Result<DelegatedRole, FormatError> {
    let mut fields = Fields::new(item)?;
    let name = fields.string("name")?;
    if let Some(why) = mode.delegated_role_name_problem(&name) {
        return Err(err("name", Problem::BadRoleName(name, why)));
    }
    let mut role_keys = RoleKeys::from_fields(&mut fields)?;
    role_keys.check_keys_present(keys)?;
    let terminating = match fields.take("terminating")? {
        Value::Bool(b) => b,
        other => return Err(crate::fields::wrong_type("boolean", &other).within("terminating")),
    };
    let scope = match (
        fields.take_opt("paths"),
        fields.take_opt("path_hash_prefixes"),
    ) {
        (Some(p), None) => RoleScope::Paths(as_string_list(p).within("paths")?),
        (None, Some(h)) => RoleScope::HashPrefixes(as_string_list(h).within("path_hash_prefixes")?),
        _ => {
            return Err(err(
                "",
                Problem::BadDelegation(
                    "exactly one of paths and path_hash_prefixes must be present".into(),
                ),
            ));
        }
    };
    role_keys.unrecognized = fields.rest();
    Ok(DelegatedRole {
        name,
        keys: role_keys,
        terminating,
        scope,
    })
}

fn read_succinct(
    value: Value,
    keys: &BTreeMap<KeyId, Key>,
    mode: ReadMode,
) -> Result<SuccinctRoles, FormatError> {
    let mut fields = Fields::new(value)?;
    let mut role_keys = RoleKeys::from_fields(&mut fields)?;
    role_keys.check_keys_present(keys)?;
    let bit_length = fields.count("bit_length")?;
    if !(1..=32).contains(&bit_length) {
        return Err(err(
            "bit_length",
            Problem::OutOfRange(format!("bit_length must be 1 to 32, found {bit_length}")),
        ));
    }
    let name_prefix = fields.string("name_prefix")?;
    if let Some(why) = mode.bin_prefix_problem(&name_prefix) {
        return Err(err("name_prefix", Problem::BadRoleName(name_prefix, why)));
    }
    role_keys.unrecognized = fields.rest();
    Ok(SuccinctRoles {
        keys: role_keys,
        bit_length: bit_length as u32,
        name_prefix,
    })
}

impl DelegatedRole {
    /// The role object as published.
    pub fn to_value(&self) -> Value {
        let mut entries = vec![("name", Value::from(self.name.as_str()))];
        entries.extend(self.keys.entries());
        entries.push(("terminating", Value::Bool(self.terminating)));
        entries.push(match &self.scope {
            RoleScope::Paths(p) => ("paths", string_array(p)),
            RoleScope::HashPrefixes(h) => ("path_hash_prefixes", string_array(h)),
        });
        object_with(entries, &self.keys.unrecognized)
    }
}

/// Reads a non-negative integer from an optional field (snapshot/timestamp meta).
pub(crate) fn opt_count(value: Option<Value>) -> Result<Option<u64>, FormatError> {
    value.map(|v| as_count(&v)).transpose()
}

/// Reads a `hashes` object of strings.
pub(crate) fn hashes_from(value: Value) -> Result<BTreeMap<String, String>, FormatError> {
    as_object(value)?
        .into_iter()
        .map(|(alg, d)| {
            let digest = as_string(d).within(&alg)?;
            Ok((alg, digest))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bins(bit_length: u32) -> SuccinctRoles {
        SuccinctRoles {
            keys: RoleKeys {
                keyids: vec![],
                threshold: 1,
                unrecognized: Object::new(),
            },
            bit_length,
            name_prefix: "bin".into(),
        }
    }

    #[test]
    fn bin_names_are_padded_hex() {
        assert_eq!(bins(14).bin_name(0), "bin-0000");
        assert_eq!(bins(14).bin_name(16383), "bin-3fff");
        assert_eq!(bins(8).bin_name(255), "bin-ff");
        assert_eq!(bins(5).bin_name(31), "bin-1f");
        assert!(bins(14).is_bin("bin-3fff"));
        assert!(!bins(14).is_bin("bin-4000"));
        assert!(!bins(14).is_bin("bin-3FFF"));
        assert!(!bins(14).is_bin("bin-fff"));
        assert!(!bins(14).is_bin("bins-0000"));
    }

    #[test]
    fn bin_for_target_uses_leading_hash_bits() {
        // sha256("") = e3b0c442...; top 14 bits of 0xe3b0c442 = 0x38ec.
        assert_eq!(bins(14).bin_for_target(""), "bin-38ec");
        assert_eq!(bins(32).bin_for_target(""), "bin-e3b0c442");
    }
}
