//! The in-job `circleci` command alone, without the rest of `circa`: the same argv shape as
//! `circa __agent NAME ARGS...` (`circa-agent [__agent] NAME ARGS...`), so the staging and
//! its tests work with either binary.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match args.split_first() {
        Some((first, rest)) if first == "__agent" => rest,
        _ => &args[..],
    };
    std::process::exit(circa_exec::agent::main(args))
}
