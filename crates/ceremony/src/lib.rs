//! The offline signing appliance. The session logic lives here with no UI
//! in it; the headless command line and the terminal UI are views over it.

/// Re-exported for callers that write what they sign.
pub use metadata_io::atomic;
pub mod boot;
pub mod drill;
pub mod hardware;
pub mod inventory;
pub mod key_sets;
pub mod media;
pub mod review;
pub mod safety;
pub mod session;
pub mod sign_file;
pub mod signing;
#[cfg(test)]
mod test_support;
pub mod tui;
