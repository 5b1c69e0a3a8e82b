//! Mutation fuzzing on stable Rust of every Postino parser that reads bytes
//! from the network. A target runs one parser on one input and checks
//! invariants (round trips, bounds, chunk-split invariance), not only the
//! absence of panics; the runner feeds it seeds and mutations of them.
//! `src/main.rs` is the command line; `tests/smoke.rs` runs every target
//! for a small budget under `cargo test`.

pub mod corpus;
pub mod mutate;
pub mod runner;
pub mod targets;

pub use runner::{Budget, Failure, Report, check_one, run};
pub use targets::{TARGETS, Target, Violation, find};
