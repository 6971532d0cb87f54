//! `commerce seed --interactions N`: synthetic shoppers over the synthetic catalog,
//! written as atomic files (`synthetic.inter`, `synthetic.item`) for `commerce eval
//! recs`, so no third-party rating data is ever needed.
//!
//! How shoppers behave was written down here before any model was tuned, and is not
//! to be tuned to the models; nothing of it uses the recommendations' own scoring:
//!
//! * Items come from the product generator (a category, materials, tags, a title, a
//!   shop); their popularity follows Zipf (s = 1) over a shuffled order.
//! * Each shopper has three taste categories, drawn with the more popular categories
//!   likelier (Zipf s = 0.7 over the category table), visited 60 / 30 / 10 % of the
//!   time, and one preferred material (an item in it is three times likelier).
//! * A shopper browses in sessions, 1–48 h apart, each in one category: one of their
//!   tastes, a random category 15 % of the time, or, after a purchase, the category
//!   that goes with the purchase's (its complement) 35 % of the time.
//! * A session views 2–6 items of its category by popularity (30–300 s apart); a view
//!   is carted 25 % of the time and a cart bought 40 % of the time. Ratings: view 1,
//!   cart 3, purchase 5.
//! * Shoppers make 5 plus an exponential mean-20 number of interactions (at most 200);
//!   there are N / 25 of them over N / 20 items (at least 20 and 200).

use std::io::Write;
use std::path::Path;

use recommendations::offline::atomic::{write_interactions, write_items};
use recommendations::offline::{Interaction, ItemInfo};

use super::categories::CATEGORIES;
use super::generator::{cumulative_zipf, Generator};

const ITEM_ZIPF: f64 = 1.0;
const CATEGORY_ZIPF: f64 = 0.7;
const TASTE_PERCENTS: [u64; 3] = [60, 30, 10];
const EXPLORE_PERCENT: u64 = 15;
const COMPLEMENT_PERCENT: u64 = 35;
/// An item in the shopper's material is accepted always, another one time in three.
const OTHER_MATERIAL_PERCENT: u64 = 33;
const VIEWS_PER_SESSION: (u64, u64) = (2, 6);
const CART_PERCENT: u64 = 25;
const PURCHASE_PERCENT: u64 = 40;
const MIN_PER_SHOPPER: f64 = 5.0;
const MEAN_EXTRA_PER_SHOPPER: f64 = 20.0;
const MOST_PER_SHOPPER: usize = 200;
const INTERACTIONS_PER_SHOPPER: usize = 25;
const INTERACTIONS_PER_ITEM: usize = 20;

/// The synthetic items and interactions for `count` interactions, from `seed`.
pub fn generate(count: usize, seed: u64) -> (Vec<ItemInfo>, Vec<Interaction>) {
    generate_sized(count, (count / INTERACTIONS_PER_ITEM).max(200), seed)
}

/// As [`generate`], over `item_count` items.
pub fn generate_sized(
    count: usize,
    item_count: usize,
    seed: u64,
) -> (Vec<ItemInfo>, Vec<Interaction>) {
    let mut g = Generator::new(seed);
    let item_count = item_count.max(1);
    let shopper_count = (count / INTERACTIONS_PER_SHOPPER).max(20);
    let items: Vec<ItemInfo> = (0..item_count)
        .map(|n| {
            let product = g.product();
            ItemInfo {
                item: format!("item-{n}"),
                title: product.title,
                category: product.category,
                shop: product.shop.shop_id,
                tags: product.tags,
                materials: product.materials,
            }
        })
        .collect();
    // Popularity: Zipf over a shuffled order, so it is not the generation order.
    let mut order: Vec<usize> = (0..item_count).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, g.below(i as u64 + 1) as usize);
    }
    let zipf = cumulative_zipf(item_count, ITEM_ZIPF);
    let mut weight = vec![0.0; item_count];
    for (rank, &item) in order.iter().enumerate() {
        weight[item] = zipf[rank] - if rank == 0 { 0.0 } else { zipf[rank - 1] };
    }
    // Per category: its items and their cumulative weights.
    let mut by_category: Vec<(Vec<usize>, Vec<f64>)> =
        vec![(Vec::new(), Vec::new()); CATEGORIES.len()];
    for (n, item) in items.iter().enumerate() {
        let c = CATEGORIES
            .iter()
            .position(|c| c.path == item.category)
            .expect("a generated item's category is in the table");
        let (members, cumulative) = &mut by_category[c];
        let total = cumulative.last().copied().unwrap_or(0.0);
        members.push(n);
        cumulative.push(total + weight[n]);
    }
    let stocked: Vec<usize> = (0..CATEGORIES.len())
        .filter(|c| !by_category[*c].0.is_empty())
        .collect();
    let category_weights = cumulative_zipf(stocked.len(), CATEGORY_ZIPF);
    let complement = |c: usize| {
        stocked[(stocked.iter().position(|s| *s == c).unwrap_or(0) * 7 + 3) % stocked.len()]
    };

    let mut interactions = Vec::with_capacity(count);
    let materials: Vec<&str> = items
        .iter()
        .flat_map(|i| i.materials.first().map(String::as_str))
        .collect();
    for shopper in 0..shopper_count {
        if interactions.len() >= count {
            break;
        }
        let user = format!("user-{shopper}");
        let tastes: Vec<usize> = (0..3)
            .map(|_| stocked[g.weighted(&category_weights)])
            .collect();
        let material = materials[g.below(materials.len() as u64) as usize].to_string();
        let budget = (MIN_PER_SHOPPER - g.unit().max(1e-12).ln() * MEAN_EXTRA_PER_SHOPPER) as usize;
        let budget = budget.min(MOST_PER_SHOPPER);
        let mut clock = g.below(30 * 24 * 3600) as f64;
        let mut last_purchase: Option<usize> = None;
        let mut made = 0;
        while made < budget {
            clock += (3600 + g.below(47 * 3600)) as f64;
            let category = match last_purchase.take() {
                Some(bought) if g.chance(COMPLEMENT_PERCENT) => complement(bought),
                _ if g.chance(EXPLORE_PERCENT) => stocked[g.below(stocked.len() as u64) as usize],
                _ => {
                    let roll = g.below(100);
                    let index = if roll < TASTE_PERCENTS[0] {
                        0
                    } else if roll < TASTE_PERCENTS[0] + TASTE_PERCENTS[1] {
                        1
                    } else {
                        2
                    };
                    tastes[index]
                }
            };
            let (members, cumulative) = &by_category[category];
            let views =
                VIEWS_PER_SESSION.0 + g.below(VIEWS_PER_SESSION.1 - VIEWS_PER_SESSION.0 + 1);
            for _ in 0..views {
                if made >= budget {
                    break;
                }
                // Popular first; another material than the shopper's only sometimes.
                let item = loop {
                    let candidate = members[g.weighted(cumulative)];
                    let in_material = items[candidate].materials.first() == Some(&material);
                    if in_material || g.chance(OTHER_MATERIAL_PERCENT) {
                        break candidate;
                    }
                };
                clock += (30 + g.below(270)) as f64;
                let mut touch = |rating: f64, at: f64| {
                    interactions.push(Interaction {
                        user: user.clone(),
                        item: items[item].item.clone(),
                        rating,
                        timestamp: at,
                    });
                };
                touch(1.0, clock);
                made += 1;
                if g.chance(CART_PERCENT) {
                    clock += 20.0;
                    touch(3.0, clock);
                    made += 1;
                    if g.chance(PURCHASE_PERCENT) {
                        clock += 60.0;
                        touch(5.0, clock);
                        made += 1;
                        last_purchase = Some(category);
                    }
                }
            }
        }
    }
    interactions.truncate(count);
    (items, interactions)
}

/// Write the generated files into `dir`; answers their paths.
pub fn write(
    dir: &Path,
    items: &[ItemInfo],
    interactions: &[Interaction],
) -> std::io::Result<(std::path::PathBuf, std::path::PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let inter = dir.join("synthetic.inter");
    let item = dir.join("synthetic.item");
    let buffered = |path: &Path| std::fs::File::create(path).map(std::io::BufWriter::new);
    let mut file = buffered(&inter)?;
    write_interactions(&mut file, interactions)?;
    file.flush()?;
    let mut file = buffered(&item)?;
    write_items(&mut file, items)?;
    file.flush()?;
    Ok((inter, item))
}
