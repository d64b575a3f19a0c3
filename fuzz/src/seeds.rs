//! The seeds each target writes from our own writers (the built-in
//! repository, a stick, a transcript): inputs that reach the deepest checks,
//! which fixtures made by other tools cannot, since only our code holds the
//! built-in key ([`crate::key`]).

pub mod bundle;
pub mod client;
pub mod transcript;
