//! A program that is not the test binary but calls `pp_pool::init()`: a pool
//! configured to use it as a worker must refuse it at the handshake.

fn main() {
    pp_pool::init();
    println!("pp-pool-foreign-worker: not started as a worker");
}
