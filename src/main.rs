//! The `migrate` binary: everything lives in the library; this only hands over control.

/// mimalloc rather than the system allocator: parsing thousands of workflows and compiling
/// policies make many small short-lived allocations, where glibc's malloc and free took about
/// a quarter of a `scan` or `trust` run's instructions (callgrind).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    migrate::cli::main()
}
