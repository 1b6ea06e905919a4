//! `pinns`: parse, run, exit. Everything else is in the library.
//!
//! `no_main`: this is C's `main`, called by the C runtime directly. Rust's
//! own start-up work is skipped: it reads `/proc/self/maps` to find the main
//! thread's stack guard, installs stack-overflow handlers with an alternate
//! signal stack, probes fds 0-2 and ignores SIGPIPE — a dozen system calls
//! a pinner run thousands of times a day has no use for. Arguments and
//! standard streams work as usual (std captures argv from the C runtime),
//! and SIGPIPE keeps its default, as for C tools.

#![no_main]

#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    std::ffi::c_int::from(run())
}

fn run() -> u8 {
    // Usage errors exit 2 from here, with clap's message.
    let cli = pinns::parse::parse();
    match pinns::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            pinns::commands::print_error(&err.to_string());
            if err.is_usage() { 2 } else { 1 }
        }
    }
}
