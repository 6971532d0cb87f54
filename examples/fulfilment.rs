//! An example fulfilment service, and the consumer contract of
//! `docs/DEPLOYMENT.md` in practice: it follows `FulfillmentRequested` on the
//! deployment's JetStream stream through a durable consumer of its own, "ships" each
//! shipment (a tracking number made from the event id), and reports
//! `ShipmentDispatched` back through the command API with the event's `ce-id` as
//! `Idempotency-Key`, so a redelivered event is answered from the first report's
//! receipt and records nothing twice. A message is acknowledged once the API took
//! the report (or refused it for good); on any other failure it is redelivered.
//!
//! ```sh
//! cargo run --example fulfilment -- --events nats://127.0.0.1:4222 \
//!     --api http://127.0.0.1:8080 --api-key <key with fulfilment:write>
//! ```

use std::time::Duration;

use async_nats::jetstream::{self, consumer, AckKind};
use clap::Parser;
use futures::StreamExt;
use serde_json::{json, Value};

#[derive(Debug, Parser)]
struct Args {
    /// NATS with JetStream.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    events: String,
    /// The deployment's `--nats-prefix`.
    #[arg(long, default_value = "commerce")]
    prefix: String,
    /// The durable consumer's name: one per service (its replicas share it).
    #[arg(long, default_value = "fulfilment")]
    durable: String,
    /// A command node's address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    api: String,
    /// A key with the `fulfilment:write` scope (not needed in development mode).
    #[arg(long, env = "COMMERCE_API_KEY")]
    api_key: Option<String>,
    /// Stop after this many shipments reported (default: run until stopped).
    #[arg(long)]
    exit_after: Option<usize>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let naming = bus::Naming::new(&args.prefix)?;
    let client = bus::connect(&args.events, "fulfilment example").await?;
    let stream = naming.ensure_stream(&jetstream::new(client)).await?;
    let consumer: consumer::PullConsumer = stream
        .get_or_create_consumer(
            &args.durable,
            consumer::pull::Config {
                durable_name: Some(args.durable.clone()),
                filter_subject: naming.subject("order", "FulfillmentRequested"),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                ..Default::default()
            },
        )
        .await?;
    let http = reqwest::Client::new();
    let mut messages = consumer.messages().await?;
    println!(
        "following {} as {}",
        naming.subject("order", "FulfillmentRequested"),
        args.durable
    );
    let mut reported = 0;
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| anyhow::anyhow!("{e}"))?;
        let event_id = header(&message, "ce-id")?;
        let payload: Value = serde_json::from_slice(&message.payload)?;
        let request = &payload["FulfillmentRequested"];
        let (Some(order_id), Some(warehouse_id)) = (
            request["order_id"].as_str(),
            request["warehouse_id"].as_str(),
        ) else {
            eprintln!("event {event_id} is not a FulfillmentRequested: dropped");
            message
                .ack_with(AckKind::Term)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            continue;
        };
        // Shipping: here a tracking number the event determines.
        let tracking_number = format!("TRK-{}", &event_id.replace('-', "")[..16]);
        let mut report = http
            .post(format!(
                "{}/v1/orders/{order_id}/shipments",
                args.api.trim_end_matches('/')
            ))
            .header("idempotency-key", &event_id)
            .json(&json!({
                "warehouse_id": warehouse_id, "carrier": "example-carrier",
                "tracking_number": tracking_number
            }));
        if let Some(key) = &args.api_key {
            report = report.bearer_auth(key);
        }
        match report.send().await {
            Ok(answer) if answer.status().is_success() => {
                let replayed = answer.headers().contains_key("idempotent-replayed");
                println!(
                    "dispatched {order_id} from {warehouse_id} as {tracking_number}{}",
                    if replayed { " (already reported)" } else { "" }
                );
                message.ack().await.map_err(|e| anyhow::anyhow!("{e}"))?;
                reported += 1;
            }
            Ok(answer) if answer.status().is_client_error() && answer.status() != 429 => {
                // Refused for good (the order is not ours to ship): never retried.
                eprintln!(
                    "{order_id}: refused {}: {}",
                    answer.status(),
                    answer.text().await?
                );
                message
                    .ack_with(AckKind::Term)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            outcome => {
                eprintln!("{order_id}: not reported ({outcome:?}); it comes again");
                message
                    .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }
        if args.exit_after.is_some_and(|n| reported >= n) {
            break;
        }
    }
    Ok(())
}

fn header(message: &jetstream::Message, name: &str) -> anyhow::Result<String> {
    message
        .headers
        .as_ref()
        .and_then(|h| h.get(name))
        .map(|v| v.as_str().to_string())
        .ok_or_else(|| anyhow::anyhow!("a message without {name}"))
}
