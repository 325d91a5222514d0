//! `ops` against its real collaborators: notifications delivered over real HTTP and SMTP to
//! receivers these tests run on 127.0.0.1, and postmortems in a real (in-memory) SQLite store.

mod notify;
mod postmortem;
mod receivers;
