//! `pinns`: the command line, all of it in this crate's library.
//!
//! `no_main`: this is C's `main`, called by the C runtime directly. Rust's
//! own start-up work is skipped: it reads `/proc/self/maps` to find the main
//! thread's stack guard, installs stack-overflow handlers with an alternate
//! signal stack and probes fds 0-2, system calls a pinner run thousands of
//! times a day has no use for. Arguments and standard streams work as usual
//! (std captures argv from the C runtime); `pinns_cli::main` sets SIGPIPE
//! itself.

#![no_main]

#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    std::ffi::c_int::from(pinns_cli::main())
}
