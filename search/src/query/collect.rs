//! One pass over the matching documents: the top hits by the chosen sort (ties
//! broken by a hash of the SKU), the total, price ranges, and facet counts.

use super::*;

/// One pass over the matches: top hits, totals and price ranges, and facet counts.
pub(super) fn collect(
    view: &View,
    request: &SearchRequest,
    query: &dyn Query,
) -> tantivy::Result<(Collected, tantivy::collector::FacetCounts)> {
    let mut facet_collector = FacetCollector::for_field("facets");
    facet_collector.add_facet(category_root(request));
    facet_collector.add_facet("/material");
    facet_collector.add_facet("/shop");
    let top = TopCollector {
        sort: request.sort,
        origin: request.geo.map(|g| (g.lat, g.lon)),
        keep: request.offset + request.limit,
    };
    view.searcher.search(query, &(top, facet_collector))
}

/// What orders hits: the sort's value (larger first), then the SKU's hash.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SortKey {
    value: f64,
    tie: u64,
    pub(super) score: f32,
}

impl SortKey {
    fn better_than(&self, other: &SortKey) -> bool {
        match self.value.total_cmp(&other.value) {
            std::cmp::Ordering::Equal => self.tie < other.tie,
            ordering => ordering.is_gt(),
        }
    }
}

/// A heap entry ordered worst-first, so the heap's top is the hit to drop.
#[derive(Debug, Clone, Copy)]
struct Ranked(SortKey, DocAddress);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if self.0.better_than(&other.0) {
            std::cmp::Ordering::Less
        } else if other.0.better_than(&self.0) {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    }
}

/// Keeps the best `keep` hits by the request's sort, counts every match and its price
/// range.
struct TopCollector {
    sort: Sort,
    origin: Option<(f64, f64)>,
    keep: usize,
}

pub struct Collected {
    pub total: u64,
    pub hits: Vec<(SortKey, DocAddress)>,
    pub(super) price_counts: Vec<u64>,
}

struct TopSegment {
    segment: SegmentOrdinal,
    sort: Sort,
    origin: Option<(f64, f64)>,
    keep: usize,
    heap: std::collections::BinaryHeap<Ranked>,
    total: u64,
    price_counts: Vec<u64>,
    price: tantivy::columnar::Column<u64>,
    tie: tantivy::columnar::Column<u64>,
    listed: tantivy::columnar::Column<i64>,
    lat: tantivy::columnar::Column<f64>,
    lon: tantivy::columnar::Column<f64>,
}

impl Collector for TopCollector {
    type Fruit = Collected;
    type Child = TopSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<TopSegment> {
        let fast = reader.fast_fields();
        Ok(TopSegment {
            segment,
            sort: self.sort,
            origin: self.origin,
            keep: self.keep,
            heap: std::collections::BinaryHeap::with_capacity(self.keep + 1),
            total: 0,
            price_counts: vec![0; PRICE_EDGES.len() + 1],
            price: fast.u64(PRICE)?,
            tie: fast.u64(TIE)?,
            listed: fast.i64(LISTED)?,
            lat: fast.f64(LAT)?,
            lon: fast.f64(LON)?,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.sort == Sort::Relevance
    }

    fn merge_fruits(&self, fruits: Vec<Collected>) -> tantivy::Result<Collected> {
        let mut total = 0;
        let mut price_counts = vec![0; PRICE_EDGES.len() + 1];
        let mut all = Vec::new();
        for fruit in fruits {
            total += fruit.total;
            for (sum, count) in price_counts.iter_mut().zip(fruit.price_counts) {
                *sum += count;
            }
            all.extend(fruit.hits);
        }
        all.sort_by_key(|&(key, address)| Ranked(key, address));
        all.truncate(self.keep);
        Ok(Collected {
            total,
            hits: all,
            price_counts,
        })
    }
}

impl SegmentCollector for TopSegment {
    type Fruit = Collected;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.total += 1;
        let price = self.price.first(doc).unwrap_or(0);
        let bucket = PRICE_EDGES
            .iter()
            .position(|edge| price < *edge)
            .unwrap_or(PRICE_EDGES.len());
        self.price_counts[bucket] += 1;
        if self.keep == 0 {
            return;
        }
        let value = match self.sort {
            Sort::Relevance => score as f64,
            Sort::PriceAsc => -(price as f64),
            Sort::PriceDesc => price as f64,
            Sort::Newest => self.listed.first(doc).unwrap_or(0) as f64,
            Sort::Distance => match (self.origin, self.lat.first(doc), self.lon.first(doc)) {
                (Some((lat, lon)), Some(p_lat), Some(p_lon)) => {
                    -haversine_km(lat, lon, p_lat, p_lon)
                }
                _ => f64::NEG_INFINITY,
            },
        };
        let key = SortKey {
            value,
            tie: self.tie.first(doc).unwrap_or(0),
            score,
        };
        let ranked = Ranked(key, DocAddress::new(self.segment, doc));
        if self.heap.len() < self.keep {
            self.heap.push(ranked);
        } else if let Some(worst) = self.heap.peek() {
            if ranked < *worst {
                self.heap.pop();
                self.heap.push(ranked);
            }
        }
    }

    fn harvest(self) -> Collected {
        Collected {
            total: self.total,
            hits: self.heap.into_iter().map(|Ranked(k, a)| (k, a)).collect(),
            price_counts: self.price_counts,
        }
    }
}
