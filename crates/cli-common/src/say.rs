//! `say!` and `say_err!`: how both binaries print a line that may carry
//! text they did not write (names, paths, key ids from a stick, a
//! repository or a key file). Each line goes through
//! [`tuf_metadata::escape`], so such text never reaches a terminal raw
//! (DESIGN.md); plain text is printed unchanged.

/// Prints one line on stdout through [`tuf_metadata::escape`].
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        ::std::println!("{}", $crate::escape(&::std::format!($($arg)*)))
    };
}

/// [`say!`] for stderr.
#[macro_export]
macro_rules! say_err {
    ($($arg:tt)*) => {
        ::std::eprintln!("{}", $crate::escape(&::std::format!($($arg)*)))
    };
}
