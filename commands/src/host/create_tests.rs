//! Creating an aggregate without an owner: it writes once, keeps nothing in memory,
//! leaves what it cannot settle to an owner, and lets nothing overtake it.

use cqrs_es::Aggregate;
use domain::{Product, ProductCommand, Refusal};
use event_schemas::{GeoPoint, Money, ProductDetails, Shop};
use testkit::TestLog;

use super::*;
use crate::committer::{GroupCommitter, Request};

const SKU: &str = "mug-1";

fn details(title: &str) -> ProductDetails {
    ProductDetails {
        title: title.into(),
        description: "A mug".into(),
        tags: vec![],
        category: "home/kitchen/mugs".into(),
        materials: vec![],
        shop: Shop {
            shop_id: "shop-1".into(),
            name: "Shop".into(),
            location: GeoPoint {
                lat: 52.0,
                lon: 4.0,
            },
        },
        price: Money {
            amount: 1200,
            currency: "EUR".into(),
        },
        language: "en".into(),
    }
}

fn list(title: &str) -> ProductCommand {
    ProductCommand::List {
        sku: SKU.into(),
        details: details(title),
    }
}

fn context(log: &TestLog, committer: GroupCommitter) -> HostContext {
    HostContext {
        store: log.store.clone(),
        committer,
        clock: AppClock::System,
        warehouses: Default::default(),
    }
}

/// A host of products on `log` with its own committer, as another process has.
fn host(log: &TestLog) -> AggregateHost<Product> {
    AggregateHost::new(context(log, GroupCommitter::spawn(log.store.clone())))
}

async fn stored(log: &TestLog) -> usize {
    log.store.load(Product::TYPE, SKU, 0).await.unwrap().len()
}

fn refusal<T: std::fmt::Debug>(answer: Result<T, CommandError>) -> Refusal {
    match answer {
        Err(CommandError::Refused(refused)) => refused.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_creation_writes_its_events_and_keeps_no_owner() {
    let log = TestLog::sqlite().await;
    let products = host(&log);
    let (outcome, _) = products
        .create(SKU, list("Mug"), Metadata::default(), None)
        .await
        .unwrap();
    assert_eq!(outcome.events, 1);
    assert_eq!(products.live_count(), 0, "no owner is left behind");
    assert_eq!(stored(&log).await, 1);
    // The next command loads what was created.
    let (_, view) = products.read(SKU).await.unwrap();
    assert_eq!(
        serde_json::to_value(view).unwrap()["details"]["title"],
        "Mug"
    );
}

#[tokio::test]
async fn what_the_log_holds_already_is_decided_by_an_owner_that_loads_it() {
    let log = TestLog::sqlite().await;
    host(&log)
        .create(SKU, list("Mug"), Metadata::default(), None)
        .await
        .unwrap();
    // Another process, with nothing in memory: the append conflicts and an owner
    // decides on what the log holds.
    let other = host(&log);
    let (repeat, _) = other
        .create(SKU, list("Mug"), Metadata::default(), None)
        .await
        .unwrap();
    assert_eq!(repeat.events, 0, "a repeat writes nothing");
    let changed = other
        .create(SKU, list("Cup"), Metadata::default(), None)
        .await;
    assert_eq!(refusal(changed), Refusal::ProductExists);
    assert_eq!(stored(&log).await, 1);
}

#[tokio::test]
async fn of_many_creations_at_once_exactly_one_writes() {
    let log = TestLog::sqlite().await;
    let products = Arc::new(host(&log));
    let attempts: Vec<_> = (0..20)
        .map(|n| {
            let products = products.clone();
            let title = if n % 2 == 0 { "Mug" } else { "Cup" };
            tokio::spawn(async move {
                products
                    .create(SKU, list(title), Metadata::default(), None)
                    .await
            })
        })
        .collect();
    let (mut wrote, mut repeated, mut refused) = (0, 0, 0);
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok((outcome, _)) if outcome.events == 1 => wrote += 1,
            Ok(_) => repeated += 1,
            Err(CommandError::Refused(r)) if r.code == Refusal::ProductExists => refused += 1,
            Err(other) => panic!("unexpected answer: {other}"),
        }
    }
    assert_eq!(wrote, 1);
    assert_eq!(wrote + repeated + refused, 20);
    assert_eq!(stored(&log).await, 1);
}

#[tokio::test]
async fn a_command_arriving_during_a_creation_waits_for_it() {
    let log = TestLog::sqlite().await;
    let (committer, mut commits) = GroupCommitter::manual();
    let products = Arc::new(AggregateHost::<Product>::new(context(&log, committer)));
    let creating = {
        let products = products.clone();
        tokio::spawn(async move {
            products
                .create(SKU, list("Mug"), Metadata::default(), None)
                .await
        })
    };
    // The creation's append is held here, so the product is not in the log yet.
    let Request { batch, reply, .. } = commits.recv().await.expect("the creation commits");
    let delisting = {
        let products = products.clone();
        tokio::spawn(async move {
            let delist = ProductCommand::Delist { sku: SKU.into() };
            products
                .execute(SKU, delist, Metadata::default(), None)
                .await
        })
    };
    // Let the delisting reach the host (one thread: the tasks run when the test
    // yields). Taken by an owner now, it would be decided on the empty log.
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        products.queued(SKU),
        1,
        "the delisting waits in the queue that holds the creation's place"
    );
    let written = log.store.append(&[batch]).await.unwrap().remove(0);
    reply.send(Ok(written)).unwrap();
    creating.await.unwrap().unwrap();
    // The owner that takes the delisting appends through the manual committer too.
    let Request { batch, reply, .. } = commits.recv().await.expect("the delisting commits");
    let written = log.store.append(&[batch]).await.unwrap().remove(0);
    reply.send(Ok(written)).unwrap();
    let (outcome, _) = delisting.await.unwrap().unwrap();
    assert_eq!(
        outcome.events, 1,
        "the delisting applied to the created product"
    );
    assert_eq!(stored(&log).await, 2);
}

#[tokio::test]
async fn a_keyed_creation_carried_out_elsewhere_gets_its_recorded_answer() {
    let log = TestLog::sqlite().await;
    let keyed = || {
        Some(KeyedRequest {
            scope: "key-1".into(),
            key: "k".into(),
            request_hash: "h".into(),
        })
    };
    host(&log)
        .create(SKU, list("Mug"), Metadata::default(), keyed())
        .await
        .unwrap();
    let again = host(&log)
        .create(SKU, list("Mug"), Metadata::default(), keyed())
        .await;
    assert!(
        matches!(again, Err(CommandError::AlreadyDone(_))),
        "got {again:?}"
    );
    assert_eq!(stored(&log).await, 1);
}
