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
mod history;
mod interop;
mod limits;
mod news;
mod ops;
mod partition;
mod recovery;
mod report;
mod search;
mod security;
mod sync;
mod votes;
mod webhooks;
