//! Version order of Debian and RPM packages, identical to dpkg's and rpm's own.

pub mod deb;
pub mod rpm;
