//! The other process of the cross-process rows: `pp-bench-peer`, built
//! beside this binary.

use std::path::PathBuf;

use pp_benches::Peer;

/// The peer binary's path (next to this one).
pub(crate) fn peer_exe() -> PathBuf {
    std::env::current_exe().expect("own path").with_file_name("pp-bench-peer")
}

/// Starts the peer in the role `args` names.
pub(crate) fn start_peer(args: &[&str]) -> Peer {
    Peer::start(peer_exe().to_str().expect("utf-8 path"), args)
}
