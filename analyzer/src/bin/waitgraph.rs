//! `waitgraph`: see `waitgraph --help`.

fn main() -> std::process::ExitCode {
    waitgraph_analyzer::cli::main(std::env::args_os(), "waitgraph")
}
