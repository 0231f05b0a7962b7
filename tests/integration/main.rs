//! Integration tests: the real `easel` binary, real WebSocket clients.
//! One test binary, a module per feature, shared support (`support.rs`).

mod api_support;
mod support;

mod access;
mod api;
mod board;
mod churn;
mod cluster;
mod convergence;
mod crash;
mod disk;
mod exports;
mod interop;
mod limits;
mod ops;
mod partition;
mod recovery;
mod security;
mod sync;
