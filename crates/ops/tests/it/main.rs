//! `ops` against its real collaborators: this machine's package manager, notifications
//! delivered over real HTTP and SMTP to receivers these tests run on 127.0.0.1, and postmortems
//! and plans under a policy's baselines in a real (in-memory) SQLite store.

mod assess_local;
mod audit;
mod baselines;
mod driver;
mod lifecycle;
mod notify;
mod postmortem;
mod receivers;
