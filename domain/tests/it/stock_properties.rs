//! Random command sequences on one stock, with a clock that moves forward.
//!
//! Every command goes through the cqrs-es `Aggregate::handle` of a copy of the state
//! and through the pure `decide`, and is checked against a small reference model
//! written from the rules. After every step the stock's invariants must hold.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use domain::limits::MAX_QUANTITY_PER_COMMAND;
use domain::stock::Hold;
use domain::{Stock, StockAction};
use event_schemas::StockEvent;
use proptest::prelude::*;

use crate::support::*;

/// One step of a scenario: time passes, a command arrives, a hold is asked for
/// (expiring `expires_in` minutes from the moment it is asked), or the last hold
/// command arrives again unchanged (a client retry, to exercise idempotent holds).
#[derive(Debug, Clone)]
enum Step {
    Wait {
        minutes: i64,
    },
    Command(StockAction),
    Hold {
        hold_id: String,
        quantity: u64,
        expires_in: Option<i64>,
    },
    RetryLastHold,
}

fn hold_id() -> impl Strategy<Value = String> {
    prop_oneof![Just("h1"), Just("h2"), Just("h3")].prop_map(String::from)
}

/// No expiry, or some minutes from now: zero or less is already past.
fn expires_in() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![1 => Just(None), 4 => (-1i64..=12).prop_map(Some)]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0i64..=6).prop_map(|minutes| Step::Wait { minutes }),
        1 => Just(Step::RetryLastHold),
        3 => (0u64..=20).prop_map(|quantity| Step::Command(StockAction::Receive { quantity })),
        4 => (0u64..=20, proptest::option::of(hold_id()), any::<bool>()).prop_map(
            |(quantity, hold_id, order)| Step::Command(StockAction::Sell {
                quantity,
                hold_id,
                order_id: order.then(|| "order-1".to_string()),
            })
        ),
        2 => (0u64..=40).prop_map(|new_quantity| Step::Command(StockAction::Adjust {
            new_quantity,
            reason: "cycle count".into(),
        })),
        4 => (hold_id(), 0u64..=20, expires_in()).prop_map(|(hold_id, quantity, expires_in)| {
            Step::Hold {
                hold_id,
                quantity,
                expires_in,
            }
        }),
        2 => (hold_id(), 0u64..=25).prop_map(|(hold_id, sold)| Step::Command(
            StockAction::SettleHold { hold_id, sold }
        )),
        2 => hold_id().prop_map(|hold_id| Step::Command(StockAction::ReleaseHold {
            hold_id,
            reason: "order cancelled".into(),
        })),
        1 => Just(Step::Command(StockAction::ExpireHolds)),
    ]
}

/// The reference model: the stock as the rules describe it, kept apart from the
/// aggregate's own state and written without its helpers.
#[derive(Debug, Default)]
struct Model {
    on_hand: u64,
    holds: BTreeMap<String, (u64, Option<DateTime<Utc>>)>,
    /// Units sold so far from each open hold.
    sold_from: BTreeMap<String, u64>,
}

fn expired(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    matches!(expires_at, Some(at) if at <= now)
}

fn valid_quantity(quantity: u64) -> bool {
    (1..=MAX_QUANTITY_PER_COMMAND).contains(&quantity)
}

impl Model {
    fn held(&self) -> u64 {
        self.holds.values().map(|(q, _)| q).sum()
    }

    fn held_unexpired(&self, now: DateTime<Utc>) -> u64 {
        self.holds
            .values()
            .filter(|(_, e)| !expired(*e, now))
            .map(|(q, _)| q)
            .sum()
    }

    /// Drop the expired holds, with their release events.
    fn expire(&mut self, now: DateTime<Utc>) -> Vec<StockEvent> {
        let gone: Vec<(String, u64)> = self
            .holds
            .iter()
            .filter(|(_, (_, e))| expired(*e, now))
            .map(|(id, (q, _))| (id.clone(), *q))
            .collect();
        gone.iter()
            .map(|(id, q)| {
                self.close(id);
                released(id, *q, "expired")
            })
            .collect()
    }

    /// A hold is gone, with what was sold from it.
    fn close(&mut self, hold_id: &str) -> Option<(u64, Option<DateTime<Utc>>)> {
        self.sold_from.remove(hold_id);
        self.holds.remove(hold_id)
    }

    /// Sell `quantity` of the units in a hold.
    fn sell_from(&mut self, hold_id: &str, quantity: u64) {
        self.on_hand -= quantity;
        *self.sold_from.entry(hold_id.to_string()).or_default() += quantity;
        let in_hold = &mut self.holds.get_mut(hold_id).unwrap().0;
        *in_hold -= quantity;
        if *in_hold == 0 {
            self.close(hold_id);
        }
    }

    /// The events the rules call for, or the code of the refusal. The model changes
    /// only when the command is accepted.
    fn decide(
        &mut self,
        action: &StockAction,
        now: DateTime<Utc>,
    ) -> Result<Vec<StockEvent>, &'static str> {
        match action {
            StockAction::Receive { quantity } => {
                if !valid_quantity(*quantity) {
                    return Err("invalid_command");
                }
                self.on_hand += quantity;
                Ok(vec![received(*quantity)])
            }
            StockAction::Adjust {
                new_quantity,
                reason,
            } => {
                let mut events = self.expire(now);
                let held = self.held();
                events.push(adjusted(self.on_hand, *new_quantity, reason));
                if *new_quantity < held {
                    events.push(shortfall(*new_quantity, held));
                }
                self.on_hand = *new_quantity;
                Ok(events)
            }
            StockAction::ReleaseHold { hold_id, reason } => {
                let (quantity, _) = self.close(hold_id).ok_or("unknown_hold")?;
                Ok(vec![released(hold_id, quantity, reason)])
            }
            StockAction::ExpireHolds => Ok(self.expire(now)),
            StockAction::ExtendHold {
                hold_id,
                expires_at,
            } => {
                let (quantity, current) = *self.holds.get(hold_id).ok_or("unknown_hold")?;
                if expired(current, now) {
                    return Err("hold_expired");
                }
                match current {
                    None => Err("hold_never_expires"),
                    Some(end) if *expires_at > end => {
                        self.holds
                            .insert(hold_id.clone(), (quantity, Some(*expires_at)));
                        Ok(vec![StockEvent::StockHoldExtended {
                            sku: SKU.into(),
                            warehouse_id: WH.into(),
                            hold_id: hold_id.clone(),
                            expires_at: *expires_at,
                        }])
                    }
                    Some(end) if *expires_at == end => Ok(vec![]),
                    Some(_) => Err("invalid_command"),
                }
            }
            StockAction::Sell {
                quantity,
                hold_id: Some(hold_id),
                order_id,
            } => {
                if !valid_quantity(*quantity) {
                    return Err("invalid_command");
                }
                let (in_hold, expires_at) = *self.holds.get(hold_id).ok_or("unknown_hold")?;
                if expired(expires_at, now) {
                    return Err("hold_expired");
                }
                // Expired holds are released first and do not count towards a shortfall.
                if self.on_hand < self.held_unexpired(now) {
                    return Err("stock_short");
                }
                if *quantity > in_hold {
                    return Err("exceeds_hold");
                }
                let mut events = self.expire(now);
                self.sell_from(hold_id, *quantity);
                events.push(sold(*quantity, Some(hold_id), order_id.as_deref()));
                Ok(events)
            }
            StockAction::SettleHold {
                hold_id,
                sold: total,
            } => {
                let (in_hold, expires_at) = *self.holds.get(hold_id).ok_or("unknown_hold")?;
                let already = self.sold_from.get(hold_id).copied().unwrap_or(0);
                if *total <= already {
                    return Ok(vec![]);
                }
                if expired(expires_at, now) {
                    return Err("hold_expired");
                }
                if self.on_hand < self.held_unexpired(now) {
                    return Err("stock_short");
                }
                let quantity = total - already;
                if quantity > in_hold {
                    return Err("exceeds_hold");
                }
                let mut events = self.expire(now);
                self.sell_from(hold_id, quantity);
                events.push(sold(quantity, Some(hold_id), None));
                Ok(events)
            }
            StockAction::Sell {
                quantity,
                hold_id: None,
                order_id,
            } => {
                if !valid_quantity(*quantity) {
                    return Err("invalid_command");
                }
                let in_holds = self.held_unexpired(now);
                if self.on_hand < in_holds {
                    return Err("stock_short");
                }
                if *quantity > self.on_hand - in_holds {
                    return Err("insufficient_stock");
                }
                let mut events = self.expire(now);
                self.on_hand -= quantity;
                events.push(sold(*quantity, None, order_id.as_deref()));
                Ok(events)
            }
            StockAction::Hold {
                hold_id,
                quantity,
                expires_at,
            } => {
                if !valid_quantity(*quantity) {
                    return Err("invalid_command");
                }
                if let Some(&(in_hold, until)) = self.holds.get(hold_id) {
                    if !expired(until, now) {
                        return if in_hold == *quantity && until == *expires_at {
                            Ok(vec![])
                        } else {
                            Err("hold_exists")
                        };
                    }
                }
                if expired(*expires_at, now) {
                    return Err("invalid_command");
                }
                let in_holds = self.held_unexpired(now);
                if self.on_hand < in_holds {
                    return Err("stock_short");
                }
                if *quantity > self.on_hand - in_holds {
                    return Err("insufficient_stock");
                }
                let mut events = self.expire(now);
                self.holds.insert(hold_id.clone(), (*quantity, *expires_at));
                events.push(held(hold_id, *quantity, *expires_at));
                Ok(events)
            }
        }
    }

    fn as_stock(&self) -> Stock {
        Stock {
            on_hand: self.on_hand,
            holds: self
                .holds
                .iter()
                .map(|(id, (quantity, expires_at))| {
                    (
                        id.clone(),
                        Hold {
                            quantity: *quantity,
                            expires_at: *expires_at,
                            sold: self.sold_from.get(id).copied().unwrap_or(0),
                        },
                    )
                })
                .collect(),
        }
    }
}

/// Units in and out, from the events alone.
#[derive(Debug, Default)]
struct Ledger {
    received: i128,
    sold: i128,
    adjusted_by: i128,
}

impl Ledger {
    fn record(&mut self, event: &StockEvent, on_hand_before: u64) -> Result<(), TestCaseError> {
        match event {
            StockEvent::StockReceived { quantity, .. } => self.received += *quantity as i128,
            StockEvent::StockSold { quantity, .. } => self.sold += *quantity as i128,
            StockEvent::StockAdjusted {
                previous_quantity,
                new_quantity,
                ..
            } => {
                prop_assert_eq!(*previous_quantity, on_hand_before);
                self.adjusted_by += *new_quantity as i128 - *previous_quantity as i128;
            }
            _ => {}
        }
        Ok(())
    }

    fn on_hand(&self) -> i128 {
        self.received + self.adjusted_by - self.sold
    }
}

fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let warehouses = registry();
    let mut now = t0();
    let mut state = Stock::default();
    let mut model = Model::default();
    let mut log: Vec<StockEvent> = Vec::new();
    let mut ledger = Ledger::default();
    let mut last_hold: Option<StockAction> = None;

    for step in steps {
        let action = match step {
            Step::Wait { minutes } => {
                now += TimeDelta::minutes(minutes);
                continue;
            }
            Step::RetryLastHold => match &last_hold {
                Some(action) => action.clone(),
                None => continue,
            },
            Step::Hold {
                hold_id,
                quantity,
                expires_in,
            } => StockAction::Hold {
                hold_id,
                quantity,
                expires_at: expires_in.map(|m| now + TimeDelta::minutes(m)),
            },
            Step::Command(action) => action,
        };
        if matches!(action, StockAction::Hold { .. }) {
            last_hold = Some(action.clone());
        }
        let command = cmd(action.clone());
        let before = state.clone();

        // The cqrs-es path, on a copy: the sink applies each event as it is written.
        let mut handled = state.clone();
        let sink = EventSink::<Stock>::default();
        let outcome = runtime.block_on(handled.handle(command.clone(), &services_at(now), &sink));
        let written = runtime.block_on(sink.collect());

        let decided = state.decide(&command, now, &warehouses);
        let expected = model.decide(&action, now);

        match decided {
            Ok(events) => {
                prop_assert!(outcome.is_ok(), "handle refused what decide accepted");
                prop_assert_eq!(&written, &events, "handle wrote other events");
                prop_assert_eq!(
                    expected.as_ref(),
                    Ok(&events),
                    "the model expected otherwise for {:?}",
                    action
                );
                for event in &events {
                    prop_assert_eq!(event.stock_key(), (SKU, WH));
                    ledger.record(event, state.on_hand)?;
                    state.apply_event(event);
                }
                prop_assert_eq!(&handled, &state, "handle left another state");
                log.extend(events.iter().cloned());

                match &action {
                    // A sale from free stock never sells what is held.
                    StockAction::Sell { hold_id: None, .. } => {
                        prop_assert!(!state.is_short(), "oversold: {:?}", state);
                    }
                    // A hold is only ever placed on units that are there.
                    StockAction::Hold { .. } if !events.is_empty() => {
                        prop_assert!(!state.is_short(), "overheld: {:?}", state);
                    }
                    _ => {}
                }
                // Only a count can make a stock short.
                if !before.is_short() && !matches!(action, StockAction::Adjust { .. }) {
                    prop_assert!(!state.is_short(), "{:?} made {:?} short", action, state);
                }
                // A sale or new hold that touched the stock left no expired hold.
                let touched = matches!(
                    action,
                    StockAction::Sell { hold_id: None, .. } | StockAction::ExpireHolds
                ) || matches!(action, StockAction::Hold { .. } if !events.is_empty());
                if touched {
                    prop_assert!(
                        state.holds.values().all(|h| !expired(h.expires_at, now)),
                        "expired holds survived {:?}: {:?}",
                        action,
                        state
                    );
                }
            }
            Err(err) => {
                let handle_err = outcome.expect_err("handle accepted what decide refused");
                prop_assert_eq!(&handle_err, &err);
                prop_assert!(written.is_empty(), "a refusal wrote events");
                prop_assert_eq!(&handled, &before, "a refusal changed the aggregate");
                prop_assert_eq!(
                    expected,
                    Err(err.code.code()),
                    "the model expected otherwise for {:?}",
                    action
                );
            }
        }

        // The invariants, after every step.
        let sum_of_holds: u64 = state.holds.values().map(|h| h.quantity).sum();
        prop_assert_eq!(state.held(), sum_of_holds);
        prop_assert_eq!(
            state.available(),
            state.on_hand.saturating_sub(sum_of_holds)
        );
        prop_assert!(
            state.holds.values().all(|h| h.quantity > 0),
            "an empty hold stayed open"
        );
        prop_assert_eq!(
            &model.as_stock(),
            &state,
            "the model and the stock disagree"
        );
        prop_assert_eq!(&fold(&log), &state, "replaying the log gives another state");
        // Never oversold: what was sold is covered by what came in and was counted,
        // and on hand never went below zero (apply_event would have saturated).
        prop_assert!(ledger.sold <= ledger.received + ledger.adjusted_by);
        prop_assert_eq!(ledger.on_hand(), state.on_hand as i128);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_command_sequence_keeps_the_stock_consistent(
        steps in proptest::collection::vec(step(), 0..=40)
    ) {
        run(steps)?;
    }
}

/// A scenario the random runs reach only by luck, spelled out: holds expire while
/// the stock is short, and a free sale clears both.
#[test]
fn a_scripted_scenario_passes_the_same_checks() {
    let hold = |id: &str, quantity, expires_at: Option<DateTime<Utc>>| {
        Step::Command(StockAction::Hold {
            hold_id: id.into(),
            quantity,
            expires_at,
        })
    };
    let steps = vec![
        Step::Command(StockAction::Receive { quantity: 20 }),
        hold("h1", 8, Some(at(5))),
        hold("h2", 6, None),
        hold("h1", 8, Some(at(5))),
        Step::Command(StockAction::Adjust {
            new_quantity: 10,
            reason: "count".into(),
        }),
        Step::Command(StockAction::Sell {
            quantity: 1,
            hold_id: None,
            order_id: None,
        }),
        Step::Wait { minutes: 5 },
        Step::Command(StockAction::Sell {
            quantity: 2,
            hold_id: Some("h2".into()),
            order_id: Some("order-1".into()),
        }),
        Step::Command(StockAction::Sell {
            quantity: 4,
            hold_id: None,
            order_id: None,
        }),
        Step::Command(StockAction::Sell {
            quantity: 4,
            hold_id: Some("h2".into()),
            order_id: None,
        }),
        Step::Command(StockAction::ExpireHolds),
    ];
    run(steps).unwrap();
}
