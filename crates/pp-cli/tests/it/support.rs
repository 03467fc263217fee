//! Running `pp` and GNU parallel from tests.
