//! Process pools inside ordinary `#[test]` functions.
//!
//! libtest's generated `main` does not call [`init`](crate::init), so a
//! worker cannot be this binary started with no arguments (that would run
//! every test again). [`enable_test_support!`](crate::enable_test_support)
//! defines a hidden test that calls `init`, and registers it before `main`
//! (an `.init_array` entry, as the `ctor` crate makes): a pool in a binary
//! that registered one starts its workers with libtest arguments that run
//! only that test, `--exact <name> --nocapture --test-threads=1`
//! (`cargo test` and `cargo nextest` build the same libtest binaries).
//! In the pool's own process the hidden test does nothing and passes.

use std::sync::OnceLock;

/// The name of the function [`enable_test_support!`](crate::enable_test_support)
/// defines (the macro spells it out; a test checks they agree).
pub(crate) const WORKER_TEST: &str = "__pp_pool_worker";

/// The module path the hidden test was defined in, set before `main`.
static REGISTERED: OnceLock<&'static str> = OnceLock::new();

/// Called before `main` by the code [`enable_test_support!`](crate::enable_test_support)
/// expands to: records that this test binary has the hidden worker test in
/// `module_path` (its `module_path!()`). The first registration counts.
#[doc(hidden)]
pub fn register_test_worker(module_path: &'static str) {
    // Only an atomic and a futex: safe before std's runtime has started.
    let _ = REGISTERED.set(module_path);
}

/// libtest's name of the hidden worker test (`path::to::__pp_pool_worker`,
/// without the crate's name), if this test binary registered one.
pub(crate) fn worker_test_name() -> Option<String> {
    let module = REGISTERED.get()?;
    Some(match module.split_once("::") {
        Some((_crate, path)) => format!("{path}::{WORKER_TEST}"),
        None => WORKER_TEST.to_owned(),
    })
}

/// Whether this test binary shows what tests print (`--nocapture`,
/// `--no-capture`, `--show-output`, or `RUST_TEST_NOCAPTURE`). cargo nextest
/// always passes `--nocapture` and captures the output itself.
pub(crate) fn test_output_shown() -> bool {
    let flag = |arg: &std::ffi::OsStr| {
        arg == "--nocapture" || arg == "--no-capture" || arg == "--show-output"
    };
    std::env::args_os().any(|arg| flag(&arg))
        || std::env::var_os("RUST_TEST_NOCAPTURE").is_some_and(|v| v != "0")
}

/// Lets process pools run inside ordinary `#[test]` functions: write
/// `pp_pool::enable_test_support!();` once, at the top level of each test
/// crate (an integration test file, or a `#[cfg(test)]` module of a library).
///
/// It expands to a hidden `#[test] fn __pp_pool_worker()`, which calls
/// [`init`](crate::init): in a process a pool started as its worker it runs
/// the worker and exits; everywhere else it returns at once (it shows in the
/// test list and passes). It also registers that test before `main`, so
/// pools created by this binary start their workers as this binary running
/// only that test. Outside `cfg(test)` it expands to nothing.
///
/// ```no_run
/// // tests/pool.rs, with the default harness
/// pp_pool::enable_test_support!();
///
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// #[test]
/// fn squares_in_a_worker() {
///     let pool = pp_pool::ProcessPool::new(1).unwrap();
///     assert_eq!(pool.submit(square, 12).unwrap().result().unwrap(), 144);
/// }
/// ```
///
/// Under plain `cargo test`, workers' stdout goes nowhere (as libtest hides
/// what passing tests print) unless the tests run with `--nocapture` or
/// `--show-output`; their stderr is shown.
#[macro_export]
macro_rules! enable_test_support {
    () => {
        /// Runs a pp-pool worker when a process pool started this test
        /// binary as one; passes at once otherwise.
        #[cfg(test)]
        #[test]
        #[doc(hidden)]
        fn __pp_pool_worker() {
            $crate::init();
        }

        #[cfg(test)]
        const _: () = {
            extern "C" fn register() {
                $crate::__register_test_worker(::core::module_path!());
            }
            // SAFETY: an `.init_array` entry is a function pointer the
            // loader calls once, before `main`, with (argc, argv, envp),
            // which an `extern "C" fn()` ignores; `register` only stores a
            // `&'static str` in a `OnceLock` and cannot unwind.
            #[used]
            #[unsafe(link_section = ".init_array")]
            static REGISTER: extern "C" fn() = register;
        };
    };
}

#[cfg(test)]
mod tests {
    // This crate's unit tests use the macro themselves: the names must agree.
    crate::enable_test_support!();

    #[test]
    fn the_macro_registers_its_test_under_the_name_workers_ask_for() {
        assert_eq!(
            super::worker_test_name().as_deref(),
            Some("test_support::tests::__pp_pool_worker")
        );
    }
}
