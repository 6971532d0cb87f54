//! Given a model that followed the log, when it is saved and loaded, or rebuilt,
//! then it answers as before and follows on from its position.

use event_schemas::product::PRODUCT_AGGREGATE;
use event_schemas::stock::STOCK_AGGREGATE;
use recommendations::snapshot::{self, RecommendationsHandle};
use recommendations::Config;
use testkit::TestLog;

use crate::follower::{ask, listed, received, viewed};

const ACTIVITY: &str = event_schemas::activity::ACTIVITY_AGGREGATE;

/// Five stocked items of two kinds, and a few views.
async fn shop(log: &mut TestLog) -> i64 {
    for (sku, title, category) in [
        ("MUG", "Stoneware mug", "home/kitchen"),
        ("BOWL", "Stoneware bowl", "home/kitchen"),
        ("CUP", "Stoneware cup", "home/kitchen"),
        ("LAMP", "Brass lamp", "office/lighting"),
        ("DESK", "Oak desk", "office/furniture"),
    ] {
        log.append_event(
            PRODUCT_AGGREGATE,
            sku,
            &listed(sku, title, category, "stoneware"),
        )
        .await;
        log.append_event(STOCK_AGGREGATE, &format!("{sku}:ams-1"), &received(sku))
            .await;
    }
    let mut last = 0;
    for (n, (user, sku)) in [
        ("ada", "MUG"),
        ("bo", "MUG"),
        ("bo", "LAMP"),
        ("cy", "BOWL"),
    ]
    .into_iter()
    .enumerate()
    {
        last = log
            .append_event(ACTIVITY, &format!("a-{n}"), &viewed(user, sku))
            .await;
    }
    last
}

#[tokio::test]
async fn a_saved_model_loads_at_its_position_and_follows_on_from_there() {
    let mut log = TestLog::sqlite().await;
    let last = shop(&mut log).await;
    let live = recommendations::live(log.read.clone(), Config::default());
    live.catch_up().await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    // When it is saved and loaded again
    let saved = snapshot::save(&live, dir.path()).await.unwrap();
    assert!(saved >= last);
    let loaded = snapshot::load(log.read.clone(), Config::default(), dir.path()).await;

    // Then it stands where it was and answers alike, before reading any log
    assert_eq!(loaded.position(), saved);
    for user in ["ada", "bo", "cy", "new"] {
        assert_eq!(ask(&loaded, user), ask(&live, user), "{user}");
    }
    // And it follows the log from there: ada's view of the lamp counts
    assert!(ask(&loaded, "ada").contains(&"LAMP".to_string()));
    let later = log
        .append_event(ACTIVITY, "a-late", &viewed("ada", "LAMP"))
        .await;
    loaded.catch_up().await.unwrap();
    assert!(loaded.position() >= later);
    assert!(!ask(&loaded, "ada").contains(&"LAMP".to_string()));

    // A snapshot made under other settings is not loaded: the model starts over
    let other = Config {
        view_weight: 2.0,
        ..Config::default()
    };
    let fresh = snapshot::load(log.read.clone(), other, dir.path()).await;
    assert_eq!(fresh.position(), 0);
    // Nor is one past the head of the log it is opened on (another database)
    let empty = TestLog::sqlite().await;
    let elsewhere = snapshot::load(empty.read.clone(), Config::default(), dir.path()).await;
    assert_eq!(elsewhere.position(), 0);
    empty.drop_database().await;
    log.drop_database().await;
}

#[tokio::test]
async fn a_rebuild_replaces_the_model_with_one_read_from_the_start() {
    let mut log = TestLog::sqlite().await;
    let last = shop(&mut log).await;
    let live = recommendations::live(log.read.clone(), Config::default());
    live.catch_up().await.unwrap();
    let before: Vec<_> = ["ada", "bo", "cy"].map(|u| ask(&live, u)).into();
    let dir = tempfile::tempdir().unwrap();
    let handle = RecommendationsHandle {
        live: live.clone(),
        dir: dir.path().to_path_buf(),
    };

    // When it is rebuilt (and saved)
    use projections::ProjectionHandle;
    let status = handle.rebuild_now().await.unwrap();

    // Then it read the whole log, answers alike, never went back, and was saved
    assert_eq!(status.state, projections::RebuildState::Done);
    assert!(status.events_applied >= 14, "{status:?}");
    assert!(live.position() >= last);
    let after: Vec<_> = ["ada", "bo", "cy"].map(|u| ask(&live, u)).into();
    assert_eq!(after, before);
    let loaded = snapshot::load(log.read.clone(), Config::default(), dir.path()).await;
    assert_eq!(loaded.position(), live.position());
    // And a second rebuild may follow the first
    handle.rebuild_now().await.unwrap();
    log.drop_database().await;
}
