//! Debian version order: `[epoch:]upstream[-revision]`, compared like dpkg.
