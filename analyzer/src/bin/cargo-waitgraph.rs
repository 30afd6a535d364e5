//! `cargo waitgraph ...`: cargo runs this as `cargo-waitgraph waitgraph ...`; the second
//! word is dropped and the rest is the `waitgraph` command line.

fn main() -> std::process::ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|word| word == "waitgraph") {
        args.remove(1);
    }
    waitgraph_analyzer::cli::main(args, "cargo waitgraph")
}
