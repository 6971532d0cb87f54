//! `commerce`: the one binary. The command line is here; serving is `app`'s, the
//! HTTP face `api`'s, and the load generators `bench`'s (behind the `bench` feature,
//! on by default: a server built without it links none of the baselines' crates).

mod cli;

#[tokio::main]
async fn main() {
    if let Err(error) = cli::run().await {
        eprintln!("commerce: {error:#}");
        std::process::exit(1);
    }
}
