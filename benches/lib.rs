//! Benchmarks of pp against its peers live in `benches/`; this library is empty on purpose.
