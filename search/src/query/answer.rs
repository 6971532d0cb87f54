//! The answer from what was collected: facets with their counts, price ranges, and
//! the page of hits with their records, distances and snippets.

use super::*;

pub(super) fn facets(
    request: &SearchRequest,
    top: &Collected,
    counts: &tantivy::collector::FacetCounts,
    signals: &Signals,
) -> Facets {
    let values = |root: tantivy::schema::Facet, label: &dyn Fn(&str) -> Option<String>| {
        let prefix_len = root.to_path().len();
        counts
            .top_k(root, FACET_VALUES)
            .into_iter()
            .map(|(facet, count)| {
                let value = facet.to_path()[prefix_len.min(facet.to_path().len())..].join("/");
                FacetValue {
                    label: label(&value),
                    value,
                    count,
                }
            })
            .collect::<Vec<_>>()
    };
    let parent = request.category.clone();
    let mut category = values(category_root(request), &|_| None);
    if let Some(parent) = parent {
        // Name sub-categories by their full path, as the filter takes them.
        for value in &mut category {
            value.value = format!("{}/{}", parent.trim_matches('/'), value.value);
        }
    }
    Facets {
        category,
        materials: values(tantivy::schema::Facet::from("/material"), &|_| None),
        shop: values(tantivy::schema::Facet::from("/shop"), &|id| {
            signals.shops.get(id).cloned()
        }),
        price: price_ranges(&top.price_counts),
    }
}

/// The facet whose children the category counts are: the filter's, or the top.
pub(super) fn category_root(request: &SearchRequest) -> tantivy::schema::Facet {
    match &request.category {
        Some(category) => schema::category_facet(category),
        None => tantivy::schema::Facet::from("/category"),
    }
}

fn price_ranges(counts: &[u64]) -> Vec<PriceRange> {
    let mut ranges = Vec::with_capacity(counts.len());
    let mut min = 0;
    for (i, &count) in counts.iter().enumerate() {
        let max = PRICE_EDGES.get(i).copied();
        ranges.push(PriceRange { min, max, count });
        min = max.unwrap_or(min);
    }
    ranges
}

/// The page of hits: records, distances, highlights.
pub(super) fn hits(
    view: &View,
    request: &SearchRequest,
    built: &Built,
    top: &[(SortKey, DocAddress)],
) -> tantivy::Result<Vec<Hit>> {
    let fields = &view.fields;
    let generators: HashMap<Field, SnippetGenerator> = built
        .highlight_terms
        .iter()
        .filter_map(|(field, terms)| {
            let analyzer = view.searcher.index().tokenizer_for_field(*field).ok()?;
            Some((
                *field,
                SnippetGenerator::new(terms.clone(), analyzer, *field, SNIPPET_CHARS),
            ))
        })
        .collect();
    let mut hits = Vec::new();
    for (key, address) in top.iter().skip(request.offset) {
        let doc: TantivyDocument = view.searcher.doc(*address)?;
        let Some(record) = doc
            .get_first(fields.record)
            .and_then(|v| v.as_str())
            .and_then(|json| serde_json::from_str::<ProductRecord>(json).ok())
        else {
            continue;
        };
        let slot = Fields::language_slot(&record.details.language);
        let snippet = |field: Field, text: &str| {
            generators
                .get(&field)
                .map(|g| g.snippet(text))
                .filter(|s| !s.highlighted().is_empty())
                .map(|s| s.to_html())
        };
        let highlight = Highlight {
            title: snippet(fields.title[slot], &record.details.title),
            description: snippet(fields.description[slot], &record.details.description),
        };
        let distance_km = request.geo.map(|g| {
            let at = record.details.shop.location;
            (haversine_km(g.lat, g.lon, at.lat, at.lon) * 1000.0).round() / 1000.0
        });
        hits.push(Hit {
            score: key.score,
            distance_km,
            highlight,
            product: record,
        });
    }
    Ok(hits)
}
