//! `cargo xtask`: the project's automation. `cargo xtask ci` runs exactly what CI runs.

mod bench;
mod bench_dashboard;
mod bench_fleet;
mod bench_rollout;
mod ci;
mod deb;
mod fleet_cmd;
mod fuzz;
mod tidy;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match words.as_slice() {
        ["ci"] => ci::run(),
        ["bench", rest @ ..] => bench::run(rest),
        ["deb", rest @ ..] => deb::run(rest),
        ["fleet", rest @ ..] => fleet_cmd::run(rest),
        ["fuzz", rest @ ..] => fuzz::run(rest),
        ["image", "base"] => fleet::images::base_image().map(|tag| println!("{tag}")),
        _ => {
            eprintln!(
                "usage: cargo xtask ci | deb [--profile P] [--no-build] | fleet … | bench parse|assess|fleet-assess|rollout [RUNS] | fuzz SECONDS [TARGET...] | image base"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}
