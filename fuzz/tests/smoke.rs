//! Every fuzz target for a small fixed budget, so that `cargo test` runs
//! each parser on a few thousand mutated inputs and fails on a broken
//! invariant. The real runs are `cargo run --release -p postino-fuzz`.

use postino_fuzz::{Budget, TARGETS, run};

/// Small enough for a debug build, large enough to pass the seeds and
/// reach a few mutations of each.
const ITERATIONS: u64 = 2000;

#[test]
fn every_target_holds_its_invariants() {
    let mut failed = Vec::new();
    for target in TARGETS {
        let report = run(target, Budget::Iterations(ITERATIONS), 1);
        assert_eq!(report.iterations, ITERATIONS);
        for failure in report.failures {
            failed.push(format!(
                "{}: {} (input {:?})",
                target.name,
                failure.message,
                String::from_utf8_lossy(&failure.input)
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
