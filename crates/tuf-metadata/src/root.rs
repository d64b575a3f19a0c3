//! Root metadata: the keys and thresholds of the four top-level roles.

use std::collections::BTreeMap;

use crate::common::{Expires, TOP_LEVEL_ROLES, check_spec_version};
use crate::fields::{
    Fields, FormatError, Problem, Within, err, int, object_with, string_array, unique_keyids,
};
use crate::json::{Object, Value};
use crate::keys::{Key, KeyId, keys_from_value, keys_to_value};
use crate::metadata::Limits;
use crate::mode::ReadMode;

/// Fields every signed role carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Common {
    /// `spec_version` (major version 1).
    pub spec_version: String,
    /// `version`, at least 1.
    pub version: u64,
    /// `expires`.
    pub expires: Expires,
}

impl Common {
    /// Reads the shared fields out of `fields` (the `signed` object).
    pub(crate) fn read(fields: &mut Fields, mode: ReadMode) -> Result<Self, FormatError> {
        let spec_version = fields.string("spec_version")?;
        check_spec_version(&spec_version).within("spec_version")?;
        let version = fields.count("version")?;
        if version == 0 {
            return Err(err(
                "version",
                Problem::OutOfRange("version must be at least 1".into()),
            ));
        }
        let expires = mode
            .parse_expires(&fields.string("expires")?)
            .within("expires")?;
        Ok(Common {
            spec_version,
            version,
            expires,
        })
    }

    /// The shared fields plus `_type`, as object entries.
    pub(crate) fn entries(&self, type_name: &'static str) -> [(&'static str, Value); 4] {
        [
            ("_type", Value::from(type_name)),
            ("spec_version", Value::from(self.spec_version.as_str())),
            ("version", int(self.version)),
            ("expires", Value::from(self.expires.as_str())),
        ]
    }
}

/// The key ids and threshold of one role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleKeys {
    /// Key ids allowed to sign for the role, in published order.
    pub keyids: Vec<KeyId>,
    /// How many distinct keys must sign.
    pub threshold: u64,
    /// Unknown fields, kept.
    pub unrecognized: Object,
}

impl RoleKeys {
    /// Reads `keyids` and `threshold` out of a role object; the caller keeps
    /// the rest of the object as the role's unknown fields.
    pub(crate) fn from_fields(fields: &mut Fields) -> Result<Self, FormatError> {
        let keyids = fields.string_list("keyids")?;
        unique_keyids(&keyids).within("keyids")?;
        let threshold = fields.count("threshold")?;
        if threshold < 1 {
            return Err(err("threshold", Problem::ThresholdBelowOne(threshold)));
        }
        Ok(RoleKeys {
            keyids,
            threshold,
            unrecognized: Object::new(),
        })
    }

    /// `keyids` and `threshold` as object entries.
    pub(crate) fn entries(&self) -> [(&'static str, Value); 2] {
        [
            ("keyids", string_array(&self.keyids)),
            ("threshold", int(self.threshold)),
        ]
    }

    /// Refuses a key id that `keys` does not define.
    pub(crate) fn check_keys_present(
        &self,
        keys: &BTreeMap<KeyId, Key>,
    ) -> Result<(), FormatError> {
        match self.keyids.iter().find(|id| !keys.contains_key(*id)) {
            Some(missing) => Err(err("keyids", Problem::RoleKeyMissing(missing.clone()))),
            None => Ok(()),
        }
    }
}

/// Root metadata (`_type` `root`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Root {
    /// version, expiry, spec version.
    pub common: Common,
    /// `consistent_snapshot`, absent in some older roots.
    pub consistent_snapshot: Option<bool>,
    /// Every key any top-level role uses, by key id.
    pub keys: BTreeMap<KeyId, Key>,
    /// `root`, `targets`, `snapshot`, `timestamp`.
    pub roles: BTreeMap<String, RoleKeys>,
    /// Unknown fields of `signed`, kept.
    pub unrecognized: Object,
}

impl Root {
    /// The `_type` value.
    pub const TYPE: &'static str = "root";

    pub(crate) fn from_fields(mut fields: Fields, limits: &Limits) -> Result<Self, FormatError> {
        let common = Common::read(&mut fields, limits.mode)?;
        let consistent_snapshot = fields.opt_bool("consistent_snapshot")?;
        let keys = keys_from_value(fields.take("keys")?, limits.max_keys).within("keys")?;
        let roles = read_roles(fields.take("roles")?, &keys).within("roles")?;
        Ok(Root {
            common,
            consistent_snapshot,
            keys,
            roles,
            unrecognized: fields.rest(),
        })
    }

    /// The `signed` object as it will be encoded and signed.
    pub fn to_value(&self) -> Value {
        let roles = Value::Object(
            self.roles
                .iter()
                .map(|(name, role)| {
                    (
                        name.clone(),
                        object_with(role.entries(), &role.unrecognized),
                    )
                })
                .collect(),
        );
        let mut entries = Vec::from(self.common.entries(Self::TYPE));
        entries.push(("keys", keys_to_value(&self.keys)));
        entries.push(("roles", roles));
        if let Some(cs) = self.consistent_snapshot {
            entries.push(("consistent_snapshot", Value::Bool(cs)));
        }
        object_with(entries, &self.unrecognized)
    }

    /// The key ids and threshold of a top-level role.
    pub fn role(&self, name: &str) -> Option<&RoleKeys> {
        self.roles.get(name)
    }
}

/// Reads `roles`: exactly the four top-level roles, each naming known keys.
fn read_roles(
    value: Value,
    keys: &BTreeMap<KeyId, Key>,
) -> Result<BTreeMap<String, RoleKeys>, FormatError> {
    let mut roles_fields = Fields::new(value)?;
    let mut roles = BTreeMap::new();
    for name in TOP_LEVEL_ROLES {
        let read = |value: Value| -> Result<RoleKeys, FormatError> {
            let mut fields = Fields::new(value)?;
            let mut role = RoleKeys::from_fields(&mut fields)?;
            role.check_keys_present(keys)?;
            role.unrecognized = fields.rest();
            Ok(role)
        };
        roles.insert(
            name.to_owned(),
            read(roles_fields.take(name)?).within(name)?,
        );
    }
    if let Some(extra) = roles_fields.rest().into_keys().next() {
        return Err(err(
            extra.clone(),
            Problem::BadRoleName(extra, "root defines only the four top-level roles"),
        ));
    }
    Ok(roles)
}
