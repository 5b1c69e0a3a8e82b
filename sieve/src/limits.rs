//! Resource limits applied while compiling and running a script, so that a
//! hostile or careless script cannot exhaust memory or CPU at delivery time.

/// Every bound the engine enforces. `Limits::default()` suits one mailbox's
/// hand-written or generated scripts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest script source accepted, in bytes (default 64 KiB).
    pub max_script_size: usize,
    /// Deepest nesting of blocks and tests (default 32).
    pub max_nesting: usize,
    /// Most actions one run may produce, the implicit keep excluded (default 32).
    pub max_actions: usize,
    /// Most `redirect` actions one run may produce (default 4).
    pub max_redirects: usize,
    /// Most interpreter steps (commands, tests and comparisons) per run
    /// (default 100 000); beyond it the run fails into implicit keep.
    pub max_steps: u64,
    /// Deepest chain of `include`s (default 5).
    pub max_include_depth: usize,
    /// Most distinct scripts pulled in through `include` (default 16).
    pub max_includes: usize,
    /// Longest value a variable may hold, in bytes (default 4096, the
    /// minimum RFC 5229 section 3 asks for).
    pub max_variable_size: usize,
    /// Longest vacation period, in seconds (default 90 days).
    pub max_vacation_period: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_script_size: 64 * 1024,
            max_nesting: 32,
            max_actions: 32,
            max_redirects: 4,
            max_steps: 100_000,
            max_include_depth: 5,
            max_includes: 16,
            max_variable_size: 4096,
            max_vacation_period: 90 * 86_400,
        }
    }
}
