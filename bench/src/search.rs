//! `commerce bench search`: index build speed from the log, then a fixed query mix
//! (text, typos, filters, geo, facets, sorts) through our query path, beside the same
//! tantivy queries run directly (top docs, facets, count, snippets) in the same run.

use std::collections::HashMap;
use std::time::Instant;

use clap::Args;
use search::query::{self, SearchRequest, Sort};
use search::schema::LANGUAGES;
use search::{Geo, View};
use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::schema::Value;
use tantivy::snippet::SnippetGenerator;
use tantivy::TantivyDocument;

use super::{latency_histogram, percentile_ms, ratio, record, round2, Figures, Output};
use crate::seed::{write_catalog, Generator};
use app::config::StorageArgs;
use app::server::open_exclusive;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Products to seed first (0 benchmarks what the log already holds).
    #[arg(long, default_value_t = 100_000)]
    pub products: usize,
    /// Queries of the mix to run (each through both paths).
    #[arg(long, default_value_t = 2_000)]
    pub queries: usize,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub output: Output,
}

pub async fn run(args: SearchArgs) -> anyhow::Result<()> {
    let (_lock, backend) = open_exclusive(&args.storage, "bench search").await?;
    if args.products > 0 {
        eprintln!("seeding {} products", args.products);
        write_catalog(backend.commands.store(), args.products, 7, true).await?;
    }
    eprintln!("building the search index from the whole log");
    let started = Instant::now();
    let status = backend.search.rebuild().await?;
    let build_seconds = started.elapsed().as_secs_f64();
    let view = backend.search.view();
    let products = view.searcher.num_docs();
    let products_per_s = ratio(products as f64, build_seconds);
    println!(
        "index build: {products_per_s:>10.0} products/s  ({products} products, {} events, {build_seconds:.1} s)",
        status.events_applied
    );

    let mix = query_mix(args.queries);
    // Warm both paths (page cache, term dictionaries) before measuring.
    for request in mix.iter().take(50) {
        let _ = query::search(&view, request)?;
        direct(&view, request)?;
    }
    let mut ours = latency_histogram();
    let mut theirs = latency_histogram();
    let mut ours_total = 0.0;
    for request in &mix {
        let t = Instant::now();
        let answer = query::search(&view, request)?;
        // The route serialises the answer too.
        let _ = serde_json::to_vec(&answer)?;
        let elapsed = t.elapsed();
        ours_total += elapsed.as_secs_f64();
        record(&mut ours, elapsed);
        let t = Instant::now();
        direct(&view, request)?;
        record(&mut theirs, t.elapsed());
    }
    let qps = ratio(mix.len() as f64, ours_total);
    let (p50, p99) = (percentile_ms(&ours, 0.5), percentile_ms(&ours, 0.99));
    let (d50, d99) = (percentile_ms(&theirs, 0.5), percentile_ms(&theirs, 0.99));
    println!(
        "query path:  {qps:>8.0} queries/s  p50 {p50:.2} ms  p99 {p99:.2} ms  ({} queries, one at a time)",
        mix.len()
    );
    println!(
        "tantivy direct (same queries, top docs + facets + count + snippets): p50 {d50:.2} ms  p99 {d99:.2} ms  (ours is {:.2}x at p99)",
        ratio(p99, d99)
    );
    if args.output.json {
        let mut figures = Figures::default();
        figures.set("products", products);
        figures.set("index_products_per_s", round2(products_per_s));
        figures.set("qps", round2(qps));
        figures.set("p50_ms", round2(p50));
        figures.set("p99_ms", round2(p99));
        figures.set("direct_p50_ms", round2(d50));
        figures.set("direct_p99_ms", round2(d99));
        figures.print_json();
    }
    Ok(())
}

/// The fixed mix: frequent words, typos, filtered, geo, faceted browse, sorts.
fn query_mix(count: usize) -> Vec<SearchRequest> {
    let mut generator = Generator::new(11);
    let mut mix = Vec::with_capacity(count);
    for i in 0..count {
        let base = SearchRequest {
            limit: 20,
            ..Default::default()
        };
        let word = generator.word().to_string();
        let request = match i % 8 {
            0 => SearchRequest { q: word, ..base },
            1 => SearchRequest {
                q: format!("{word} {}", generator.word()),
                ..base
            },
            2 => SearchRequest {
                q: typo(&word, &mut generator),
                ..base
            },
            3 => SearchRequest {
                q: word,
                category: Some(
                    generator
                        .category()
                        .split('/')
                        .next()
                        .unwrap_or("home")
                        .into(),
                ),
                price_min: Some(1_000),
                price_max: Some(10_000),
                in_stock: true,
                ..base
            },
            4 => {
                let at = generator.city_point();
                SearchRequest {
                    q: word,
                    geo: Some(Geo {
                        lat: at.lat,
                        lon: at.lon,
                        radius_km: Some(50.0),
                    }),
                    sort: Sort::Distance,
                    ..base
                }
            }
            5 => SearchRequest {
                category: Some(generator.category()),
                sort: Sort::PriceAsc,
                ..base
            },
            6 => SearchRequest {
                q: word,
                sort: Sort::Newest,
                materials: vec!["ceramic".into(), "wood".into()],
                ..base
            },
            _ => SearchRequest {
                q: word,
                offset: 20,
                sort: Sort::PriceDesc,
                ..base
            },
        };
        mix.push(request);
    }
    mix
}

/// The word with one letter changed (words of 6 or more letters) or dropped.
fn typo(word: &str, generator: &mut Generator) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() < 4 {
        return word.to_string();
    }
    let at = 1 + generator.below(chars.len() as u64 - 2) as usize;
    if chars.len() >= 6 {
        chars[at] = if chars[at] == 'e' { 'a' } else { 'e' };
    } else {
        chars.remove(at);
    }
    chars.into_iter().collect()
}

/// The same query run on tantivy alone: its own top-docs collector (by score or by a
/// fast field), facets, count, stored documents and snippets of the page.
fn direct(view: &View, request: &SearchRequest) -> tantivy::Result<()> {
    let built = query::build(view, request, true);
    let mut facets = FacetCollector::for_field("facets");
    facets.add_facet("/category");
    facets.add_facet("/material");
    facets.add_facet("/shop");
    let top = TopDocs::with_limit(request.limit).and_offset(request.offset);
    let addresses: Vec<tantivy::DocAddress> = match request.sort {
        Sort::PriceAsc | Sort::PriceDesc => {
            let order = if request.sort == Sort::PriceAsc {
                tantivy::Order::Asc
            } else {
                tantivy::Order::Desc
            };
            let (hits, _, _) = view.searcher.search(
                built.query.as_ref(),
                &(
                    top.order_by_fast_field::<u64>(search::schema::PRICE, order),
                    facets,
                    Count,
                ),
            )?;
            hits.into_iter().map(|(_, a)| a).collect()
        }
        _ => {
            let (hits, _, _) = view
                .searcher
                .search(built.query.as_ref(), &(top.order_by_score(), facets, Count))?;
            hits.into_iter().map(|(_, a)| a).collect()
        }
    };
    let fields = &view.fields;
    let generators: HashMap<tantivy::schema::Field, SnippetGenerator> = fields
        .title
        .iter()
        .chain(&fields.description)
        .filter_map(|field| {
            SnippetGenerator::create(&view.searcher, built.query.as_ref(), *field)
                .ok()
                .map(|g| (*field, g))
        })
        .collect();
    for address in addresses {
        let doc: TantivyDocument = view.searcher.doc(address)?;
        if let Some(record) = doc.get_first(fields.record).and_then(|v| v.as_str()) {
            let record: serde_json::Value = serde_json::from_str(record).unwrap_or_default();
            let language = record["language"].as_str().unwrap_or("en");
            let slot = LANGUAGES
                .iter()
                .position(|(c, _)| *c == language)
                .unwrap_or(0);
            for (field, key) in [
                (fields.title[slot], "title"),
                (fields.description[slot], "description"),
            ] {
                if let (Some(generator), Some(text)) =
                    (generators.get(&field), record[key].as_str())
                {
                    let _ = generator.snippet(text).to_html();
                }
            }
        }
    }
    Ok(())
}
