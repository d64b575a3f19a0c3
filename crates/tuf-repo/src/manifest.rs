//! The ceremony bundle's `manifest.json`. Its format (and its checks: our
//! `format`, item files inside the bundle's `staged/`, unknown fields kept)
//! is defined once, in the `bundle-format` crate the appliance reads it with.

pub use bundle_format::manifest::{Item, Manifest};
