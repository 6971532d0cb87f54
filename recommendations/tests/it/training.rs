//! Given shoppers in the log, when the latent model is trained, swapped and rolled
//! back while lists are asked for, then every answer is whole and names the model
//! that made it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::Utc;
use event_schemas::product::PRODUCT_AGGREGATE;
use event_schemas::stock::STOCK_AGGREGATE;
use recommendations::sources::latent::AlsParams;
use recommendations::training::TrainingError;
use recommendations::{Config, Recommender, Request};
use testkit::TestLog;

use crate::follower::{listed, received, viewed};

const ACTIVITY: &str = event_schemas::activity::ACTIVITY_AGGREGATE;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_through_swaps_and_rollbacks_all_get_whole_lists() {
    let mut log = TestLog::sqlite().await;
    // Given twelve stocked items in three kinds, and shoppers who each keep to one
    for n in 0..12 {
        let sku = format!("I{n}");
        let category = ["home/kitchen", "office/lighting", "garden/tools"][n % 3];
        log.append_event(
            PRODUCT_AGGREGATE,
            &sku,
            &listed(&sku, "Thing", category, "oak"),
        )
        .await;
        log.append_event(STOCK_AGGREGATE, &format!("{sku}:ams-1"), &received(&sku))
            .await;
    }
    for user in 0..30 {
        for step in 0..3 {
            let sku = format!("I{}", (user % 3) + 3 * ((user + step) % 4));
            log.append_event(
                ACTIVITY,
                &format!("a-{user}-{step}"),
                &viewed(&format!("u{user}"), &sku),
            )
            .await;
        }
    }
    let live = recommendations::live(log.read.clone(), Config::default());
    live.catch_up().await.unwrap();
    let recommender = Recommender::new(live.clone(), AlsParams::default());
    assert_eq!(
        recommender.rollback(),
        Err(TrainingError::NothingToRollBackTo)
    );

    // When lists are asked for without pause while the model is trained and rolled back
    let asking = Arc::new(AtomicBool::new(true));
    let askers: Vec<_> = (0..2)
        .map(|n| {
            let (recommender, asking) = (recommender.clone(), asking.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while asking.load(Ordering::Relaxed) || answers.is_empty() {
                    let request = Request {
                        user_id: Some(format!("u{n}")),
                        limit: 5,
                        ..Request::default()
                    };
                    answers.push(recommender.recommend(&request, Utc::now()));
                    tokio::task::yield_now().await;
                }
                answers
            })
        })
        .collect();
    let first = recommender.train().await.unwrap();
    let second = recommender.train().await.unwrap();
    let rolled_back = recommender.rollback().unwrap();
    asking.store(false, Ordering::Relaxed);

    // Then every answer is a whole list from the model it names
    let position = live.position();
    assert_eq!(first.version, Some(format!("als{position}")));
    assert_eq!(second.previous_version, first.version);
    assert_eq!(rolled_back.version, first.version);
    assert_eq!(rolled_back.previous_version, second.version);
    for asker in askers {
        for list in asker.await.unwrap() {
            assert_eq!(list.items.len(), 5, "{list:?}");
            assert!(
                list.model_version == format!("p{position}")
                    || list.model_version == format!("p{position}.als{position}"),
                "{}",
                list.model_version
            );
        }
    }
    // And with a model in use, the shopper's lists carry its part
    let list = recommender.recommend(
        &Request {
            user_id: Some("u0".into()),
            limit: 5,
            ..Request::default()
        },
        Utc::now(),
    );
    assert_eq!(list.model_version, format!("p{position}.als{position}"));
    assert!(
        list.items.iter().any(|item| item
            .contributions
            .iter()
            .any(|(source, part)| *source == recommendations::Source::Latent && *part > 0.0)),
        "{list:?}"
    );
    log.drop_database().await;
}
