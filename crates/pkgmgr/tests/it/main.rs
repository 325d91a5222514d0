//! pkgmgr's parsers on captured real outputs (`test_data/`), and on hostile input.

mod apt;
mod never_panics;
