//! Criterion benchmarks of metering's hot-path functions (filled in below).

use criterion::{Criterion, criterion_group, criterion_main};

fn benches(_c: &mut Criterion) {}

criterion_group!(hot, benches);
criterion_main!(hot);
