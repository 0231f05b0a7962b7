//! Outbound webhooks: organizers register endpoints for a conference, and
//! the server POSTs signed JSON events to them (docs/api.md, "Webhooks").
//!
//! - [`sign`]: Standard Webhooks secrets and signatures.
//! - [`vet`]: which addresses may be targets (server-side request
//!   forgery), checked at registration and by the delivery client's
//!   resolver at every attempt.
//! - [`dispatch`]: the delivery loop over the store's outbox (retries with
//!   backoff, the history of attempts) and the `chart.updated` debouncer
//!   over the hub's change feed.
//!
//! Endpoints and outbox entries are stored by `easel-conferences`
//! (`webhooks` module), which writes an agenda change's deliveries in the
//! same atomic write as the change.

pub mod dispatch;
pub mod sign;
pub mod vet;

pub use dispatch::{Attempt, Config, Dispatcher};
