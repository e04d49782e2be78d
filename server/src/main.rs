//! The `stablesteering` binary; everything lives in the library so tests can drive it.

fn main() -> std::process::ExitCode {
    stablesteering::cli::main()
}
