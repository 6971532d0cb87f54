//! `commerce`: the one binary. The command line is here; serving is `app`'s, the
//! HTTP face `api`'s, and the load generators `bench`'s (behind the `bench` feature,
//! on by default: a server built without it links none of the baselines' crates).

mod cli;

use std::time::Duration;

/// mimalloc instead of the system's malloc: the write path allocates and frees many
/// small strings and maps per command, and glibc's malloc took about a third of the
/// process's time in a flash-sale rush (its free lists, `malloc_consolidate`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long background work still running at exit (a search index commit, a
/// snapshot being written) may take before the process ends anyway: everything it
/// does is either committed already or rebuilt from the log.
const EXIT_GRACE: Duration = Duration::from_secs(5);

fn main() {
    app::server::disable_transparent_huge_pages();
    let runtime = tokio::runtime::Runtime::new().expect("the tokio runtime starts");
    let result = runtime.block_on(cli::run());
    runtime.shutdown_timeout(EXIT_GRACE);
    if let Err(error) = result {
        eprintln!("commerce: {}", describe(&error));
        std::process::exit(1);
    }
}

/// The error and its causes, each said once: many errors repeat their source's
/// message in their own ("database error: error returned from database: ..."), so a
/// cause whose words are already there is left out.
fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        if text.contains(&message) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&message);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_said_is_not_said_again() {
        let root = std::io::Error::other("database \"x\" does not exist");
        let error = anyhow::Error::new(root)
            .context("error returned from database: database \"x\" does not exist")
            .context("opening the log");
        assert_eq!(
            describe(&error),
            "opening the log: error returned from database: database \"x\" does not exist"
        );
    }
}
