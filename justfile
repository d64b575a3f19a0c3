# Thin wrappers: every recipe is a `cargo xtask` command, so `just` is
# optional and the README's commands stay the real ones.

# Install what is missing, then fmt, clippy and the whole test suite.
test *ARGS:
    cargo xtask test {{ARGS}}

# Set-up, then the practice ceremony (headless, then the appliance's UI at a terminal).
drill:
    cargo xtask drill

# Our code against its peers, printed as ratios (--only hashbins|sign|tui).
bench *ARGS:
    cargo xtask bench {{ARGS}}

# libFuzzer: parse + verify for 60 s, or e.g. `just fuzz --all --seconds 900`
# (every target), `just fuzz --target client_update`.
fuzz *ARGS:
    cargo xtask fuzz {{ARGS}}

# The bootable offline image in target/image/ (docs/image.md); pass
# --update-lock after reviewing a Debian point release.
image *ARGS:
    cargo xtask image {{ARGS}}

# Boot the image in qemu and run a practice ceremony on it.
image-test:
    cargo xtask image-test
