//! agentbox: run AI code agents without production secrets. The binary is a thin shell over
//! the library (see `agentbox::cli`).

fn main() -> std::process::ExitCode {
    agentbox::cli::entry()
}
