//! `patchctl vercmp`: compares package versions the way dpkg or rpm does, one pair from the
//! command line or many from standard input.

use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context;
use model::version::{self, Scheme};

#[derive(clap::Args)]
#[command(
    after_help = "Prints `<`, `=` or `>`: how A compares with B. A version the package manager \
                  would refuse is an error. For deb, the empty string and `<unknown>` mean \
                  \"no version\", earlier than any, as for dpkg --compare-versions."
)]
pub struct Args {
    /// Whose version order to use.
    #[arg(value_enum)]
    scheme: SchemeArg,
    /// The first version.
    #[arg(required_unless_present = "batch", conflicts_with = "batch", allow_hyphen_values = true)]
    a: Option<String>,
    /// The second version.
    #[arg(required_unless_present = "batch", conflicts_with = "batch", allow_hyphen_values = true)]
    b: Option<String>,
    /// Read pairs "A B" (separated by white space) from standard input, one per line, and
    /// print one result per line. Stops at the first line that is not a valid pair.
    #[arg(long)]
    batch: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SchemeArg {
    /// dpkg's order (Debian, Ubuntu).
    Deb,
    /// rpm's order (RHEL, Fedora and their kin).
    Rpm,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let scheme = match args.scheme {
        SchemeArg::Deb => Scheme::Deb,
        SchemeArg::Rpm => Scheme::Rpm,
    };
    let result = match (args.batch, args.a, args.b) {
        (true, _, _) => compare_lines(scheme, io::stdin().lock(), io::stdout().lock()),
        (false, Some(a), Some(b)) => {
            let ordering = version::compare(scheme, &a, &b)?;
            writeln!(io::stdout(), "{}", symbol(ordering)).map_err(anyhow::Error::from)
        }
        // clap requires both versions unless --batch is given.
        (false, _, _) => anyhow::bail!("two versions to compare are needed, or --batch"),
    };
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // A reader that stopped reading (`| head`) is not a failure of ours.
        Err(error) if is_broken_pipe(&error) => Ok(ExitCode::SUCCESS),
        Err(error) => Err(error),
    }
}

/// Compares each "A B" line of `input` and writes `<`, `=` or `>` per line to `output`. On a
/// bad line it writes out the results so far, then fails naming the line.
fn compare_lines(
    scheme: Scheme,
    mut input: impl BufRead,
    output: impl Write,
) -> anyhow::Result<()> {
    let mut output = BufWriter::with_capacity(64 * 1024, output);
    let mut line = Vec::new();
    let mut line_number = 0u64;
    loop {
        line.clear();
        let read = input
            .read_until(b'\n', &mut line)
            .context("reading version pairs from standard input")?;
        if read == 0 {
            break;
        }
        line_number += 1;
        match compare_line(scheme, &line) {
            Ok(ordering) => output.write_all(symbol_line(ordering))?,
            Err(error) => {
                output.flush()?;
                return Err(error.context(format!("line {line_number} of standard input")));
            }
        }
    }
    output.flush()?;
    Ok(())
}

fn compare_line(scheme: Scheme, line: &[u8]) -> anyhow::Result<std::cmp::Ordering> {
    let line = std::str::from_utf8(line).context("the line is not valid UTF-8")?;
    let mut fields = line.split_ascii_whitespace();
    match (fields.next(), fields.next(), fields.next()) {
        (Some(a), Some(b), None) => Ok(version::compare(scheme, a, b)?),
        _ => anyhow::bail!(
            "expected two versions separated by white space, found {:?}",
            line.trim_end_matches(['\n', '\r'])
        ),
    }
}

fn symbol(ordering: std::cmp::Ordering) -> &'static str {
    match ordering {
        std::cmp::Ordering::Less => "<",
        std::cmp::Ordering::Equal => "=",
        std::cmp::Ordering::Greater => ">",
    }
}

fn symbol_line(ordering: std::cmp::Ordering) -> &'static [u8] {
    match ordering {
        std::cmp::Ordering::Less => b"<\n",
        std::cmp::Ordering::Equal => b"=\n",
        std::cmp::Ordering::Greater => b">\n",
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<io::Error>())
        .any(|io_error| io_error.kind() == io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(scheme: Scheme, input: &str) -> (String, Option<String>) {
        let mut output = Vec::new();
        let result = compare_lines(scheme, input.as_bytes(), &mut output);
        let error = result.err().map(|error| format!("{error:#}"));
        (String::from_utf8(output).unwrap(), error)
    }

    #[test]
    fn batch_prints_one_result_per_line() {
        let (output, error) = batch(Scheme::Deb, "1.0 1.0-0\n1.0~rc1\t1.0\n  2 1  \n1:1 2");
        assert_eq!(output, "=\n<\n>\n>\n");
        assert_eq!(error, None);
        let (output, _) = batch(Scheme::Rpm, "1.0 1.0-1\r\n1_0 1.0\n");
        assert_eq!(output, "<\n=\n");
    }

    #[test]
    fn batch_names_the_bad_line() {
        let (output, error) = batch(Scheme::Deb, "1 2\n1: 2\n3 4\n");
        assert_eq!(output, "<\n");
        assert_eq!(
            error.as_deref(),
            Some(
                "line 2 of standard input: Debian version \"1:\" has bad syntax: nothing after \
                 colon in version number"
            )
        );
        let (_, error) = batch(Scheme::Rpm, "1 2 3\n");
        assert_eq!(
            error.as_deref(),
            Some(
                "line 1 of standard input: expected two versions separated by white space, \
                 found \"1 2 3\""
            )
        );
        let (_, error) = batch(Scheme::Rpm, "\n");
        assert!(error.unwrap().starts_with("line 1 of standard input: expected two versions"));
    }
}
