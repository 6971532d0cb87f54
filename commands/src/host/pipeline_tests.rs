//! The pipelined owner against a reference that decides one batch at a time.
//!
//! A flash sale's owner gets random batches of purchases, sales, returns, ticks,
//! cancels and reads, the clock moving between batches, while the test plays the
//! committer: it sends batch N+1 while batch N waits for its commit, then commits N
//! for real or fails it. The reference decides each batch on the committed state and
//! knows which refusals the owner may answer before N lands (those that hold on the
//! committed state as well). Answers and the events in the log must be identical.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::Aggregate;
use domain::{Clock, FlashSale, FlashSaleCommand, ScheduleFlashSale};
use event_schemas::{FlashSaleEvent, Money};
use proptest::prelude::*;
use testkit::TestLog;

use super::batch::decide;
use super::owner::Owner;
use super::*;
use crate::clock::ManualClock;
use crate::committer::{GroupCommitter, Request};

const SALE: &str = "sale-1";
const BUYERS: [&str; 3] = ["ada", "bo", "cy"];

/// One command of a generated batch (`None` reads the view).
type Step = Option<FlashSaleCommand>;

/// A generated batch: its commands, how far the clock moves before it is sent, and
/// whether its commit fails. Sent while the batch before it commits, its first
/// `first_wave` commands go first and the rest after the owner has decided them.
#[derive(Debug, Clone)]
struct Plan {
    steps: Vec<Step>,
    advance_seconds: i64,
    fails: bool,
    first_wave: usize,
}

/// What a job was answered, as far as the reference can say it.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Accepted {
        events: usize,
        view: serde_json::Value,
    },
    Refused(DomainError),
    Failed,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

fn schedule() -> FlashSaleCommand {
    FlashSaleCommand::Schedule(ScheduleFlashSale {
        sale_id: SALE.into(),
        sku: "sku-1".into(),
        warehouse_id: "wh-1".into(),
        units: 4,
        price: Money {
            amount: 500,
            currency: "EUR".into(),
        },
        starts_at: start(),
        ends_at: start() + Duration::minutes(30),
        per_user_limit: 2,
        payment_window_seconds: 300,
    })
}

fn order_of(buyer: usize, n: u64) -> String {
    domain::ids::flash_order_id(SALE, BUYERS[buyer], n)
}

fn step() -> impl Strategy<Value = Step> {
    let buyer = 0..BUYERS.len();
    prop_oneof![
        6 => (buyer.clone(), 1..=3u64).prop_map(|(b, quantity)| Some(FlashSaleCommand::Purchase {
            user_id: BUYERS[b].into(),
            quantity,
        })),
        3 => (buyer.clone(), 1..=2u64).prop_map(|(b, n)| Some(FlashSaleCommand::Sell {
            order_id: order_of(b, n),
        })),
        2 => (buyer, 1..=2u64).prop_map(|(b, n)| Some(FlashSaleCommand::Return {
            order_id: order_of(b, n),
            reason: "payment_failed".into(),
        })),
        1 => Just(Some(FlashSaleCommand::Tick)),
        1 => Just(Some(FlashSaleCommand::Cancel)),
        1 => Just(None),
    ]
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        prop::collection::vec(step(), 1..6),
        prop_oneof![4 => Just(0i64), 1 => Just(200), 1 => Just(700)],
        prop::bool::weighted(0.3),
        1..6usize,
    )
        .prop_map(|(steps, advance_seconds, fails, first_wave)| Plan {
            first_wave: first_wave.min(steps.len()),
            steps,
            advance_seconds,
            fails,
        })
}

/// The reference: each batch decided in order on the committed state at its time.
async fn decide_reference(
    state: &FlashSale,
    steps: &[Step],
    now: DateTime<Utc>,
) -> (
    FlashSale,
    Vec<Result<(Vec<FlashSaleEvent>, serde_json::Value), DomainError>>,
) {
    let services = Services::at(now, Arc::new(KnownWarehouses::default()));
    let mut next = state.clone();
    let mut decisions = Vec::new();
    for step in steps {
        decisions.push(match step {
            Some(command) => decide(&mut next, command, &services).await.map(|events| {
                let view = serde_json::to_value(next.view_for(command, now)).unwrap();
                (events, view)
            }),
            None => Ok((Vec::new(), serde_json::to_value(next.view()).unwrap())),
        });
    }
    (next, decisions)
}

fn outcome_of(answer: Answer<FlashSale>) -> Outcome {
    match answer {
        Ok((outcome, view)) => Outcome::Accepted {
            events: outcome.events,
            view: serde_json::to_value(view).unwrap(),
        },
        Err(CommandError::Refused(refusal)) => Outcome::Refused(refusal),
        Err(CommandError::Store(_)) => Outcome::Failed,
        Err(other) => panic!("unexpected answer: {other:?}"),
    }
}

/// A job's answer: the one taken early, or the one to come.
enum Awaited {
    Early(Outcome),
    Later(oneshot::Receiver<Answer<FlashSale>>),
}

impl Awaited {
    async fn outcome(self) -> Outcome {
        match self {
            Awaited::Early(outcome) => outcome,
            Awaited::Later(answer) => outcome_of(
                tokio::time::timeout(testkit::PATIENCE, answer)
                    .await
                    .expect("the job is answered")
                    .expect("the owner answers"),
            ),
        }
    }

    /// Take the answer if it has come already.
    fn take_early(&mut self) -> bool {
        if let Awaited::Later(answer) = self {
            if let Ok(early) = answer.try_recv() {
                *self = Awaited::Early(outcome_of(early));
            }
        }
        matches!(self, Awaited::Early(_))
    }
}

/// Let the owner run until it waits again (the runtime has one thread, so it runs
/// only when the test yields).
async fn let_owner_run() {
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
}

async fn run_case(plans: Vec<Plan>) {
    let log = TestLog::sqlite().await;
    let (committer, mut commits) = GroupCommitter::manual();
    let clock = Arc::new(ManualClock::new(start()));
    let context = Arc::new(HostContext {
        store: log.store.clone(),
        committer,
        clock: AppClock::Manual(clock.clone()),
        warehouses: Default::default(),
    });
    let (queue, jobs) = mpsc::channel(QUEUE_PER_AGGREGATE);
    let owner = Owner::<FlashSale>::new(
        SALE,
        0,
        context,
        Default::default(),
        Default::default(),
        true,
        None,
    );
    tokio::spawn(owner.run(jobs));

    // The sale is scheduled first, and that commit succeeds.
    let mut plans = plans;
    plans.insert(
        0,
        Plan {
            steps: vec![Some(schedule())],
            advance_seconds: 0,
            fails: false,
            first_wave: 1,
        },
    );

    let send = |steps: &[Step]| -> Vec<Awaited> {
        steps
            .iter()
            .map(|command| {
                let (reply, answer) = oneshot::channel();
                let job = Job {
                    command: command.clone(),
                    metadata: Default::default(),
                    keyed: None,
                    companion_key: None,
                    min_position: 0,
                    reply,
                };
                queue
                    .try_send(Box::new(job))
                    .expect("the owner takes the job");
                Awaited::Later(answer)
            })
            .collect()
    };

    let mut committed = FlashSale::default();
    let mut committed_events: Vec<FlashSaleEvent> = Vec::new();
    let mut expected: Vec<Outcome> = Vec::new();
    let mut answers = Vec::new();
    // Batch k's jobs are sent before batch k is reached: the receivers and, when
    // they went while batch k-1 was in flight, which were answered early.
    let mut pending = send(&plans[0].steps);
    let mut answered_early: Vec<bool> = vec![false; plans[0].steps.len()];
    for k in 0..plans.len() {
        let now = clock.now();
        let (next, decisions) = decide_reference(&committed, &plans[k].steps, now).await;
        let events: Vec<FlashSaleEvent> = decisions
            .iter()
            .filter_map(|d| d.as_ref().ok())
            .flat_map(|(events, _)| events.clone())
            .collect();
        let fails = plans[k].fails && !events.is_empty();
        let mut batch_expected: Vec<Outcome> = decisions
            .iter()
            .zip(&answered_early)
            .map(|(decision, early)| match decision {
                Err(refusal) if *early => Outcome::Refused(refusal.clone()),
                _ if fails => Outcome::Failed,
                Ok((events, view)) => Outcome::Accepted {
                    events: events.len(),
                    view: view.clone(),
                },
                Err(refusal) => Outcome::Refused(refusal.clone()),
            })
            .collect();
        let receivers = std::mem::take(&mut pending);
        if events.is_empty() {
            // Nothing to commit: the batch is answered without the committer.
            for answer in receivers {
                answers.push(answer.outcome().await);
            }
            expected.append(&mut batch_expected);
            if let Some(following) = plans.get(k + 1) {
                clock.advance(Duration::seconds(following.advance_seconds));
                pending = send(&following.steps);
                answered_early = vec![false; following.steps.len()];
            }
            continue;
        }
        let Request { batch, reply, .. } = tokio::time::timeout(testkit::PATIENCE, commits.recv())
            .await
            .expect("the owner commits its batch")
            .expect("the committer is open");
        let written: Vec<FlashSaleEvent> = batch
            .events
            .iter()
            .map(|e| serde_json::from_str(&e.payload).unwrap())
            .collect();
        assert_eq!(
            written, events,
            "batch {k} writes what the reference decided"
        );
        // Batch k+1 goes while batch k is in flight: the owner decides it ahead and
        // answers now the refusals that hold on the committed state too.
        if let Some(following) = plans.get(k + 1) {
            clock.advance(Duration::seconds(following.advance_seconds));
            let (first_wave, second_wave) = following.steps.split_at(following.first_wave);
            pending = send(first_wave);
            let_owner_run().await;
            let (_, on_committed) = decide_reference(&committed, first_wave, clock.now()).await;
            let (_, ahead) = decide_reference(&next, first_wave, clock.now()).await;
            answered_early = on_committed
                .iter()
                .zip(&ahead)
                .map(|pair| matches!(pair, (Err(a), Err(b)) if a == b))
                .collect();
            for (answer, early) in pending.iter_mut().zip(&answered_early) {
                assert_eq!(
                    answer.take_early(),
                    *early,
                    "batch {}: a refusal true on the committed state is answered while batch {k} commits, and nothing else is",
                    k + 1
                );
            }
            // What arrives later while batch k still commits joins the same next
            // batch, decided on what the first wave leaves, and is answered with it.
            let mut later = send(second_wave);
            let_owner_run().await;
            for answer in later.iter_mut() {
                assert!(
                    !answer.take_early(),
                    "batch {}: the second wave is answered with its batch",
                    k + 1
                );
            }
            pending.extend(later);
            answered_early.extend(std::iter::repeat_n(false, second_wave.len()));
        }
        if fails {
            let _ = reply.send(Err(StoreError::Commit("injected failure".into())));
        } else {
            let result = log.store.append(&[batch]).await.expect("append");
            let _ = reply.send(Ok(result.into_iter().next().expect("one result")));
            committed = next;
            committed_events.extend(events);
        }
        for answer in receivers {
            answers.push(answer.outcome().await);
        }
        expected.append(&mut batch_expected);
    }
    assert_eq!(answers.len(), expected.len());
    for (i, (got, want)) in answers.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "answer {i}");
    }
    let stored: Vec<FlashSaleEvent> = log
        .store
        .load(FlashSale::TYPE, SALE, 0)
        .await
        .unwrap()
        .iter()
        .map(|e| e.decode(FlashSale::TYPE).unwrap())
        .collect();
    assert_eq!(
        stored, committed_events,
        "the log holds the reference's events"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn pipelined_owner_answers_and_writes_as_one_batch_at_a_time(plans in prop::collection::vec(plan(), 1..10)) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            tokio::time::timeout(StdDuration::from_secs(60), run_case(plans))
                .await
                .expect("the case finishes");
        });
    }
}

/// A live owner's task is as large as the largest step of its loop, and most owners
/// spend their life waiting (an order for its payment): a flash sale's 100,000 orders
/// kept 13 KB each when the loop held its steps inline. The steps are boxed, so a
/// waiting owner is its own fields and little more.
#[tokio::test]
async fn a_waiting_owner_is_small() {
    fn task_size<A: Hosted>(context: &Arc<HostContext>) -> (usize, usize) {
        let (_queue, jobs) = mpsc::channel(1);
        let owner = Owner::<A>::new(
            "id",
            0,
            context.clone(),
            Default::default(),
            Default::default(),
            true,
            None,
        );
        let fields = std::mem::size_of_val(&owner);
        (std::mem::size_of_val(&owner.run(jobs)), fields)
    }
    let log = TestLog::sqlite().await;
    let (committer, _commits) = GroupCommitter::manual();
    let context = Arc::new(HostContext {
        store: log.store.clone(),
        committer,
        clock: AppClock::Manual(Arc::new(ManualClock::new(start()))),
        warehouses: Default::default(),
    });
    for (name, (task, fields)) in [
        ("order", task_size::<domain::Order>(&context)),
        ("flash sale", task_size::<FlashSale>(&context)),
    ] {
        // Its fields, a batch in flight (the state it will leave), and the wait.
        assert!(
            task <= 3 * fields + 1_024,
            "a waiting {name} owner's task takes {task} bytes for {fields} bytes of fields"
        );
    }
}
