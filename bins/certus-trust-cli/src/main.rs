//! certus-trust command line: offline verification and the sigstore-conformance client protocol.

fn main() {}
