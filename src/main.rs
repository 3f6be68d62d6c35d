//! The `migrate` binary: everything lives in the library; this only hands over control.

fn main() -> std::process::ExitCode {
    migrate::cli::main()
}
