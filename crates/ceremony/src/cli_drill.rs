//! `ceremony drill-stage --out <dir>`: a practice stick with SoftHSM2 tokens,
//! so the appliance (`ceremony --drill --media <stick>`) can be rehearsed
//! without real keys or a real repository.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use time::OffsetDateTime;

/// Arguments of `ceremony drill-stage`.
#[derive(ClapArgs)]
pub struct Args {
    /// The drill's work directory (empty or new): tokens, PIN files, keys,
    /// the stick and `drill.json` go here.
    #[arg(long, value_name = "dir")]
    out: PathBuf,
}

/// Runs the command: stages the drill and prints the leader's briefing.
pub fn run(args: &Args) -> Result<()> {
    // This very binary runs `onboard` and `sign` as children, so the drill
    // exercises the same code the ceremony will.
    let exe = std::env::current_exe().context("cannot find this ceremony binary")?;
    let staged = ceremony::drill::stage(&args.out, &exe, OffsetDateTime::now_utc())?;
    cli_common::out_text(&staged.briefing());
    say!(
        "machine-readable briefing: {}",
        staged.dir.join("drill.json").display()
    );
    Ok(())
}
