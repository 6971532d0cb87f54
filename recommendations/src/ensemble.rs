//! The list: candidates from every source, each source's scores normalised, a
//! weighted blend, diversity (MMR on content similarity plus caps per category and
//! shop in the first ten), filters (bought, dismissed, delisted, out of stock), and a
//! sentence saying why each item is there.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;

use crate::catalog::{Catalog, IdMap, IdSet, Item, ItemId, Standing};
use crate::history::History;
use crate::model::Model;
use crate::sources::content::Prepared;
use crate::sources::latent::Latent;
use crate::sources::trending::is_under;
use crate::taste::{dismissals_by_category, DISMISSED_CATEGORY};
use event_schemas::product::category_levels;

/// Neighbours taken per seed item from each similarity source.
const NEIGHBOURS: usize = 50;
/// Seed items (the shopper's heaviest) a list starts from.
const SEEDS: usize = 20;
/// Of those, the ones content neighbours are taken for (content is the weaker signal
/// for a shopper with history).
const CONTENT_SEEDS: usize = 5;
/// Trending candidates, and how far down the ranking the category filter looks.
const TRENDING: usize = 200;
const TRENDING_SCAN: usize = 20_000;
/// The shopper's categories trending looks into, and the candidates from each.
const FAVOURITE_CATEGORIES: usize = 3;
const TRENDING_PER_FAVOURITE: usize = 100;
/// Most candidates a list scores in full (the latent model scores each one).
const MOST_CANDIDATES: usize = 1_000;
/// The list's first places, where the caps per category and per shop apply.
const TOP: usize = 10;
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
#[derive(Debug, Clone, Copy, Default)]
struct Evidence {
    score: f64,
    best: f64,
    seed: Option<ItemId>,
}

impl Evidence {
    fn add(&mut self, score: f64, seed: ItemId) {
        self.score += score;
        if score > self.best {
            self.best = score;
            self.seed = Some(seed);
        }
    }
}

/// Each source's share of a candidate's score (a new item has its boost only).
#[derive(Debug, Clone, Copy, Default)]
struct Parts {
    collaborative: f64,
    content: f64,
    trending: f64,
    /// Only when a latent model is in use.
    latent: Option<f64>,
    /// Only for an item placed for being new.
    new: Option<f64>,
}

impl Parts {
    fn new_item(boost: f64) -> Self {
        Parts {
            new: Some(boost),
            ..Parts::default()
        }
    }

    fn contributions(&self) -> Vec<(Source, f64)> {
        if let Some(boost) = self.new {
            return vec![(Source::New, boost)];
        }
        let mut contributions = vec![
            (Source::Collaborative, self.collaborative),
            (Source::Content, self.content),
            (Source::Trending, self.trending),
        ];
        contributions.extend(self.latent.map(|part| (Source::Latent, part)));
        contributions
    }

    /// The blended score (a new item's boost, or every source's part).
    fn total(&self) -> f64 {
        self.new.unwrap_or(
            self.collaborative + self.content + self.trending + self.latent.unwrap_or(0.0),
        )
    }

    /// The source that gave the most (the first of equals).
    fn strongest(&self) -> Source {
        self.contributions()
            .into_iter()
            .fold((Source::Trending, f64::MIN), |best, c| {
                if c.1 > best.1 {
                    c
                } else {
                    best
                }
            })
            .0
    }
}

/// An item on its way into the list: known by number until it is shown.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    id: ItemId,
    /// The blended score, before diversity re-ranks.
    score: f64,
    parts: Parts,
}

/// Who the list is for and what it may not show, worked out once per list.
struct Audience<'a> {
    catalog: &'a Catalog,
    request: &'a Request,
    /// The product being looked at, when the catalog knows it.
    context: Option<ItemId>,
    history: Option<&'a History>,
    /// The shopper's recent items, looked up per candidate.
    recent: IdSet,
}

impl Audience<'_> {
    /// Whether `item` may be in this list: listed and in stock, not dismissed, not
    /// the product being looked at, under the asked category, and not one the
    /// shopper bought or touched lately (a bought item the shop marks re-buyable
    /// comes back).
    ///
    /// The item itself is read only for a list under a category: the rest is in the
    /// catalog's standing bytes.
    fn may_see(&self, id: ItemId) -> bool {
        let standing = self.catalog.standing(id);
        standing.showable
            && self.context != Some(id)
            && self.history.is_none_or(|h| {
                let bought = h.bought.contains(&id);
                let known = bought || self.recent.contains(&id);
                !h.dismissed.contains(&id) && ((standing.rebuyable && bought) || !known)
            })
            && self.request.category.as_deref().is_none_or(|category| {
                self.catalog
                    .item(id)
                    .is_some_and(|item| is_under(&item.category, category))
            })
    }
}

pub(crate) fn recommend(
    model: &Model,
    latent: Option<&Latent>,
    request: &Request,
    now: DateTime<Utc>,
) -> Vec<Recommendation> {
    let config = &model.config;
    let catalog = &model.catalog;
    let limit = request.limit.clamp(1, crate::MAX_LIMIT);
    let history = request
        .user_id
        .as_deref()
        .and_then(|u| model.histories.get(u));
    let context = request
        .context_sku
        .as_deref()
        .and_then(|sku| catalog.id(sku));
    let mut seeds = history
        .map(|h| h.seeds(config.recency_half_life))
        .unwrap_or_default();
    let distinct = seeds.len();
    seeds.truncate(SEEDS);
    if let Some(context) = context {
        seeds.retain(|(item, _)| *item != context);
        seeds.insert(0, (context, config.purchase_weight));
    }
    let audience = Audience {
        catalog,
        request,
        context,
        history,
        recent: history
            .map(|h| h.recent.iter().map(|i| i.item).collect())
            .unwrap_or_default(),
    };

    let mut collaborative: IdMap<Evidence> =
        IdMap::with_capacity_and_hasher(SEEDS * NEIGHBOURS, Default::default());
    let mut content: IdMap<Evidence> =
        IdMap::with_capacity_and_hasher(CONTENT_SEEDS * NEIGHBOURS, Default::default());
    for (n, &(seed, weight)) in seeds.iter().enumerate() {
        for (item, similarity) in model.co.neighbours(seed, NEIGHBOURS, config.shrinkage) {
            collaborative
                .entry(item)
                .or_default()
                .add(weight * similarity, seed);
        }
        if n >= CONTENT_SEEDS {
            continue;
        }
        // Among items alike, the ones shoppers choose: a neighbour counts by the
        // square root of how many touched it (an untouched one, such as a new
        // listing, counts once).
        for &(item, similarity) in model.content.nearest(seed).iter().take(NEIGHBOURS) {
            let similarity = f64::from(similarity);
            let chosen = (1.0 + model.co.occurrences(item)).sqrt();
            content
                .entry(item)
                .or_default()
                .add(weight * similarity * chosen, seed);
        }
    }
    let in_scope = |id: ItemId| audience.may_see(id);
    let trending: IdMap<f64> = if request.similar_only {
        IdMap::default()
    } else {
        trending_for(model, &seeds, in_scope, now)
    };

    // Shoppers with little history lean on what their few items are like.
    let (mut collaborative_share, mut content_share) =
        (config.collaborative_share, config.content_share);
    if (1..=3).contains(&distinct) {
        collaborative_share *= 1.5;
        content_share *= 1.5;
    }
    let mut candidates: Vec<ItemId> = collaborative
        .keys()
        .chain(content.keys())
        .chain(trending.keys())
        .copied()
        .filter(|&id| in_scope(id))
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    // Each source's score of each candidate, as a share of the source's best.
    let collaborative_max = max_score(collaborative.values().map(|e| e.score));
    let content_max = max_score(content.values().map(|e| e.score));
    let trending_max = max_score(trending.values().copied());
    let mut normalised: Vec<(ItemId, [f64; 3])> = candidates
        .into_iter()
        .map(|id| {
            let scores = [
                collaborative
                    .get(&id)
                    .map_or(0.0, |e| e.score / collaborative_max),
                content.get(&id).map_or(0.0, |e| e.score / content_max),
                trending.get(&id).map_or(0.0, |s| s / trending_max),
            ];
            (id, scores)
        })
        .collect();
    let blend = |scores: &[f64; 3], collaborative_share: f64| {
        scores[0] * collaborative_share
            + scores[1] * content_share
            + scores[2] * config.trending_share
    };
    if normalised.len() > MOST_CANDIDATES {
        // The latent model scores each candidate: keep the ones the other sources
        // rank highest.
        normalised.select_nth_unstable_by(MOST_CANDIDATES, |a, b| {
            blend(&b.1, collaborative_share)
                .total_cmp(&blend(&a.1, collaborative_share))
                .then(a.0.cmp(&b.0))
        });
        normalised.truncate(MOST_CANDIDATES);
    }

    // The latent model scores the candidates only, for a shopper folded in from the
    // same seeds; it takes its part of the collaborative share.
    // (No seeds, or none the model knows: no vector, no scores.)
    // Each candidate's score, in the order of `normalised` (0 when the model has no
    // factors for it or predicts nothing).
    let latent_scores: Vec<f64> = latent
        .and_then(|factors| Some((factors, factors.fold_in(&seeds)?)))
        .map(|(factors, shopper)| {
            factors
                .scores(&shopper, normalised.iter().map(|(id, _)| id))
                .into_iter()
                .map(|score| score.unwrap_or(0.0).max(0.0))
                .collect()
        })
        .unwrap_or_default();
    let latent_max = max_score(latent_scores.iter().copied());
    // A model that knows none of the shopper's items takes nothing from the others.
    let latent_share = if latent_scores.iter().any(|s| *s > 0.0) {
        collaborative_share * config.latent_part
    } else {
        0.0
    };
    collaborative_share -= latent_share;

    // Dismissals per category, counted once for the whole list.
    let dismissed_in = dismissals_by_category(history, catalog);
    // (The item is read only when there is something to look up.)
    let penalised = |id: ItemId| {
        if dismissed_in.is_empty() {
            return 1.0;
        }
        let item = catalog.item(id).expect("candidates are in the catalog");
        match dismissed_in.get(item.category.as_str()) {
            Some(&dismissals) => DISMISSED_CATEGORY.powi(dismissals),
            None => 1.0,
        }
    };
    let mut scored: Vec<Candidate> = normalised
        .into_iter()
        .enumerate()
        .map(|(n, (id, [collaborative, content, trending]))| {
            let parts = Parts {
                collaborative: collaborative * collaborative_share,
                content: content * content_share,
                trending: trending * config.trending_share,
                latent: latent.map(|_| {
                    latent_scores
                        .get(n)
                        .map_or(0.0, |s| s / latent_max * latent_share)
                }),
                new: None,
            };
            Candidate {
                id,
                score: parts.total() * penalised(id),
                parts,
            }
        })
        .filter(|c| c.score > 0.0)
        .collect();
    scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    let mut chosen = diversify(model, &scored, limit);
    if !request.similar_only {
        make_room_for_the_long_tail(model, &scored, &mut chosen, limit);
        make_room_for_new_items(model, &audience, &mut chosen, limit, now);
    }
    // Only what is shown is described and explained.
    let behind = Behind {
        collaborative: &collaborative,
        content: &content,
        latent,
        seeds: &seeds,
    };
    chosen
        .into_iter()
        .map(|candidate| {
            let item = catalog.item(candidate.id).expect("in the catalog");
            Recommendation {
                sku: item.sku.clone(),
                title: item.title.clone(),
                category: item.category.clone(),
                score: candidate.score,
                contributions: candidate.parts.contributions(),
                because: explain(model, &audience, &candidate, item, &behind),
            }
        })
        .collect()
}

/// Trending for this shopper: each item's share of its category's trend, times how
/// likely the shopper is to be in that category (their seeds' weight in it, with
/// [`Config::other_categories_share`](crate::Config) of the catalogue's own mix);
/// for a shopper without history, plain trending. Candidates are the catalogue's
/// top and the top of the shopper's favourite categories.
fn trending_for(
    model: &Model,
    seeds: &[(ItemId, f64)],
    in_scope: impl Fn(ItemId) -> bool,
    now: DateTime<Utc>,
) -> IdMap<f64> {
    let (catalog, trending) = (&model.catalog, &model.trending);
    let mut tastes: HashMap<&str, f64> = HashMap::new();
    for &(seed, weight) in seeds {
        if let Some(item) = catalog.item(seed) {
            *tastes.entry(item.category.as_str()).or_default() += weight;
        }
    }
    let taste_total: f64 = tastes.values().sum();
    let mut favourites: Vec<(&str, f64)> = tastes.iter().map(|(c, w)| (*c, *w)).collect();
    favourites.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut found: IdMap<f64> = trending
        .top(TRENDING, TRENDING_SCAN, now, &in_scope)
        .into_iter()
        .collect();
    for &(category, _) in favourites.iter().take(FAVOURITE_CATEGORIES) {
        found.extend(trending.top_in(
            category,
            TRENDING_PER_FAVOURITE,
            TRENDING_SCAN,
            now,
            &in_scope,
        ));
    }
    let all = trending.total(now);
    let outside = model.config.other_categories_share;
    // Per category number: its count, and the shopper's taste for it.
    let mut in_category: FxHashMap<u32, (f64, f64)> = FxHashMap::default();
    found
        .into_iter()
        .map(|(id, count)| {
            let (category_count, taste) = *in_category
                .entry(catalog.standing(id).category)
                .or_insert_with_key(|&number| {
                    let category = catalog.category_name(number);
                    let taste = tastes.get(category).copied().unwrap_or(0.0);
                    (trending.category(category, now), taste)
                });
            // An item counted before it was listed in its category: its share of
            // everything.
            if category_count <= 0.0 || count > category_count * (1.0 + 1e-9) {
                return (id, count / all.max(count));
            }
            let catalogue = category_count / all;
            let likely = if taste_total > 0.0 {
                let taste = taste / taste_total;
                (1.0 - outside) * taste + outside * catalogue
            } else {
                catalogue
            };
            (id, likely * count / category_count)
        })
        .collect()
}

/// Items per category and per shop (by number) among the first ten so far, against
/// the caps diversity and the long-tail place both keep.
#[derive(Default)]
struct TopCaps {
    per_category: FxHashMap<u32, usize>,
    per_shop: FxHashMap<u32, usize>,
}

impl TopCaps {
    fn count(&mut self, item: Standing) {
        *self.per_category.entry(item.category).or_default() += 1;
        *self.per_shop.entry(item.shop).or_default() += 1;
    }

    /// Whether one more `item` stays within both caps.
    fn allow(&self, config: &crate::Config, item: Standing) -> bool {
        let held = |counts: &FxHashMap<u32, usize>, key| counts.get(&key).copied().unwrap_or(0);
        held(&self.per_category, item.category) < config.per_category_in_top
            && held(&self.per_shop, item.shop) < config.per_shop_in_top
    }
}

/// One place in every `long_tail_every` (the one before the new item's) goes to the
/// best-scored candidate that fewer shoppers know than the median of the list's
/// candidates (or none, when most are untouched), in each block that has none, within
/// the caps of the first ten: items a shopper would like beyond the best sellers get
/// seen (catalogue coverage), at the cost of one lower place.
fn make_room_for_the_long_tail(
    model: &Model,
    scored: &[Candidate],
    chosen: &mut Vec<Candidate>,
    limit: usize,
) {
    let every = model.config.long_tail_every;
    if every == 0 || scored.len() < 2 {
        return;
    }
    let config = &model.config;
    let known = |c: &Candidate| model.co.occurrences(c.id);
    let mut counts: Vec<f64> = scored.iter().map(known).collect();
    let middle = counts.len() / 2;
    let median = *counts.select_nth_unstable_by(middle, f64::total_cmp).1;
    // Less known than most, or (when most are untouched) untouched.
    let in_tail = |c: &Candidate| known(c) < median || known(c) == 0.0;
    let item = |c: &Candidate| model.catalog.standing(c.id);
    let mut block = 0;
    while block < limit && block < chosen.len() {
        let end = (block + every).min(chosen.len());
        if !chosen[block..end].iter().any(in_tail) {
            let slot = (block + every.saturating_sub(2)).min(chosen.len());
            // In the first ten the caps per category and per shop hold for it too.
            let mut caps = TopCaps::default();
            for shown in &chosen[..chosen.len().min(TOP)] {
                caps.count(item(shown));
            }
            let within_caps = |c: &Candidate| slot >= TOP || caps.allow(config, item(c));
            let pick = scored
                .iter()
                .find(|c| in_tail(c) && chosen.iter().all(|o| o.id != c.id) && within_caps(c));
            let Some(&pick) = pick else {
                break;
            };
            chosen.insert(slot, pick);
            chosen.truncate(limit);
        }
        block += every;
    }
}

/// One place in every `new_item_every` (the last of each block) goes to the newest
/// item not yet in the list, while there are items young enough to count as new; a
/// list shorter than asked is filled with the newest items, so every shopper gets a
/// list while anything is in stock.
fn make_room_for_new_items(
    model: &Model,
    audience: &Audience,
    chosen: &mut Vec<Candidate>,
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
        .filter(|(id, _)| audience.may_see(*id));
    let mut next_new = |chosen: &[Candidate]| {
        newest
            .by_ref()
            .find(|(id, _)| chosen.iter().all(|c| c.id != *id))
            .map(|(id, item)| {
                let boost = boost(item);
                Candidate {
                    id,
                    score: boost,
                    parts: Parts::new_item(boost),
                }
            })
    };
    let every = config.new_item_every.max(1);
    let mut block = 0;
    while block < limit && block <= chosen.len() {
        let end = (block + every).min(chosen.len());
        let has_new = chosen[block..end]
            .iter()
            .any(|c| c.parts.new.is_some_and(|boost| boost >= NEW_BOOST_FLOOR));
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

fn max_score(scores: impl Iterator<Item = f64>) -> f64 {
    scores.fold(0.0, f64::max).max(f64::MIN_POSITIVE)
}

/// What the sources found behind a list's items, to explain them by.
struct Behind<'a> {
    collaborative: &'a IdMap<Evidence>,
    content: &'a IdMap<Evidence>,
    latent: Option<&'a Latent>,
    /// The items the list started from (`context_sku` first, when given).
    seeds: &'a [(ItemId, f64)],
}

/// The sentence for the source that gave the most.
fn explain(
    model: &Model,
    audience: &Audience,
    candidate: &Candidate,
    item: &Item,
    behind: &Behind,
) -> String {
    let title = |seed: ItemId| {
        model
            .catalog
            .item(seed)
            .map_or(model.catalog.sku(seed), |i| i.title.as_str())
    };
    let seed_of = |evidence: &IdMap<Evidence>| evidence.get(&candidate.id).and_then(|e| e.seed);
    let is_context = |seed: ItemId| audience.context == Some(seed);
    match candidate.parts.strongest() {
        Source::Collaborative => match seed_of(behind.collaborative) {
            Some(seed) if audience.history.is_some_and(|h| h.bought.contains(&seed)) => {
                format!("bought together with {}", title(seed))
            }
            Some(seed) if is_context(seed) => format!("often chosen with {}", title(seed)),
            Some(seed) => format!("often viewed with {}", title(seed)),
            None => trending_in(item),
        },
        Source::Content => match seed_of(behind.content) {
            Some(seed) if is_context(seed) => format!("similar to {}", title(seed)),
            Some(seed) => format!("similar to {} you viewed", title(seed)),
            None => trending_in(item),
        },
        Source::Latent => {
            // The seed most like it in factor space.
            let nearest = behind
                .seeds
                .iter()
                .map(|&(seed, _)| {
                    let likeness = behind
                        .latent
                        .map_or(0.0, |l| l.likeness(&seed, &candidate.id));
                    (seed, likeness)
                })
                .max_by(|a, b| a.1.total_cmp(&b.1));
            match nearest {
                Some((seed, _)) => format!("liked by shoppers who liked {}", title(seed)),
                None => trending_in(item),
            }
        }
        Source::New => in_category("new", item),
        Source::Trending => trending_in(item),
    }
}

/// "trending in home/kitchen": the category at most two levels deep.
fn trending_in(item: &Item) -> String {
    in_category("trending", item)
}

/// "`what` in home/kitchen": the item's category at most two levels deep.
fn in_category(what: &str, item: &Item) -> String {
    let levels = category_levels(&item.category);
    match levels.get(1).or(levels.first()) {
        Some(category) => format!("{what} in {category}"),
        None => what.to_string(),
    }
}

/// A candidate in the re-ranking's pool.
struct Pooled<'a> {
    candidate: Candidate,
    standing: Standing,
    /// Its likeness to the nearest item chosen so far, kept up to date one pick at
    /// a time.
    likeness: f64,
    /// Its terms and norm, looked up once: every pick compares it with the pool.
    terms: Option<Prepared<'a>>,
}

/// Re-rank by MMR (relevance against likeness to what is already chosen) and keep
/// at most the configured number per category and per shop among the first ten.
fn diversify(model: &Model, scored: &[Candidate], limit: usize) -> Vec<Candidate> {
    let config = &model.config;
    let mut likeness_of = model.content.scorer();
    let lambda = config.diversity_lambda;
    // MMR only needs the head of the pool (sorted by score): the rest could never be
    // chosen.
    let pool = &scored[..scored.len().min(limit * 5)];
    let best = pool.first().map_or(1.0, |c| c.score.max(f64::MIN_POSITIVE));
    let mut pool: Vec<Pooled> = pool
        .iter()
        .map(|&candidate| Pooled {
            candidate,
            standing: model.catalog.standing(candidate.id),
            likeness: 0.0,
            terms: likeness_of.prepare(candidate.id),
        })
        .collect();
    let mut chosen: Vec<Candidate> = Vec::with_capacity(limit);
    let mut caps = TopCaps::default();
    while chosen.len() < limit && !pool.is_empty() {
        let in_top = chosen.len() < TOP;
        let within_caps = |item: Standing| !in_top || caps.allow(config, item);
        let mmr = |p: &Pooled| lambda * p.candidate.score / best - (1.0 - lambda) * p.likeness;
        // The best by MMR within the caps (ties to the earlier, higher-scored one);
        // when every candidate left breaks a cap, the caps give way rather than the
        // list, and the highest score is taken.
        let pick = pool
            .iter()
            .enumerate()
            .filter(|(_, p)| within_caps(p.standing))
            .fold(None, |best: Option<(usize, f64)>, (i, p)| {
                let value = mmr(p);
                match best {
                    Some((_, top)) if top >= value => best,
                    _ => Some((i, value)),
                }
            })
            .map_or(0, |(i, _)| i);
        let picked = pool.remove(pick);
        if let Some(picked_terms) = &picked.terms {
            let others = pool
                .iter_mut()
                .filter_map(|p| Some((p.terms.as_ref()?, &mut p.likeness)));
            likeness_of.raise_likeness(picked_terms, others);
        }
        caps.count(picked.standing);
        chosen.push(picked.candidate);
    }
    chosen
}
