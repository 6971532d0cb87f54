//! `commerce`: the one binary. Everything lives in the `api` crate.

#[tokio::main]
async fn main() {
    if let Err(error) = api::run().await {
        eprintln!("commerce: {error:#}");
        std::process::exit(1);
    }
}
