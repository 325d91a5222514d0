//! The scheduler's leadership in Sqlite: the statements of `leader.rs`, whose condition and
//! change are one statement, so that of two processes claiming at once exactly one leads.

use crate::error::QueryContext;

crate::leader::impl_scheduler_leader!(super::Sqlite, super::get);
