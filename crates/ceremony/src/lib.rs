//! The offline signing appliance. The session logic lives here with no UI
//! in it; the headless command line and (later) the terminal UI are views
//! over it.

/// Re-exported for callers that write what they sign.
pub use metadata_io::atomic;
pub mod sign_file;
pub mod signing;
