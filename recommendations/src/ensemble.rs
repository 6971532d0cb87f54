//! The list: candidates from every source, each source's scores normalised, a
//! weighted blend, diversity (MMR on content similarity plus caps per category and
//! shop in the first ten), filters (bought, dismissed, delisted, out of stock), and a
//! sentence saying why each item is there.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::catalog::Item;
use crate::model::Model;
use crate::sources::latent::Latent;
use crate::sources::trending::levels;

/// Neighbours taken per seed item from each similarity source.
const NEIGHBOURS: usize = 50;
/// Seed items (the shopper's heaviest) a list starts from.
const SEEDS: usize = 20;
/// Of those, the ones content neighbours are looked up for (content is the weaker
/// signal for a shopper with history, and each lookup scores hundreds of items).
const CONTENT_SEEDS: usize = 5;
/// Trending candidates, and how far down the ranking the category filter looks.
const TRENDING: usize = 200;
const TRENDING_SCAN: usize = 20_000;
/// The list's first places, where the caps per category and per shop apply.
const TOP: usize = 10;
/// A dismissal lowers the score of its category's items by this factor.
const DISMISSED_CATEGORY: f64 = 0.5;
/// How far down the newest listings a list looks for new items to show.
const NEWEST_SCAN: usize = 2_000;
/// A new item's boost below which it is no longer new (four halvings).
const NEW_BOOST_FLOOR: f64 = 1.0 / 16.0;

/// What a list is asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    /// `None`: an anonymous visitor.
    pub user_id: Option<String>,
    pub limit: usize,
    /// Only items under this category path.
    pub category: Option<String>,
    /// The product being looked at: its neighbours count most.
    pub context_sku: Option<String>,
    /// Only items like the context or the shopper's own (content and collaborative),
    /// not what is trending: a product page's "similar items".
    pub similar_only: bool,
}

impl Request {
    /// Items like `sku`, for its product page.
    pub fn similar_to(sku: &str, limit: usize) -> Self {
        Request {
            user_id: None,
            limit,
            category: None,
            context_sku: Some(sku.to_string()),
            similar_only: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Collaborative,
    Content,
    Trending,
    /// Recently listed: a boost that decays with the item's age.
    New,
    /// The latent-factor model (ALS), when one is trained: part of the collaborative
    /// share.
    Latent,
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    pub sku: String,
    pub title: String,
    pub category: String,
    /// The blended score, before diversity re-ranks.
    pub score: f64,
    /// Each source's share of the score (its normalised score times its weight).
    pub contributions: Vec<(Source, f64)>,
    /// Why it is here, naming the item or category behind it.
    pub because: String,
}

/// A candidate's score from one source and the seed item that gave most of it.
#[derive(Debug, Clone, Default)]
struct Evidence {
    score: f64,
    best: f64,
    seed: Option<String>,
}

impl Evidence {
    fn add(&mut self, score: f64, seed: &str) {
        self.score += score;
        if score > self.best {
            self.best = score;
            self.seed = Some(seed.to_string());
        }
    }
}

pub(crate) fn recommend(
    model: &Model,
    latent: Option<&Latent>,
    request: &Request,
    now: DateTime<Utc>,
) -> Vec<Recommendation> {
    let config = &model.config;
    let limit = request.limit.clamp(1, crate::MAX_LIMIT);
    let history = request
        .user_id
        .as_deref()
        .and_then(|u| model.histories.get(u));
    let mut seeds = history.map(|h| h.seeds()).unwrap_or_default();
    let distinct = seeds.len();
    seeds.truncate(SEEDS);
    if let Some(context) = &request.context_sku {
        seeds.retain(|(sku, _)| sku != context);
        seeds.insert(0, (context.clone(), config.purchase_weight));
    }

    let mut collaborative: HashMap<String, Evidence> = HashMap::new();
    let mut content: HashMap<String, Evidence> = HashMap::new();
    for (n, (seed, weight)) in seeds.iter().enumerate() {
        for (sku, similarity) in model.co.neighbours(seed, NEIGHBOURS, config.shrinkage) {
            collaborative
                .entry(sku)
                .or_default()
                .add(weight * similarity, seed);
        }
        if n >= CONTENT_SEEDS {
            continue;
        }
        for (sku, similarity) in model.content.neighbours(seed, NEIGHBOURS) {
            content
                .entry(sku)
                .or_default()
                .add(weight * similarity, seed);
        }
    }
    let shopper = history.map(Shopper::of);
    let in_scope = |sku: &str| {
        model
            .catalog
            .get(sku)
            .is_some_and(|item| showable_to(item, request, shopper.as_ref()))
    };
    let trending: HashMap<String, f64> = if request.similar_only {
        HashMap::new()
    } else {
        model
            .trending
            .top(TRENDING, TRENDING_SCAN, now, in_scope)
            .into_iter()
            .collect()
    };

    // Shoppers with little history lean on what their few items are like.
    let (mut collaborative_share, mut content_share) =
        (config.collaborative_share, config.content_share);
    if (1..=3).contains(&distinct) {
        collaborative_share *= 1.5;
        content_share *= 1.5;
    }
    let mut candidates: Vec<String> = collaborative
        .keys()
        .chain(content.keys())
        .chain(trending.keys())
        .filter(|sku| in_scope(sku))
        .cloned()
        .collect();
    candidates.sort();
    candidates.dedup();

    // The latent model scores the candidates only, for a shopper folded in from the
    // same seeds; it takes its part of the collaborative share.
    // (No seeds, or none the model knows: no vector, no scores.)
    let latent_scores: HashMap<String, f64> = latent
        .and_then(|factors| Some((factors, factors.fold_in(&seeds)?)))
        .map(|(factors, shopper)| {
            candidates
                .iter()
                .filter_map(|sku| {
                    let score = factors.score(&shopper, sku)?;
                    (score > 0.0).then(|| (sku.clone(), score))
                })
                .collect()
        })
        .unwrap_or_default();
    // A model that knows none of the shopper's items takes nothing from the others.
    let latent_share = if !latent_scores.is_empty() {
        collaborative_share * config.latent_part
    } else {
        0.0
    };
    collaborative_share -= latent_share;
    let latent_max = max_score(latent_scores.values().copied());
    let collaborative_max = max_score(collaborative.values().map(|e| e.score));
    let content_max = max_score(content.values().map(|e| e.score));
    let trending_max = max_score(trending.values().copied());

    // Dismissals per category, counted once for the whole list.
    let mut dismissed_in: HashMap<&str, i32> = HashMap::new();
    for sku in history.into_iter().flat_map(|h| &h.dismissed) {
        if let Some(item) = model.catalog.get(sku) {
            *dismissed_in.entry(item.category.as_str()).or_default() += 1;
        }
    }
    let penalised = |item: &Item| {
        DISMISSED_CATEGORY.powi(
            dismissed_in
                .get(item.category.as_str())
                .copied()
                .unwrap_or(0),
        )
    };
    let mut scored: Vec<Recommendation> = candidates
        .into_iter()
        .map(|sku| {
            let collaborative_part = collaborative
                .get(&sku)
                .map_or(0.0, |e| e.score / collaborative_max * collaborative_share);
            let content_part = content
                .get(&sku)
                .map_or(0.0, |e| e.score / content_max * content_share);
            let trending_part = trending
                .get(&sku)
                .map_or(0.0, |s| s / trending_max * config.trending_share);
            let latent_part = latent_scores
                .get(&sku)
                .map_or(0.0, |s| s / latent_max * latent_share);
            let item = model
                .catalog
                .get(&sku)
                .expect("candidates are in the catalog");
            let score =
                (collaborative_part + content_part + trending_part + latent_part) * penalised(item);
            let mut contributions = vec![
                (Source::Collaborative, collaborative_part),
                (Source::Content, content_part),
                (Source::Trending, trending_part),
            ];
            if latent.is_some() {
                contributions.push((Source::Latent, latent_part));
            }
            Recommendation {
                sku,
                title: String::new(),
                category: String::new(),
                score,
                contributions,
                because: String::new(),
            }
        })
        .filter(|r| r.score > 0.0)
        .collect();
    scored.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.sku.cmp(&b.sku)));
    let mut chosen = diversify(model, scored, limit);
    // Only what is shown is described and explained.
    let behind = Behind {
        collaborative: &collaborative,
        content: &content,
        latent,
        seeds: &seeds,
    };
    for recommendation in &mut chosen {
        let item = model
            .catalog
            .get(&recommendation.sku)
            .expect("in the catalog");
        recommendation.title.clone_from(&item.title);
        recommendation.category.clone_from(&item.category);
        recommendation.because = explain(
            model,
            request,
            history,
            item,
            &recommendation.contributions,
            &behind,
        );
    }
    if !request.similar_only {
        make_room_for_new_items(model, request, shopper.as_ref(), &mut chosen, limit, now);
    }
    chosen
}

/// One place in every `new_item_every` (the last of each block) goes to the newest
/// item not yet in the list, while there are items young enough to count as new; a
/// list shorter than asked is filled with the newest items, so every shopper gets a
/// list while anything is in stock.
fn make_room_for_new_items(
    model: &Model,
    request: &Request,
    shopper: Option<&Shopper>,
    chosen: &mut Vec<Recommendation>,
    limit: usize,
    now: DateTime<Utc>,
) {
    let config = &model.config;
    let half_life = config.new_item_half_life.num_seconds().max(1) as f64;
    let boost = |item: &Item| {
        let age = (now - item.listed_at).num_seconds().max(0) as f64;
        0.5f64.powf(age / half_life)
    };
    let mut newest = model
        .catalog
        .newest_first()
        .take(NEWEST_SCAN)
        .filter(|item| showable_to(item, request, shopper));
    let mut next_new = |chosen: &[Recommendation]| {
        newest
            .by_ref()
            .find(|item| chosen.iter().all(|r| r.sku != item.sku))
            .map(|item| new_item(item, boost(item)))
    };
    let every = config.new_item_every.max(1);
    let mut block = 0;
    while block < limit && block <= chosen.len() {
        let end = (block + every).min(chosen.len());
        let has_new = chosen[block..end].iter().any(|r| {
            r.contributions
                .iter()
                .any(|(source, boost)| *source == Source::New && *boost >= NEW_BOOST_FLOOR)
        });
        if !has_new {
            let Some(new) = next_new(chosen).filter(|new| new.score >= NEW_BOOST_FLOOR) else {
                break;
            };
            let slot = (block + every - 1).min(chosen.len());
            chosen.insert(slot, new);
            chosen.truncate(limit);
        }
        block += every;
    }
    while chosen.len() < limit {
        let Some(new) = next_new(chosen) else { break };
        chosen.push(new);
    }
}

/// A new item as a recommendation, with its boost as its score.
fn new_item(item: &Item, boost: f64) -> Recommendation {
    Recommendation {
        sku: item.sku.clone(),
        title: item.title.clone(),
        category: item.category.clone(),
        score: boost,
        contributions: vec![(Source::New, boost)],
        because: in_category("new", item),
    }
}

/// Whether `item` may be in this list: listed and in stock, not dismissed, not the
/// product being looked at, under the asked category, and not one the shopper
/// bought or touched lately (a bought item the shop marks re-buyable comes back).
fn showable_to(item: &Item, request: &Request, shopper: Option<&Shopper>) -> bool {
    item.showable()
        && request.context_sku.as_deref() != Some(item.sku.as_str())
        && request
            .category
            .as_deref()
            .is_none_or(|category| levels(&item.category).iter().any(|level| level == category))
        && shopper.is_none_or(|s| {
            let h = s.history;
            let rebuy = item.rebuyable && h.bought.contains(&item.sku);
            let known = h.bought.contains(&item.sku) || s.recent.contains(item.sku.as_str());
            !h.dismissed.contains(&item.sku) && (rebuy || !known)
        })
}

/// A shopper's history, with their recent items as a set (looked up per candidate).
struct Shopper<'a> {
    history: &'a crate::history::History,
    recent: std::collections::HashSet<&'a str>,
}

impl<'a> Shopper<'a> {
    fn of(history: &'a crate::history::History) -> Self {
        Shopper {
            history,
            recent: history.recent.iter().map(|i| i.sku.as_str()).collect(),
        }
    }
}

fn max_score(scores: impl Iterator<Item = f64>) -> f64 {
    scores.fold(0.0, f64::max).max(f64::MIN_POSITIVE)
}

/// What the sources found behind a list's items, to explain them by.
struct Behind<'a> {
    collaborative: &'a HashMap<String, Evidence>,
    content: &'a HashMap<String, Evidence>,
    latent: Option<&'a Latent>,
    /// The items the list started from (`context_sku` first, when given).
    seeds: &'a [(String, f64)],
}

/// The sentence for the source that gave the most.
fn explain(
    model: &Model,
    request: &Request,
    history: Option<&crate::history::History>,
    item: &Item,
    contributions: &[(Source, f64)],
    behind: &Behind,
) -> String {
    let Behind {
        collaborative,
        content,
        latent,
        seeds,
    } = *behind;
    let (source, _) =
        contributions
            .iter()
            .copied()
            .fold((Source::Trending, f64::MIN), |best, c| {
                if c.1 > best.1 {
                    c
                } else {
                    best
                }
            });
    fn seed_and_title<'a>(
        model: &'a Model,
        evidence: Option<&'a Evidence>,
    ) -> Option<(&'a str, &'a str)> {
        let seed = evidence?.seed.as_deref()?;
        Some((
            seed,
            model.catalog.get(seed).map_or(seed, |i| i.title.as_str()),
        ))
    }
    let title_of = |evidence| seed_and_title(model, evidence);
    let is_context = |seed: &str| request.context_sku.as_deref() == Some(seed);
    match source {
        Source::Collaborative => match title_of(collaborative.get(&item.sku)) {
            Some((seed, title)) if history.is_some_and(|h| h.bought.contains(seed)) => {
                format!("bought together with {title}")
            }
            Some((seed, title)) if is_context(seed) => format!("often chosen with {title}"),
            Some((_, title)) => format!("often viewed with {title}"),
            None => trending_in(item),
        },
        Source::Content => match title_of(content.get(&item.sku)) {
            Some((seed, title)) if is_context(seed) => format!("similar to {title}"),
            Some((_, title)) => format!("similar to {title} you viewed"),
            None => trending_in(item),
        },
        Source::Latent => {
            // The seed most like it in factor space.
            let nearest = seeds
                .iter()
                .map(|(seed, _)| (seed, latent.map_or(0.0, |l| l.likeness(seed, &item.sku))))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            match nearest {
                Some((seed, _)) => {
                    let title = model.catalog.get(seed).map_or(seed.as_str(), |i| &i.title);
                    format!("liked by shoppers who liked {title}")
                }
                None => trending_in(item),
            }
        }
        Source::Trending | Source::New => trending_in(item),
    }
}

/// "trending in home/kitchen": the category at most two levels deep.
fn trending_in(item: &Item) -> String {
    in_category("trending", item)
}

/// "`what` in home/kitchen": the item's category at most two levels deep.
fn in_category(what: &str, item: &Item) -> String {
    let levels = levels(&item.category);
    match levels.get(1).or(levels.first()) {
        Some(category) => format!("{what} in {category}"),
        None => what.to_string(),
    }
}

/// Re-rank by MMR (relevance against likeness to what is already chosen) and keep
/// at most the configured number per category and per shop among the first ten.
fn diversify(model: &Model, mut pool: Vec<Recommendation>, limit: usize) -> Vec<Recommendation> {
    let config = &model.config;
    let lambda = config.diversity_lambda;
    // MMR only needs the head of the pool (sorted by score): the rest could never be
    // chosen.
    pool.truncate(limit * 5);
    let best = pool.first().map_or(1.0, |r| r.score.max(f64::MIN_POSITIVE));
    // Each candidate's likeness to the nearest item chosen so far, kept up to date
    // one pick at a time.
    let mut pool: Vec<(Recommendation, f64)> = pool.into_iter().map(|r| (r, 0.0)).collect();
    let mut chosen: Vec<Recommendation> = Vec::with_capacity(limit);
    let mut per_category: HashMap<String, usize> = HashMap::new();
    let mut per_shop: HashMap<String, usize> = HashMap::new();
    while chosen.len() < limit && !pool.is_empty() {
        let in_top = chosen.len() < TOP;
        let within_caps = |r: &Recommendation| {
            let item = model.catalog.get(&r.sku).expect("in the catalog");
            !in_top
                || (per_category.get(&item.category).copied().unwrap_or(0)
                    < config.per_category_in_top
                    && per_shop.get(&item.shop_id).copied().unwrap_or(0) < config.per_shop_in_top)
        };
        let mmr = |(r, likeness): &(Recommendation, f64)| {
            lambda * r.score / best - (1.0 - lambda) * likeness
        };
        // The best by MMR within the caps (ties to the earlier, higher-scored one);
        // when every candidate left breaks a cap, the caps give way rather than the
        // list, and the highest score is taken.
        let pick = pool
            .iter()
            .enumerate()
            .filter(|(_, candidate)| within_caps(&candidate.0))
            .fold(None, |best: Option<(usize, f64)>, (i, candidate)| {
                let value = mmr(candidate);
                match best {
                    Some((_, top)) if top >= value => best,
                    _ => Some((i, value)),
                }
            })
            .map_or(0, |(i, _)| i);
        let (picked, _) = pool.remove(pick);
        for (candidate, likeness) in &mut pool {
            *likeness = likeness.max(model.content.similarity(&candidate.sku, &picked.sku));
        }
        let item = model.catalog.get(&picked.sku).expect("in the catalog");
        *per_category.entry(item.category.clone()).or_default() += 1;
        *per_shop.entry(item.shop_id.clone()).or_default() += 1;
        chosen.push(picked);
    }
    chosen
}
