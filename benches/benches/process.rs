//! `run` of `/bin/true` through pp-process against `std::process::Command::output()`,
//! measured in the same run. Target: pp within 1.10x of std.

#![allow(missing_docs)] // reason: criterion's macros generate undocumented items

use criterion::{Criterion, criterion_group, criterion_main};

fn run_true(c: &mut Criterion) {
    let mut group = c.benchmark_group("run /bin/true");
    group.bench_function("std::process::Command::output", |b| {
        b.iter(|| {
            let out = std::process::Command::new("/bin/true").output().unwrap();
            assert!(out.status.success());
        })
    });
    let cmd = pp_process::Command::new("/bin/true");
    group.bench_function("pp_process::Command::run", |b| {
        b.iter(|| assert!(cmd.run().unwrap().success()))
    });
    let table = pp_process::ProcessTable::new();
    group.bench_function("pp_process::ProcessTable::run", |b| {
        b.iter(|| {
            assert!(table.run(&cmd).unwrap().success());
            table.cleanup();
        })
    });
    group.finish();
}

criterion_group!(benches, run_true);
criterion_main!(benches);
