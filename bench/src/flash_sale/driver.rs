//! How the flash-sale bench buys, pays and reads back: in this process (with or
//! without the admission queue) or over HTTP.

use super::*;

impl Driver {
    /// Over HTTP, the same-run baseline: a trivial authenticated POST (a shopper's
    /// view, recorded in the background) at `concurrency` for `duration`, as
    /// (requests/s, latency). `None` in process.
    pub(super) async fn trivial_post_rate(
        &self,
        concurrency: usize,
        duration: Duration,
    ) -> anyhow::Result<Option<(f64, Histogram<u64>)>> {
        let Driver::Http { client, base } = self else {
            return Ok(None);
        };
        let started = Instant::now();
        let deadline = started + duration;
        let loops: Vec<_> = (0..concurrency)
            .map(|n| {
                let (client, url) = (client.clone(), format!("{base}/v1/activity"));
                tokio::spawn(async move {
                    let mut latency = latency_histogram();
                    let mut done = 0u64;
                    while Instant::now() < deadline {
                        let body = json!({"user_id": format!("baseline-{n}"), "type": "viewed", "sku": "BASELINE-1"});
                        let sent = Instant::now();
                        let answer = client.post(&url).json(&body).send().await?;
                        if !answer.status().is_success() {
                            bail!("the baseline POST answered {}", answer.status());
                        }
                        record(&mut latency, sent.elapsed());
                        done += 1;
                    }
                    Ok::<_, anyhow::Error>((done, latency))
                })
            })
            .collect();
        let (mut done, mut latency) = (0u64, latency_histogram());
        for handle in loops {
            let (n, h) = handle.await??;
            done += n;
            latency.add(h).expect("same bounds");
        }
        Ok(Some((
            ratio(done as f64, started.elapsed().as_secs_f64()),
            latency,
        )))
    }

    pub(super) async fn setup(
        &self,
        run_id: &str,
        sale_id: &str,
        units: u64,
    ) -> anyhow::Result<()> {
        let warehouse_id = format!("fw-{run_id}");
        let sku = format!("FLASH-{run_id}");
        let now = chrono::Utc::now();
        match self {
            Driver::Local { service, .. } => {
                let metadata = Metadata::default();
                service
                    .register_warehouse(
                        RegisterWarehouse {
                            warehouse_id: warehouse_id.clone(),
                            name: "Flash bench".into(),
                            region: "bench".into(),
                            location: GeoPoint { lat: 0.0, lon: 0.0 },
                            ships_to: vec![],
                        },
                        &metadata,
                    )
                    .await?;
                service
                    .handle_stock(
                        StockCommand {
                            sku: sku.clone(),
                            warehouse_id: warehouse_id.clone(),
                            action: StockAction::Receive { quantity: units },
                        },
                        &metadata,
                    )
                    .await?;
                service
                    .schedule_flash_sale(
                        ScheduleFlashSale {
                            sale_id: sale_id.into(),
                            sku,
                            warehouse_id,
                            units,
                            price: Money {
                                amount: PRICE,
                                currency: "EUR".into(),
                            },
                            starts_at: now - chrono::Duration::seconds(1),
                            ends_at: now + chrono::Duration::hours(1),
                            per_user_limit: 1,
                            payment_window_seconds: 300,
                        },
                        &metadata,
                    )
                    .await?;
            }
            Driver::Http { client, base } => {
                let post = |path: &str, body: Value| {
                    client.post(format!("{base}{path}")).json(&body).send()
                };
                for (path, body) in [
                    (
                        "/v1/warehouses".to_string(),
                        json!({"warehouse_id": warehouse_id, "name": "Flash bench", "region": "bench",
                               "location": {"lat": 0.0, "lon": 0.0}, "ships_to": []}),
                    ),
                    (
                        format!("/v1/stock/{sku}/{warehouse_id}/receipts"),
                        json!({"quantity": units}),
                    ),
                    (
                        "/v1/flash-sales".to_string(),
                        json!({"sale_id": sale_id, "sku": sku, "warehouse_id": warehouse_id, "units": units,
                               "price": {"amount": PRICE, "currency": "EUR"},
                               "starts_at": now - chrono::Duration::seconds(1),
                               "ends_at": now + chrono::Duration::hours(1)}),
                    ),
                ] {
                    let answer = post(&path, body).await?;
                    if !answer.status().is_success() {
                        bail!("{path}: {} {}", answer.status(), answer.text().await?);
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) async fn purchase(
        &self,
        sale_id: &str,
        user: &str,
        tally: &Tally,
    ) -> anyhow::Result<Answer> {
        match self {
            Driver::Local { service, admission } => {
                if let Some(admission) = admission {
                    if let Admitted::Queued(ticket) =
                        admission.admit(sale_id, user, 1, service).await?
                    {
                        tally.queued.fetch_add(1, Ordering::Relaxed);
                        let waited = Instant::now();
                        loop {
                            let state = admission
                                .poll(sale_id, &ticket.ticket)
                                .await?
                                .map(|t| t.state);
                            let answer = match state {
                                Some(TicketState::Admitted { order_id, .. }) => {
                                    Answer::Reserved(order_id)
                                }
                                Some(TicketState::SoldOut) => Answer::SoldOut,
                                Some(TicketState::AllHeld) => Answer::AllHeld,
                                Some(TicketState::Waiting) => {
                                    tokio::time::sleep(Duration::from_millis(5)).await;
                                    continue;
                                }
                                other => Answer::Other(format!("{other:?}")),
                            };
                            record(
                                &mut tally.queue_wait.lock().expect("hist"),
                                waited.elapsed(),
                            );
                            return Ok(answer);
                        }
                    }
                }
                match service
                    .purchase_flash_sale(sale_id, user, 1, &Metadata::default())
                    .await
                {
                    Ok(purchase) => Ok(Answer::Reserved(purchase.order_id)),
                    Err(CommandError::Refused(r)) if r.code == domain::Refusal::AllHeld => {
                        Ok(Answer::AllHeld)
                    }
                    Err(CommandError::Refused(r)) if r.code == domain::Refusal::SoldOut => {
                        Ok(Answer::SoldOut)
                    }
                    Err(other) => Ok(Answer::Other(other.to_string())),
                }
            }
            Driver::Http { client, base } => {
                let answer = client
                    .post(format!("{base}/v1/flash-sales/{sale_id}/purchase"))
                    .json(&json!({"quantity": 1, "user_id": user}))
                    .send()
                    .await?;
                let status = answer.status().as_u16();
                let body: Value = answer.json().await.unwrap_or_default();
                let code = body["type"]
                    .as_str()
                    .unwrap_or("")
                    .trim_start_matches("/problems/")
                    .to_string();
                match (status, code.as_str()) {
                    (201, _) => Ok(Answer::Reserved(
                        body["order_id"].as_str().unwrap_or("").into(),
                    )),
                    (202, _) => {
                        tally.queued.fetch_add(1, Ordering::Relaxed);
                        let ticket = body["ticket"].as_str().unwrap_or("").to_string();
                        let waited = Instant::now();
                        loop {
                            let state: Value = client
                                .get(format!("{base}/v1/flash-sales/{sale_id}/queue/{ticket}"))
                                .send()
                                .await?
                                .json()
                                .await?;
                            let answer = match state["status"].as_str().unwrap_or("") {
                                "admitted" => Answer::Reserved(
                                    state["order_id"].as_str().unwrap_or("").into(),
                                ),
                                "sold_out" => Answer::SoldOut,
                                "all_held" => Answer::AllHeld,
                                "waiting" => {
                                    tokio::time::sleep(Duration::from_millis(20)).await;
                                    continue;
                                }
                                _ => Answer::Other(state.to_string()),
                            };
                            record(
                                &mut tally.queue_wait.lock().expect("hist"),
                                waited.elapsed(),
                            );
                            return Ok(answer);
                        }
                    }
                    (409, "all_held") => Ok(Answer::AllHeld),
                    (409, "sold_out") => Ok(Answer::SoldOut),
                    _ => Ok(Answer::Other(format!("{status} {body}"))),
                }
            }
        }
    }

    pub(super) async fn pay(&self, order_id: &str, succeeded: bool) -> anyhow::Result<()> {
        match self {
            Driver::Local { service, .. } => {
                service
                    .record_payment(
                        order_id,
                        &format!("pay-{order_id}"),
                        succeeded,
                        Money {
                            amount: PRICE,
                            currency: "EUR".into(),
                        },
                        &Metadata::default(),
                    )
                    .await
                    .with_context(|| format!("paying {order_id}"))?;
            }
            Driver::Http { client, base } => {
                let status = if succeeded { "succeeded" } else { "failed" };
                let answer = client
                    .post(format!("{base}/v1/payments/sandbox/{order_id}"))
                    .json(&json!({ "status": status }))
                    .send()
                    .await?;
                if !answer.status().is_success() {
                    bail!(
                        "paying {order_id}: {} {}",
                        answer.status(),
                        answer.text().await?
                    );
                }
            }
        }
        Ok(())
    }

    /// The sale once every payment is settled (nothing held any more).
    pub(super) async fn settled(&self, sale_id: &str, patience: Duration) -> anyhow::Result<Value> {
        let deadline = Instant::now() + patience;
        loop {
            let sale = match self {
                Driver::Local { service, .. } => {
                    serde_json::to_value(service.tick_flash_sale(sale_id).await?)?
                }
                Driver::Http { client, base } => {
                    client
                        .get(format!("{base}/v1/flash-sales/{sale_id}"))
                        .send()
                        .await?
                        .json()
                        .await?
                }
            };
            if sale["held"].as_u64() == Some(0) || Instant::now() > deadline {
                return Ok(sale);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
