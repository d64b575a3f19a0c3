//! Metadata files on disk, for both the appliance and the online tool: a
//! hostile multi-gigabyte file is refused without being read, a FIFO or
//! device is refused without blocking, a link on a stick is not followed,
//! and a pulled stick or a full disk leaves the old file or the new one,
//! never a torn one.

pub mod atomic;
pub mod batch;
pub mod capped;

pub use atomic::{WriteError, remove_stale_temp_files, write_atomically};
pub use batch::{BatchError, BatchWriter, sync_dirs, sync_file_systems};
pub use capped::{
    ReadError, open_append_nofollow, open_regular_nofollow, read_capped, read_regular_nofollow,
    real_directory,
};
