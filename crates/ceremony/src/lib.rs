//! The offline signing appliance. The session logic lives here with no UI
//! in it; the headless command line and (later) the terminal UI are views
//! over it.

pub mod atomic;
pub mod sign_file;
pub mod signing;
