//! `commerce rebuild NAME`: through the running server, or in this process.

use std::time::Duration;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};

use projections::RebuildState;

use crate::config::StorageArgs;
use crate::datadir::{read_server_info, DataDirError, DataDirLock};
use crate::server::{client_with_key, offline_config, open_backend};
use api::routes::admin::ProjectionState;

/// How often progress is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

pub async fn run(
    projection: &str,
    storage: &StorageArgs,
    api_key: Option<&str>,
) -> anyhow::Result<()> {
    match DataDirLock::acquire(&storage.data_dir) {
        Ok(lock) => {
            let result = in_process(projection, storage).await;
            drop(lock);
            result
        }
        Err(DataDirError::InUse { .. }) => through_server(projection, storage, api_key).await,
        Err(other) => Err(other.into()),
    }
}

/// Ask the server that holds the data directory, and follow its progress.
async fn through_server(
    projection: &str,
    storage: &StorageArgs,
    api_key: Option<&str>,
) -> anyhow::Result<()> {
    let info = read_server_info(&storage.data_dir)
        .context("a server holds the data directory but has not said where it listens")?;
    let base = format!("http://{}/v1/admin/projections/{projection}", info.address);
    let client = client_with_key(api_key)?;
    eprintln!(
        "asking the server at {} to rebuild {projection}",
        info.address
    );
    let started = client.post(format!("{base}/rebuild")).send().await?;
    if !started.status().is_success() {
        let status = started.status();
        bail!(
            "the server refused: {status} {}",
            started.text().await.unwrap_or_default()
        );
    }
    let started: ProjectionState = started.json().await?;
    let generation = started.rebuild.generation;
    let bar = progress_bar();
    loop {
        tokio::time::sleep(PROGRESS_EVERY).await;
        let state: ProjectionState = client
            .get(&base)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let r = &state.rebuild;
        if r.generation >= generation {
            draw(&bar, r.position, r.target, r.events_applied);
        }
        match r.state {
            RebuildState::Done => {
                finish(&bar);
                eprintln!(
                    "rebuilt {projection}: {} events, now at position {}",
                    r.events_applied, state.position
                );
                return Ok(());
            }
            RebuildState::Failed => {
                finish(&bar);
                bail!("rebuild failed: {}", r.error.clone().unwrap_or_default())
            }
            _ => {}
        }
    }
}

/// No server holds the data directory: rebuild here.
async fn in_process(name: &str, storage: &StorageArgs) -> anyhow::Result<()> {
    let backend = open_backend(&offline_config(storage)).await?;
    let projector = backend
        .projections()
        .into_iter()
        .find(|p| p.name() == name)
        .ok_or_else(|| anyhow::anyhow!("no projection '{name}'"))?;
    let mut progress = projector.subscribe_rebuild();
    let bar = progress_bar();
    let drawn = bar.clone();
    let follower = tokio::spawn(async move {
        while progress.changed().await.is_ok() {
            let s = progress.borrow().clone();
            draw(&drawn, s.position, s.target, s.events_applied);
        }
    });
    eprintln!(
        "no server holds {}; rebuilding in this process",
        storage.data_dir.display()
    );
    let status = projector.rebuild_now().await;
    follower.abort();
    finish(&bar);
    let status = status?;
    eprintln!(
        "rebuilt {name}: {} events, now at position {}",
        status.events_applied,
        projector.position()
    );
    Ok(())
}

/// The rebuild's progress bar (hidden when standard error is not a terminal), shown
/// under the log lines.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("  {percent:>3}%  position {pos}/{len}  {msg}")
            .expect("a valid template"),
    );
    api::telemetry::show_progress(Some(bar.clone()));
    bar
}

fn draw(bar: &ProgressBar, position: i64, target: i64, applied: u64) {
    bar.set_length(target.max(0) as u64);
    bar.set_position(position.min(target).max(0) as u64);
    bar.set_message(format!("{applied} events applied"));
}

/// Take the bar away before the final words.
fn finish(bar: &ProgressBar) {
    bar.finish_and_clear();
    api::telemetry::show_progress(None);
}
