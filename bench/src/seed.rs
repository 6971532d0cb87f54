//! `commerce seed --products N`: a realistic synthetic catalog written straight into
//! the event log (ProductListed, and StockReceived for most products): a category
//! tree, a Zipf-distributed vocabulary, shops around real cities, spread prices, and
//! some German and French listings.

use anyhow::Context;
use clap::Args;
use commands::{AppendBatch, EventStore, NewEvent};
use event_schemas::{
    GeoPoint, Metadata, Money, ProductDetails, ProductEvent, Shop, StockEvent,
    CURRENT_EVENT_VERSION,
};
use indicatif::{ProgressBar, ProgressStyle};

use app::config::StorageArgs;
use app::server::open_exclusive;

/// Products per append transaction.
const BATCH: usize = 5_000;
/// Share of products with stock, in percent.
const IN_STOCK_PERCENT: u64 = 70;
/// The warehouse seeded stock is received in.
pub const SEED_WAREHOUSE: &str = "seed-warehouse";

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Products to list.
    #[arg(long, default_value_t = 10_000)]
    pub products: usize,
    /// Seed of the generator: the same seed writes the same catalog (new SKUs).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[command(flatten)]
    pub storage: StorageArgs,
}

pub async fn run(args: SeedArgs) -> anyhow::Result<()> {
    let (_lock, backend) = open_exclusive(&args.storage, "seed").await?;
    let started = std::time::Instant::now();
    let written = write_catalog(backend.commands.store(), args.products, args.seed, true).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "seeded {written} products in {seconds:.1} s ({:.0} products/s); log head {}",
        written as f64 / seconds.max(1e-9),
        backend.commands.store().head_position().await?
    );
    Ok(())
}

/// Write `count` products (and their stock) into the log; returns how many.
pub async fn write_catalog(
    store: &EventStore,
    count: usize,
    seed: u64,
    progress: bool,
) -> anyhow::Result<usize> {
    let mut generator = Generator::new(seed);
    let run = uuid::Uuid::now_v7().simple().to_string()[20..].to_string();
    let bar = if progress {
        let bar = ProgressBar::new(count as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} products  {per_sec}  eta {eta}")
                .context("progress template")?,
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let now = chrono::Utc::now();
    let event = |event_type: &str, payload: serde_json::Value| NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: event_type.into(),
        event_version: CURRENT_EVENT_VERSION.into(),
        payload,
        metadata: Metadata {
            actor: Some("seed".into()),
            ..Default::default()
        },
        occurred_at: now,
    };
    let mut written = 0;
    while written < count {
        let size = BATCH.min(count - written);
        let mut batches = Vec::with_capacity(size * 2);
        for i in written..written + size {
            let sku = format!("SEED-{run}-{i:07}");
            let listed = ProductEvent::ProductListed {
                sku: sku.clone(),
                details: generator.product(),
            };
            batches.push(AppendBatch {
                aggregate_type: event_schemas::product::PRODUCT_AGGREGATE.into(),
                aggregate_id: sku.clone(),
                expected_sequence: 0,
                events: vec![event(listed.event_type(), serde_json::to_value(&listed)?)],
                receipts: Vec::new(),
            });
            if generator.below(100) < IN_STOCK_PERCENT {
                let received = StockEvent::StockReceived {
                    sku: sku.clone(),
                    warehouse_id: SEED_WAREHOUSE.into(),
                    quantity: 1 + generator.below(50),
                };
                batches.push(AppendBatch {
                    aggregate_type: event_schemas::stock::STOCK_AGGREGATE.into(),
                    aggregate_id: event_schemas::stock::stock_aggregate_id(&sku, SEED_WAREHOUSE),
                    expected_sequence: 0,
                    events: vec![event(
                        received.event_type(),
                        serde_json::to_value(&received)?,
                    )],
                    receipts: Vec::new(),
                });
            }
        }
        for result in store.append(&batches).await? {
            result.map_err(|_| anyhow::anyhow!("a seeded SKU already existed"))?;
        }
        written += size;
        bar.set_position(written as u64);
    }
    bar.finish_and_clear();
    Ok(written)
}

const CATEGORIES: &[(&str, &[&str])] = &[
    (
        "home/kitchen",
        &["mugs", "plates", "bowls", "knives", "pans"],
    ),
    ("home/decor", &["vases", "candles", "frames", "rugs"]),
    ("home/garden", &["planters", "tools", "lights", "furniture"]),
    ("fashion/women", &["dresses", "scarves", "bags", "shoes"]),
    ("fashion/men", &["shirts", "belts", "wallets", "shoes"]),
    ("jewelry", &["rings", "necklaces", "earrings", "bracelets"]),
    ("toys", &["puzzles", "dolls", "blocks"]),
    ("art", &["prints", "paintings", "sculptures"]),
];
const NOUNS: &[&str] = &[
    "mug", "plate", "bowl", "vase", "lamp", "candle", "scarf", "bag", "ring", "necklace", "print",
    "planter", "knife", "pan", "rug", "frame", "shirt", "wallet", "puzzle", "doll",
];
const ADJECTIVES: &[&str] = &[
    "handmade",
    "vintage",
    "ceramic",
    "wooden",
    "rustic",
    "modern",
    "minimalist",
    "colorful",
    "organic",
    "personalized",
    "small",
    "large",
    "blue",
    "green",
    "golden",
    "silver",
];
const MATERIALS: &[&str] = &[
    "ceramic",
    "wood",
    "steel",
    "glass",
    "cotton",
    "linen",
    "leather",
    "silver",
    "gold",
    "wool",
    "porcelain",
    "stoneware",
    "bamboo",
    "brass",
];
const GERMAN: &[&str] = &[
    "Tasse",
    "Schale",
    "Kerze",
    "Teller",
    "handgemacht",
    "Holz",
    "blau",
];
const FRENCH: &[&str] = &[
    "tasse",
    "bol",
    "bougie",
    "assiette",
    "fait main",
    "bois",
    "bleu",
];
const CITIES: &[(&str, f64, f64)] = &[
    ("Berlin", 52.52, 13.405),
    ("Paris", 48.8566, 2.3522),
    ("London", 51.5074, -0.1278),
    ("New York", 40.7128, -74.006),
    ("Portland", 45.5152, -122.6784),
    ("Lyon", 45.764, 4.8357),
    ("Munich", 48.1351, 11.582),
    ("Austin", 30.2672, -97.7431),
];
/// Words of the synthetic vocabulary beyond the real ones.
const VOCABULARY: usize = 5_000;
/// Shops products are spread over.
const SHOPS: usize = 500;

/// A small deterministic generator (SplitMix64) and the catalog's word lists.
pub struct Generator {
    state: u64,
    vocabulary: Vec<String>,
    /// Cumulative Zipf weights over `vocabulary`.
    cumulative: Vec<f64>,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        let mut generator = Self {
            state: seed,
            vocabulary: Vec::new(),
            cumulative: Vec::new(),
        };
        let syllables = [
            "ka", "lo", "mi", "ren", "to", "sa", "vi", "del", "mar", "no", "pe", "qua", "ri", "su",
            "ten", "bar", "cor", "fin", "gal", "lin",
        ];
        let mut words: Vec<String> = NOUNS
            .iter()
            .chain(ADJECTIVES)
            .chain(MATERIALS)
            .map(|w| w.to_string())
            .collect();
        while words.len() < VOCABULARY {
            let n = 2 + generator.below(2) as usize;
            let word: String = (0..n)
                .map(|_| syllables[generator.below(syllables.len() as u64) as usize])
                .collect();
            words.push(word);
        }
        let mut total = 0.0;
        for rank in 1..=words.len() {
            total += 1.0 / rank as f64;
            generator.cumulative.push(total);
        }
        generator.vocabulary = words;
        generator
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A word of the vocabulary, frequent ones far more often (Zipf, s = 1).
    pub fn word(&mut self) -> &str {
        let target = self.unit() * self.cumulative.last().copied().unwrap_or(0.0);
        let rank = self.cumulative.partition_point(|c| *c < target);
        &self.vocabulary[rank.min(self.vocabulary.len() - 1)]
    }

    fn words(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| self.word().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A category path and its leaf.
    pub fn category(&mut self) -> String {
        let (parent, leaves) = self.pick(CATEGORIES);
        format!("{parent}/{}", self.pick(leaves))
    }

    /// A point near one of the cities.
    pub fn city_point(&mut self) -> GeoPoint {
        let (_, lat, lon) = *self.pick(CITIES);
        GeoPoint {
            lat: lat + (self.unit() - 0.5) * 0.6,
            lon: lon + (self.unit() - 0.5) * 0.6,
        }
    }

    pub fn product(&mut self) -> ProductDetails {
        let language = match self.below(10) {
            0 => "de",
            1 => "fr",
            _ => "en",
        };
        let adjective = *self.pick(ADJECTIVES);
        let word = self.word().to_string();
        let mut title = format!("{adjective} {word} {}", self.pick(NOUNS));
        match language {
            "de" => title = format!("{} {}", self.pick(GERMAN), title),
            "fr" => title = format!("{} {}", self.pick(FRENCH), title),
            _ => {}
        }
        let description_words = 12 + self.below(20) as usize;
        let description = self.words(description_words);
        let tags = (0..3).map(|_| self.word().to_string()).collect();
        let materials = (0..1 + self.below(2))
            .map(|_| self.pick(MATERIALS).to_string())
            .collect();
        let shop = self.below(SHOPS as u64);
        // Each shop stays in one place: its point derives from its number.
        let mut shop_place = Generator {
            state: shop,
            vocabulary: Vec::new(),
            cumulative: Vec::new(),
        };
        let location = shop_place.city_point();
        // Prices spread log-uniformly from 3.00 to 500.00.
        let amount = (300.0 * (50_000.0f64 / 300.0).powf(self.unit())).round() as i64;
        ProductDetails {
            title,
            description,
            tags,
            category: self.category(),
            materials,
            shop: Shop {
                shop_id: format!("shop-{shop}"),
                name: format!(
                    "{} {} {}",
                    shop_place.pick(ADJECTIVES),
                    shop_place.pick(NOUNS),
                    shop_place.pick(&["Studio", "Atelier", "Works", "Goods"])
                ),
                location,
            },
            price: Money {
                amount,
                currency: "USD".into(),
            },
            language: language.into(),
        }
    }
}
