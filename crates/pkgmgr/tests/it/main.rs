//! pkgmgr's parsers on captured real outputs (`test_data/`), and on hostile input.

mod apt;
mod dnf;
mod never_panics;
