//! `postino-fuzz`: runs the fuzz targets.
//!
//! ```text
//! postino-fuzz [TARGET|all] [--iterations N | --seconds S] [--seed X]
//! postino-fuzz replay FILE TARGET
//! postino-fuzz list
//! ```
//!
//! Prints, per target, the iterations run and the distinct failures; saves
//! the first input of each failure under `fuzz/findings/` with the command
//! that replays it; exits non-zero on any failure.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use postino_fuzz::{Budget, Failure, TARGETS, Target, check_one, find, run};

const USAGE: &str = "usage: postino-fuzz [TARGET|all] [--iterations N | --seconds S] [--seed X]
       postino-fuzz replay FILE TARGET
       postino-fuzz list";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("replay") => replay(&args[1..]),
        Some("list") => {
            for target in TARGETS {
                println!("{}: {}", target.name, target.checks);
            }
            Ok(true)
        }
        _ => fuzz(&args),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("postino-fuzz: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn fuzz(args: &[String]) -> Result<bool, String> {
    let mut name = "all".to_string();
    let mut budget = Budget::Iterations(100_000);
    let mut seed = 1u64;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--iterations" => {
                let n = value()?;
                budget =
                    Budget::Iterations(n.parse().map_err(|_| format!("bad --iterations {n}"))?);
            }
            "--seconds" => {
                let s = value()?;
                let seconds: f64 = s.parse().map_err(|_| format!("bad --seconds {s}"))?;
                budget = Budget::Time(
                    Duration::try_from_secs_f64(seconds)
                        .map_err(|_| format!("bad --seconds {s}"))?,
                );
            }
            "--seed" => {
                let x = value()?;
                seed = x.parse().map_err(|_| format!("bad --seed {x}"))?;
            }
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            other => name = other.to_string(),
        }
    }
    let targets: Vec<&Target> = if name == "all" {
        TARGETS.iter().collect()
    } else {
        vec![find(&name).ok_or_else(|| format!("no target {name}; see `list`"))?]
    };
    println!("seed {seed}");
    let mut clean = true;
    for target in targets {
        let started = Instant::now();
        let report = run(target, budget, seed);
        println!(
            "{}: {} iterations, {} distinct failures ({:.1} s)",
            report.target,
            report.iterations,
            report.failures.len(),
            started.elapsed().as_secs_f64()
        );
        for failure in &report.failures {
            clean = false;
            print_failure(target, failure);
        }
    }
    Ok(clean)
}

fn print_failure(target: &Target, failure: &Failure) {
    let mut message = failure.message.clone();
    if message.len() > 600 {
        let mut cut = 600;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    println!("  FAIL {}\n    {message}", failure.key);
    let file = format!(
        "{}-{:016x}.bin",
        target.name,
        postino_fuzz::runner::hash(&failure.input)
    );
    let dir = findings();
    let saved = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join(&file), &failure.input));
    match saved {
        Ok(()) => println!(
            "    reproduce: cargo run --release -p postino-fuzz -- replay fuzz/findings/{file} {}",
            target.name
        ),
        Err(err) => println!("    could not save the input to {}: {err}", dir.display()),
    }
}

/// `fuzz/findings/`, whatever the working directory.
fn findings() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("findings")
}

fn replay(args: &[String]) -> Result<bool, String> {
    let [file, name] = args else {
        return Err("replay needs FILE and TARGET".to_string());
    };
    let target = find(name).ok_or_else(|| format!("no target {name}; see `list`"))?;
    let input = std::fs::read(file).map_err(|err| format!("cannot read {file}: {err}"))?;
    Ok(match check_one(target, &input) {
        Ok(()) => {
            println!("{name}: {file} passes");
            true
        }
        Err(failure) => {
            println!("{name}: {file} fails\n  {}", failure.message);
            false
        }
    })
}
