//! The first screen: network hardware the witness must acknowledge, the
//! hashes of the image the appliance was started from, and the clock check.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use crate::boot::BootCheck;
use crate::review::{Tone, grouped_digest};
use crate::tui::app::{App, show_time};
use crate::tui::view::style;

/// Width of the label column of the boot hashes.
const LABEL: usize = 17;

/// Draws the clock screen into `area`.
pub(super) fn draw_clock(app: &App, frame: &mut Frame, area: Rect) {
    let mut text = hardware_lines(app);
    let host = app.session.host_clock();
    text.extend([
        Line::raw(""),
        Line::raw("This machine's clock says:"),
        Line::styled(format!("    {}", show_time(host)), style(Tone::Digest)),
        Line::raw(""),
        Line::raw("Offline clocks drift. Witness: compare it with your own clock."),
        Line::raw("Expiry dates are checked against the time confirmed here."),
        Line::raw(""),
    ]);
    if app.editing_clock {
        text.push(Line::raw(
            "Type the correct time in UTC (YYYY-MM-DD HH:MM):",
        ));
        text.push(Line::styled(
            format!("    {}_", app.input.as_str()),
            style(Tone::Heading),
        ));
    }
    text.extend(boot_lines(app.session.boot()));
    super::view::scrolled(frame, area, " Clock check ", text, usize::from(app.scroll));
}

/// Network hardware found at start: a warning block until the witness
/// acknowledges it, then one line saying it was.
fn hardware_lines(app: &App) -> Vec<Line<'static>> {
    let (devices, acknowledged) = app.session.network_hardware();
    if devices.is_empty() {
        return Vec::new();
    }
    let mut out = vec![Line::styled(
        format!(
            "NETWORK HARDWARE ({}), no driver on this image: {}",
            devices.len(),
            if acknowledged {
                "acknowledged by the witness"
            } else {
                "witness, is it expected? press a"
            }
        ),
        style(Tone::Warning),
    )];
    out.extend(
        devices
            .iter()
            .map(|d| Line::styled(format!("  {d}"), style(Tone::Removed))),
    );
    out
}

/// The boot hashes, grouped in fours, two rows each.
fn boot_lines(boot: &BootCheck) -> Vec<Line<'static>> {
    match boot {
        BootCheck::NotImage => Vec::new(),
        BootCheck::Unknown(why) => vec![Line::styled(
            format!("The image's boot files could not be hashed: {why}"),
            style(Tone::Warning),
        )],
        BootCheck::Hashed {
            files,
            manifest_sha256,
            mismatches,
        } => {
            let mut out = vec![Line::raw("This image; compare with the published hashes:")];
            let mut digest = |label: &str, hex: &str| {
                for (i, row) in grouped_digest(hex).into_iter().enumerate() {
                    let label = if i == 0 { label } else { "" };
                    out.push(Line::styled(
                        format!("  {label:<width$}{row}", width = LABEL - 2),
                        style(Tone::Digest),
                    ));
                }
            };
            digest("boot manifest", manifest_sha256);
            for (label, name) in [("kernel", "vmlinuz"), ("initramfs", "initrd.img")] {
                if let Some(file) = files.iter().find(|f| f.name == name) {
                    digest(label, &file.sha256);
                }
            }
            if mismatches.is_empty() {
                out.push(Line::styled(
                    format!("  every boot file ({}) matches the manifest", files.len()),
                    style(Tone::Added),
                ));
            } else {
                out.push(Line::styled(
                    "  THE BOOT FILES DO NOT MATCH THE MANIFEST:",
                    style(Tone::Removed),
                ));
                out.extend(
                    mismatches
                        .iter()
                        .map(|m| Line::styled(format!("    {m}"), style(Tone::Removed))),
                );
            }
            out
        }
    }
}
