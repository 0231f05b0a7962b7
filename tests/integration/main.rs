//! Integration tests: the real `easel` binary, real WebSocket clients.
//! One test binary, a module per feature, shared support (`support.rs`).

mod api_support;
mod support;

mod access;
mod api;
mod cluster;
mod crash;
mod exports;
mod interop;
mod limits;
mod ops;
mod sync;
