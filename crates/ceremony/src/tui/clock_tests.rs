//! The clock screen as the image starts it: the boot hashes for the
//! witness, network hardware that must be acknowledged before the clock
//! can be confirmed, and a boot partition that does not match its manifest.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::App;
use super::view::view;
use crate::boot::BootCheck;
use crate::session::Stage;
use crate::test_support::{MemoryTokens, image_session, rotation_stick};

const KERNEL: &str = "1111222233334444555566667777888899990000aaaabbbbccccddddeeeeffff";
const INITRD: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn manifest(kernel: &str) -> Vec<u8> {
    format!(
        "{KERNEL}  vmlinuz\n{INITRD}  initrd.img\n{}  EFI/BOOT/BOOTX64.EFI\n",
        "9".repeat(64)
    )
    .replace(KERNEL, kernel)
    .into_bytes()
}

fn image_app(dir: &std::path::Path, boot: BootCheck, hardware: Vec<String>) -> App {
    let stick = rotation_stick(dir);
    App::new(
        image_session(dir, MemoryTokens::default(), boot, hardware),
        vec![stick],
    )
}

fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view(app, frame)).unwrap();
    terminal.backend().to_string()
}

fn press(app: &mut App, code: KeyCode) {
    app.update(KeyEvent::new(code, KeyModifiers::NONE));
}

const WIFI: &str = "PCI 0000:00:14.3 8086:a0f0 network controller (Wi-Fi or other)";

#[test]
fn the_image_hashes_and_network_hardware_are_on_the_clock_screen() {
    let dir = tempfile::tempdir().unwrap();
    let boot = BootCheck::from_lists(&manifest(KERNEL), &manifest(KERNEL));
    let app = image_app(dir.path(), boot, vec![WIFI.into()]);
    for (width, height) in [(80, 24), (160, 48)] {
        let screen = render(&app, width, height);
        insta::assert_snapshot!(format!("clock_image_{width}x{height}"), screen);
        assert!(
            screen.contains(
                "NETWORK HARDWARE (1), no driver on this image: witness, is it expected? press a"
            ),
            "{screen}"
        );
        assert!(screen.contains("8086:a0f0"), "{screen}");
        assert!(screen.contains("kernel"), "{screen}");
        assert!(
            screen.contains("1111 2222 3333 4444 5555 6666 7777 8888"),
            "{screen}"
        );
        assert!(
            screen.contains("9999 0000 aaaa bbbb cccc dddd eeee ffff"),
            "{screen}"
        );
        assert!(
            screen.contains("every boot file (3) matches the manifest"),
            "{screen}"
        );
        assert!(screen.contains("This machine's clock says"), "{screen}");
        assert!(screen.contains("a witness: I have seen"), "{screen}");
        assert!(
            !screen.contains("Enter/y"),
            "no clock confirmation yet: {screen}"
        );
    }
    // The manifest's own hash, the one to compare with the published one.
    let manifest_hash = tuf_metadata::sha256_hex(&manifest(KERNEL));
    let first_row = crate::review::grouped_digest(&manifest_hash).remove(0);
    assert!(render(&app, 80, 24).contains(&first_row));
}

#[test]
fn the_clock_cannot_be_confirmed_until_the_witness_acknowledges_the_hardware() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = image_app(dir.path(), BootCheck::NotImage, vec![WIFI.into()]);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(app.session.stage(), Stage::Clock);
    assert!(
        app.session.confirm_clock(app.session.host_clock()).is_err(),
        "the session refuses too, not only the key map"
    );
    press(&mut app, KeyCode::Char('a'));
    let lines = app.session.transcript_lines().join("\n");
    assert!(
        lines.contains("witness acknowledged network hardware: PCI 0000:00:14.3"),
        "{lines}"
    );
    assert!(render(&app, 80, 24).contains("acknowledged by the witness"));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.session.stage(), Stage::Media);
}

#[test]
fn a_boot_partition_that_differs_from_its_manifest_is_shown_in_red_words() {
    let dir = tempfile::tempdir().unwrap();
    let tampered = "f".repeat(64);
    let boot = BootCheck::from_lists(&manifest(&tampered), &manifest(KERNEL));
    let app = image_app(dir.path(), boot, Vec::new());
    let screen = render(&app, 160, 48);
    assert!(
        screen.contains("THE BOOT FILES DO NOT MATCH THE MANIFEST"),
        "{screen}"
    );
    assert!(
        screen.contains("vmlinuz: differs from the manifest (sha256 ffff"),
        "{screen}"
    );
    // Without hardware the clock is confirmed as before.
    assert!(screen.contains("Enter/y"), "{screen}");
}

#[test]
fn boot_files_and_hardware_are_in_the_first_transcript_entry() {
    let dir = tempfile::tempdir().unwrap();
    let boot = BootCheck::from_lists(&manifest(KERNEL), &manifest(KERNEL));
    let app = image_app(dir.path(), boot, vec![WIFI.into()]);
    let first = app.session.transcript_lines().remove(0);
    assert!(first.contains("4 boot files hashed"), "{first}");
    assert!(first.contains("NETWORK HARDWARE PRESENT"), "{first}");
}

#[test]
fn a_yubikey_under_the_firmware_advisory_is_flagged_on_the_token_screen() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = MemoryTokens::with(&[("alice", 1), ("bob", 2)]);
    tokens.0.borrow_mut()[1].warnings = signers::yubikey::firmware_advisory_text("5.4.3")
        .into_iter()
        .collect();
    let stick = rotation_stick(dir.path());
    let mut app = App::new(
        image_session(dir.path(), tokens, BootCheck::NotImage, Vec::new()),
        vec![stick],
    );
    press(&mut app, KeyCode::Enter); // clock right
    press(&mut app, KeyCode::Enter); // load the stick
    press(&mut app, KeyCode::Enter); // reviewed
    assert_eq!(app.session.stage(), Stage::Tokens);
    let screen = render(&app, 80, 24);
    let rows: Vec<&str> = screen.lines().collect();
    let bob = rows
        .iter()
        .position(|r| r.contains("memory token \"bob\""))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(
        rows[bob + 1].contains("WARNING: firmware 5.4.3 is older than 5.7.0"),
        "{screen}"
    );
    assert!(
        !rows[..bob].iter().any(|r| r.contains("WARNING: firmware")),
        "alice's token is not flagged: {screen}"
    );
    // Red: the warning cells carry the Removed tone's colour.
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|frame| view(&app, frame)).unwrap();
    let buffer = terminal.backend().buffer();
    let cell = &buffer[(6, u16::try_from(bob + 1).unwrap())];
    assert_eq!(cell.fg, ratatui::style::Color::Red, "{screen}");
}
