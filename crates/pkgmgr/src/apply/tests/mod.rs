//! `pkgmgr::apply` on the outputs captured from the test fleet under `test_data/apply/` (how:
//! its CAPTURE.md), and on hostile input.

mod apply_outputs;
mod dry_run;
mod host_outputs;
mod hostile;
mod integrity_outputs;

/// One captured command: `NAME.rc`, `NAME.stdout`, `NAME.stderr`.
pub(super) struct Captured {
    pub rc: i32,
    pub stdout: &'static str,
    pub stderr: &'static str,
}

macro_rules! captured {
    ($name:literal) => {
        $crate::apply::tests::Captured {
            rc: include_str!(concat!("../../../test_data/apply/", $name, ".rc"))
                .trim()
                .parse()
                .unwrap(),
            stdout: include_str!(concat!("../../../test_data/apply/", $name, ".stdout")),
            stderr: include_str!(concat!("../../../test_data/apply/", $name, ".stderr")),
        }
    };
}

/// The argv a capture ran, `NAME.argv`, one word a line.
macro_rules! captured_argv {
    ($name:literal) => {
        include_str!(concat!("../../../test_data/apply/", $name, ".argv"))
            .lines()
            .map(str::to_owned)
            .collect::<Vec<String>>()
    };
}

pub(super) use {captured, captured_argv};
