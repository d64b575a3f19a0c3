//! What may sign, by which keys: the rules live in `tuf_metadata::signing`
//! (pure, no UI, no hardware), shared with the online tool, whose ceremony
//! manifests must list the same key sets the appliance applies. Re-exported
//! here, where the appliance's session code looks for them.

pub use tuf_metadata::signing::*;
