//! The write side's entry point: every command goes through here.

use std::sync::Arc;

use domain::{
    ApiKey, ApiKeyCommand, City, CityCommand, CityView, FlashSale, Order, Product, ProductCommand,
    RegisterWarehouse, Reservation, Stock, StockCommand, Warehouse, WarehouseRegistry,
};
use event_log::{AppendBatch, EventStore, StoreError};
use event_schemas::activity::ACTIVITY_AGGREGATE;
use event_schemas::delivery::DELIVERY_FEED_AGGREGATE;
use event_schemas::stock::stock_aggregate_id;
use event_schemas::{ActivityEvent, DeliveryFeedEvent, Metadata};

use crate::clock::AppClock;
use crate::committer::GroupCommitter;
use crate::expiry::ExpiryIndex;
use crate::host::{
    AggregateHost, CommandError, CommandOutcome, Creates, HostContext, KeyedRequest,
};
use crate::warehouses::KnownWarehouses;
use cqrs_es::Aggregate;
use domain::StockLevels;

pub struct CommandService {
    store: EventStore,
    clock: AppClock,
    warehouses: Arc<KnownWarehouses>,
    stock: AggregateHost<Stock>,
    warehouse: AggregateHost<Warehouse>,
    api_key: AggregateHost<ApiKey>,
    city: AggregateHost<City>,
    pub(crate) reservation: AggregateHost<Reservation>,
    product: AggregateHost<Product>,
    pub(crate) order: AggregateHost<Order>,
    pub(crate) flash_sale: AggregateHost<FlashSale>,
    pub(crate) buyer_holds: AggregateHost<domain::BuyerHolds>,
    pub(crate) parked: AggregateHost<domain::ParkedEvents>,
    reorder: AggregateHost<domain::ReorderLine>,
    pub(crate) listing: AggregateHost<domain::Listing>,
    expiry: Arc<ExpiryIndex>,
    committer: GroupCommitter,
    /// Bumped whenever units of a flash sale are sold or come back, so queues waiting
    /// for a unit look again at once.
    pub(crate) flash_changes: tokio::sync::watch::Sender<u64>,
    pub(crate) sale_settlements: crate::flash_sales::SaleSettlements,
}

impl CommandService {
    /// Start the service and its group committer (needs a Tokio runtime).
    pub fn new(store: EventStore, clock: AppClock) -> Self {
        let committer = GroupCommitter::spawn(store.clone());
        let warehouses = Arc::new(KnownWarehouses::default());
        let context = HostContext {
            store: store.clone(),
            committer: committer.clone(),
            clock: clock.clone(),
            warehouses: warehouses.clone(),
        };
        Self {
            stock: AggregateHost::new(context.clone()),
            warehouse: AggregateHost::new(context.clone()),
            api_key: AggregateHost::new(context.clone()),
            city: AggregateHost::new(context.clone()),
            reservation: AggregateHost::new(context.clone()),
            product: AggregateHost::new(context.clone()),
            order: AggregateHost::new(context.clone()),
            flash_sale: AggregateHost::new(context.clone()).with_companion(Creates::<
                _,
                domain::Order,
            >::new(
                crate::flash_sales::order_for_purchase,
            )),
            buyer_holds: AggregateHost::new(context.clone()),
            parked: AggregateHost::new(context.clone()),
            reorder: AggregateHost::new(context.clone()),
            listing: AggregateHost::new(context).with_companion(Creates::<_, domain::Order>::new(
                crate::stays::order_for_stay,
            )),
            store,
            clock,
            warehouses,
            expiry: Default::default(),
            committer,
            flash_changes: tokio::sync::watch::channel(0).0,
            sale_settlements: Default::default(),
        }
    }

    /// Wakes when units of some flash sale were sold or came back.
    pub fn flash_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.flash_changes.subscribe()
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    pub fn clock(&self) -> &AppClock {
        &self.clock
    }

    pub(crate) fn expiry_index(&self) -> &Arc<ExpiryIndex> {
        &self.expiry
    }

    /// Stock aggregates live in memory now.
    pub fn live_stock_count(&self) -> usize {
        self.stock.live_count()
    }

    pub async fn register_warehouse(
        &self,
        command: RegisterWarehouse,
        metadata: &Metadata,
    ) -> Result<CommandOutcome, CommandError> {
        self.register_warehouse_keyed(command, metadata, None).await
    }

    /// Register a warehouse, recording `keyed`'s idempotency key with its event.
    pub async fn register_warehouse_keyed(
        &self,
        command: RegisterWarehouse,
        metadata: &Metadata,
        keyed: Option<KeyedRequest>,
    ) -> Result<CommandOutcome, CommandError> {
        let id = command.warehouse_id.clone();
        let (outcome, ()) = self
            .warehouse
            .execute(&id, command, metadata.clone(), keyed)
            .await?;
        self.warehouses.insert(&id);
        Ok(outcome)
    }

    pub async fn handle_stock(
        &self,
        command: StockCommand,
        metadata: &Metadata,
    ) -> Result<(CommandOutcome, StockLevels), CommandError> {
        self.handle_stock_keyed(command, metadata, None).await
    }

    /// Run a stock command, recording `keyed`'s idempotency key with its events.
    pub async fn handle_stock_keyed(
        &self,
        command: StockCommand,
        metadata: &Metadata,
        keyed: Option<KeyedRequest>,
    ) -> Result<(CommandOutcome, StockLevels), CommandError> {
        self.ensure_warehouse_known(&command.warehouse_id).await?;
        let id = stock_aggregate_id(&command.sku, &command.warehouse_id);
        let (sku, warehouse_id) = (command.sku.clone(), command.warehouse_id.clone());
        let (outcome, levels) = self
            .stock
            .execute(&id, command, metadata.clone(), keyed)
            .await?;
        if let (Some(at), true) = (levels.next_expiry, outcome.events > 0) {
            self.expiry.schedule(at, &sku, &warehouse_id);
        }
        Ok((outcome, levels))
    }

    /// List, update or delist a product; answers with the product as it then is.
    pub async fn handle_product(
        &self,
        command: ProductCommand,
        metadata: &Metadata,
        keyed: Option<KeyedRequest>,
    ) -> Result<(CommandOutcome, Product), CommandError> {
        let sku = match &command {
            ProductCommand::List { sku, .. }
            | ProductCommand::Update { sku, .. }
            | ProductCommand::Delist { sku } => sku.clone(),
        };
        self.product
            .execute(&sku, command, metadata.clone(), keyed)
            .await
    }

    /// A product as the catalog holds it (listed, delisted, or never seen).
    pub async fn product(&self, sku: &str) -> Result<(CommandOutcome, Product), CommandError> {
        let (outcome, product) = self.product.read(sku).await?;
        product.listed(sku)?;
        Ok((outcome, product))
    }

    /// Record shopper activity: each event its own one-event stream, so recording
    /// never contends; all of them ride the next group commit. Answers the position
    /// of the last event.
    pub async fn record_activity(
        &self,
        events: Vec<ActivityEvent>,
        metadata: &Metadata,
    ) -> Result<i64, CommandError> {
        self.record_each_alone(ACTIVITY_AGGREGATE, &events, metadata)
            .await
    }

    /// Record each event as its own one-event stream (see
    /// [`record_activity`](Self::record_activity)); answers the last position.
    pub async fn record_each_alone<E: cqrs_es::DomainEvent>(
        &self,
        aggregate_type: &str,
        events: &[E],
        metadata: &Metadata,
    ) -> Result<i64, CommandError> {
        let commits = events.iter().map(|event| {
            self.committer
                .commit(self.alone_batch(aggregate_type, event, metadata, Vec::new()))
        });
        let mut last = 0;
        for result in futures::future::join_all(commits).await {
            // A fresh stream id cannot conflict.
            let positions = result?.map_err(|_| CommandError::Contended)?;
            last = last.max(positions.last().copied().unwrap_or(0));
        }
        Ok(last)
    }

    /// Record one shopper action; with `keyed`, its idempotency key (answering `view`)
    /// goes in the same append. Answers the event's position.
    pub async fn record_activity_keyed(
        &self,
        event: ActivityEvent,
        metadata: &Metadata,
        keyed: Option<KeyedRequest>,
        view: serde_json::Value,
    ) -> Result<i64, CommandError> {
        self.record_alone(ACTIVITY_AGGREGATE, &event, metadata, keyed, view)
            .await
    }

    /// Record one event of the delivery feed (couriers, weather, local events) as its
    /// own stream, like activity; answers its position.
    pub async fn record_delivery_feed(
        &self,
        event: DeliveryFeedEvent,
        metadata: &Metadata,
        keyed: Option<KeyedRequest>,
        view: serde_json::Value,
    ) -> Result<i64, CommandError> {
        self.record_alone(DELIVERY_FEED_AGGREGATE, &event, metadata, keyed, view)
            .await
    }

    /// Record `event` as its own one-event stream; with `keyed`, its idempotency key
    /// (answering `view`) goes in the same append.
    pub(crate) async fn record_alone<E: cqrs_es::DomainEvent>(
        &self,
        aggregate_type: &str,
        event: &E,
        metadata: &Metadata,
        keyed: Option<KeyedRequest>,
        view: serde_json::Value,
    ) -> Result<i64, CommandError> {
        let receipts = keyed.iter().map(|k| k.receipt(1, &view, 0)).collect();
        let batch = self.alone_batch(aggregate_type, event, metadata, receipts);
        match self.committer.commit(batch).await? {
            Ok(positions) => Ok(positions.last().copied().unwrap_or(0)),
            // A fresh stream cannot conflict: the key was taken meanwhile (by another
            // process); answer as it was answered then.
            Err(_) => match &keyed {
                Some(keyed) => match self.store.find_receipt(&keyed.scope, &keyed.key).await? {
                    Some(receipt) => Err(CommandError::AlreadyDone(receipt)),
                    None => Err(CommandError::Contended),
                },
                None => Err(CommandError::Contended),
            },
        }
    }

    /// An event as its own one-event stream.
    fn alone_batch<E: cqrs_es::DomainEvent>(
        &self,
        aggregate_type: &str,
        event: &E,
        metadata: &Metadata,
        receipts: Vec<event_log::Receipt>,
    ) -> AppendBatch {
        AppendBatch {
            aggregate_type: aggregate_type.to_string(),
            aggregate_id: uuid::Uuid::now_v7().to_string(),
            expected_sequence: 0,
            events: vec![crate::host::encode(event, metadata, self.clock.now())],
            receipts,
        }
    }

    /// Suggest reordering a SKU in a warehouse, or clear a suggestion (once per
    /// crossing of the reorder point: the aggregate drops repeats). Answers whether
    /// an event was recorded.
    pub async fn handle_reorder(
        &self,
        command: domain::ReorderCommand,
        metadata: &Metadata,
    ) -> Result<bool, CommandError> {
        let id = match &command {
            domain::ReorderCommand::Suggest {
                sku, warehouse_id, ..
            }
            | domain::ReorderCommand::Clear {
                sku, warehouse_id, ..
            } => stock_aggregate_id(sku, warehouse_id),
        };
        let (outcome, _) = self
            .reorder
            .execute(&id, command, metadata.clone(), None)
            .await?;
        Ok(outcome.events > 0)
    }

    /// Set a city's delivery pricing, or declare or end an emergency there.
    pub async fn handle_city(
        &self,
        command: CityCommand,
        metadata: &Metadata,
        keyed: Option<KeyedRequest>,
    ) -> Result<(CommandOutcome, CityView), CommandError> {
        let id = command.city_id().to_string();
        self.city
            .execute(&id, command, metadata.clone(), keyed)
            .await
    }

    /// Create or revoke an API key.
    pub async fn handle_api_key(
        &self,
        command: ApiKeyCommand,
        metadata: &Metadata,
        keyed: Option<KeyedRequest>,
    ) -> Result<CommandOutcome, CommandError> {
        let id = match &command {
            ApiKeyCommand::Create { key_id, .. } | ApiKeyCommand::Revoke { key_id } => {
                key_id.clone()
            }
        };
        let (outcome, ()) = self
            .api_key
            .execute(&id, command, metadata.clone(), keyed)
            .await?;
        Ok(outcome)
    }

    /// A warehouse registered by another process is learnt from the log.
    async fn ensure_warehouse_known(&self, warehouse_id: &str) -> Result<(), StoreError> {
        if self.warehouses.is_registered(warehouse_id) {
            return Ok(());
        }
        let events = self.store.load(Warehouse::TYPE, warehouse_id, 0).await?;
        if !events.is_empty() {
            self.warehouses.insert(warehouse_id);
        }
        Ok(())
    }
}
