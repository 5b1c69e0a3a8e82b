//! Runs a target: its seeds first, then mutations of its pool until the
//! budget is spent. A panic inside the parser is caught and counted like a
//! broken invariant; failures are told apart by the invariant broken or
//! the place of the panic, and the first input of each is kept.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;
use std::time::{Duration, Instant};

use crate::mutate::Mutator;
use crate::targets::{Target, Violation};

/// How long to run a target.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    Iterations(u64),
    Time(Duration),
}

/// One distinct failure and the first input that showed it.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What tells failures apart: the invariant, or `panic at file:line`.
    pub key: String,
    /// The whole message, with the details of this input.
    pub message: String,
    pub input: Vec<u8>,
}

#[derive(Debug)]
pub struct Report {
    pub target: &'static str,
    pub iterations: u64,
    pub failures: Vec<Failure>,
}

/// The most inputs the pool keeps besides the seeds: mutations of
/// mutations reach further than mutations of seeds alone.
const POOL_GROWTH: usize = 2000;

/// Runs `target` for `budget`, every choice drawn from `seed`.
pub fn run(target: &Target, budget: Budget, seed: u64) -> Report {
    let seeds = (target.seeds)();
    let mut pool = seeds.clone();
    if pool.is_empty() {
        pool.push(Vec::new());
    }
    let seeded = pool.len();
    let mut mutator = Mutator::new(
        seed ^ hash(target.name.as_bytes()),
        target.dictionary,
        target.max_len,
    );
    let started = Instant::now();
    let mut failures: BTreeMap<String, Failure> = BTreeMap::new();
    let mut iterations = 0u64;
    loop {
        let done = match budget {
            Budget::Iterations(n) => iterations >= n,
            // Reading the clock every input would cost more than some targets.
            Budget::Time(limit) => iterations.is_multiple_of(64) && started.elapsed() >= limit,
        };
        if done {
            break;
        }
        let input = match seeds.get(iterations as usize) {
            Some(seed) => seed.clone(),
            None => mutator.next_input(&pool),
        };
        iterations += 1;
        if let Err(failure) = check_one(target, &input) {
            failures.entry(failure.key.clone()).or_insert(failure);
        } else if mutator.one_in(32) {
            if pool.len() < seeded + POOL_GROWTH {
                pool.push(input);
            } else {
                let at = seeded + mutator.index(POOL_GROWTH);
                pool[at] = input;
            }
        }
    }
    Report {
        target: target.name,
        iterations,
        failures: failures.into_values().collect(),
    }
}

thread_local! {
    /// Set while a target runs: its panic is recorded here, not printed.
    static PANIC: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Runs `target` on one input, catching a panic.
pub fn check_one(target: &Target, input: &[u8]) -> Result<(), Failure> {
    install_panic_hook();
    PANIC.with(|slot| *slot.borrow_mut() = Some(None));
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| (target.check)(input)));
    let panicked = PANIC.with(|slot| slot.borrow_mut().take().flatten());
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(Violation { invariant, detail })) => Err(Failure {
            key: invariant.to_string(),
            message: format!("{invariant}: {detail}"),
            input: input.to_vec(),
        }),
        Err(_) => {
            let message = panicked.unwrap_or_else(|| "panic at an unknown place".to_string());
            let key = message.split(": ").next().unwrap_or(&message).to_string();
            Err(Failure {
                key,
                message,
                input: input.to_vec(),
            })
        }
    }
}

/// Panics inside a target are recorded for [`check_one`]; anywhere else
/// they go to the hook that was there before.
fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let inside = PANIC.with(|slot| {
                let mut slot = slot.borrow_mut();
                let Some(recorded) = slot.as_mut() else {
                    return false;
                };
                let place = info.location().map_or_else(
                    || "unknown place".to_string(),
                    |l| format!("{}:{}", l.file(), l.line()),
                );
                let payload = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                *recorded = Some(format!("panic at {place}: {payload}"));
                true
            });
            if !inside {
                previous(info);
            }
        }));
    });
}

/// FNV-1a: a stable hash for seeding and for naming findings.
pub fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
