use std::time::Duration;

use event_schemas::{GeoPoint, Money, ProductChanges, Shop, StockEvent};
use search::geo::haversine_km;
use search::query::Sort;
use search::suggest::{suggest, SuggestionSource};
use search::{Geo, SearchRequest};

use crate::support::{product, request, search_at, skus, Backend};

#[tokio::test]
async fn a_title_match_ranks_above_a_description_match() {
    let mut log = Backend::sqlite().await;
    let search = log.open_search().await;
    let mut in_description = product("Plain cup");
    in_description.description = "A sturdy enamel mug for campers".into();
    log.list("desc", in_description).await;
    log.list("title", product("Enamel mug")).await;

    let results = search_at(&search, log.last_position, request("mug")).await;

    assert_eq!(skus(&results), ["title", "desc"]);
    assert_eq!(results.total, 2);
    assert_eq!(
        results.hits[0].highlight.title.as_deref(),
        Some("Enamel <b>mug</b>")
    );
}

#[tokio::test]
async fn a_typo_is_found_and_ranks_below_the_exact_word() {
    let mut log = Backend::sqlite().await;
    let search = log.open_search().await;
    log.list("ceramic", product("Ceramic bowl")).await;
    log.list("ceramik", product("Ceramik bowl")).await;
    log.list("other", product("Wooden spoon")).await;

    let results = search_at(&search, log.last_position, request("ceramik")).await;
    assert_eq!(skus(&results), ["ceramik", "ceramic"]);

    // Two edits for a long word, one for a short one, none up to two characters.
    let results = search_at(&search, log.last_position, request("ceranik")).await;
    assert_eq!(results.total, 2, "one substitution away from both");
    let results = search_at(&search, log.last_position, request("spon")).await;
    assert_eq!(skus(&results), ["other"]);
    let results = search_at(&search, log.last_position, request("bowk")).await;
    assert_eq!(results.total, 2);
    let results = search_at(&search, log.last_position, request("bo")).await;
    assert_eq!(results.total, 0, "two letters match exactly or not at all");
}

#[tokio::test]
async fn filters_are_exact_at_their_bounds() {
    let mut log = Backend::sqlite().await;
    let search = log.open_search().await;
    let berlin = GeoPoint {
        lat: 52.52,
        lon: 13.405,
    };
    let potsdam = GeoPoint {
        lat: 52.3906,
        lon: 13.0645,
    };
    let shop = |id: &str, at: GeoPoint| Shop {
        shop_id: id.into(),
        name: format!("Shop {id}"),
        location: at,
    };
    let priced = |title: &str, amount: i64, category: &str, at: Shop, materials: &[&str]| {
        let mut p = product(title);
        p.price = Money {
            amount,
            currency: "EUR".into(),
        };
        p.category = category.into();
        p.shop = at;
        p.materials = materials.iter().map(|m| m.to_string()).collect();
        p
    };
    log.list(
        "a",
        priced(
            "Mug A",
            999,
            "home/kitchen/mugs",
            shop("s1", berlin),
            &["ceramic"],
        ),
    )
    .await;
    log.list(
        "b",
        priced(
            "Mug B",
            1000,
            "home/kitchen",
            shop("s1", berlin),
            &["steel"],
        ),
    )
    .await;
    log.list(
        "c",
        priced(
            "Mug C",
            2000,
            "home/garden",
            shop("s2", potsdam),
            &["steel", "glass"],
        ),
    )
    .await;
    log.list(
        "d",
        priced("Mug D", 2001, "office", shop("s2", potsdam), &["Glass"]),
    )
    .await;
    log.stock(StockEvent::StockReceived {
        sku: "c".into(),
        warehouse_id: "w1".into(),
        quantity: 1,
    })
    .await;
    let at = log.last_position;
    let run = |r: SearchRequest| {
        let search = search.clone();
        async move {
            let mut found = skus(&search_at(&search, at, r).await);
            found.sort();
            found
        }
    };

    let price = |min, max| SearchRequest {
        price_min: min,
        price_max: max,
        ..request("")
    };
    assert_eq!(run(price(Some(1000), Some(2000))).await, ["b", "c"]);
    assert_eq!(run(price(Some(999), None)).await, ["a", "b", "c", "d"]);
    assert_eq!(run(price(None, Some(999))).await, ["a"]);

    let category = |c: &str| SearchRequest {
        category: Some(c.into()),
        ..request("")
    };
    assert_eq!(run(category("home")).await, ["a", "b", "c"]);
    assert_eq!(run(category("home/kitchen")).await, ["a", "b"]);
    assert_eq!(run(category("home/kitchen/mugs")).await, ["a"]);
    assert_eq!(run(category("home/kit")).await, Vec::<String>::new());

    let materials = SearchRequest {
        materials: vec!["glass".into(), "ceramic".into()],
        ..request("")
    };
    assert_eq!(run(materials).await, ["a", "c", "d"]);
    let shop_filter = SearchRequest {
        shop_id: Some("s2".into()),
        ..request("mug")
    };
    assert_eq!(run(shop_filter).await, ["c", "d"]);
    let in_stock = SearchRequest {
        in_stock: true,
        ..request("")
    };
    assert_eq!(run(in_stock).await, ["c"]);

    // Geo: the radius is inclusive to the metre, by haversine distance.
    let distance = haversine_km(berlin.lat, berlin.lon, potsdam.lat, potsdam.lon);
    let around = |radius_km: f64| SearchRequest {
        geo: Some(Geo {
            lat: berlin.lat,
            lon: berlin.lon,
            radius_km: Some(radius_km),
        }),
        ..request("")
    };
    assert_eq!(run(around(distance)).await, ["a", "b", "c", "d"]);
    assert_eq!(run(around(distance - 0.001)).await, ["a", "b"]);

    let nearest_first = SearchRequest {
        geo: Some(Geo {
            lat: potsdam.lat,
            lon: potsdam.lon,
            radius_km: None,
        }),
        sort: Sort::Distance,
        ..request("")
    };
    let results = search_at(&search, at, nearest_first).await;
    let mut nearest = skus(&results)[..2].to_vec();
    nearest.sort();
    assert_eq!(nearest, ["c", "d"]);
    assert_eq!(results.hits[0].distance_km, Some(0.0));
}

#[tokio::test]
async fn facets_count_the_filtered_hits_and_sorts_order_them() {
    let mut log = Backend::sqlite().await;
    let search = log.open_search().await;
    for (sku, category, material, amount) in [
        ("k1", "home/kitchen/mugs", "ceramic", 500),
        ("k2", "home/kitchen/mugs", "steel", 1500),
        ("k3", "home/kitchen/plates", "ceramic", 3000),
        ("g1", "home/garden", "steel", 12000),
        ("o1", "office", "paper", 30000),
    ] {
        let mut p = product(&format!("Thing {sku}"));
        p.category = category.into();
        p.materials = vec![material.into()];
        p.price.amount = amount;
        log.list(sku, p).await;
    }
    let filtered = SearchRequest {
        category: Some("home".into()),
        ..request("thing")
    };
    let results = search_at(&search, log.last_position, filtered).await;
    assert_eq!(results.total, 4);
    let count = |values: &[search::query::FacetValue], v: &str| {
        values.iter().find(|f| f.value == v).map(|f| f.count)
    };
    assert_eq!(count(&results.facets.category, "home/kitchen"), Some(3));
    assert_eq!(count(&results.facets.category, "home/garden"), Some(1));
    assert_eq!(count(&results.facets.materials, "ceramic"), Some(2));
    assert_eq!(count(&results.facets.materials, "steel"), Some(2));
    assert_eq!(count(&results.facets.materials, "paper"), None);
    assert_eq!(results.facets.shop[0].label.as_deref(), Some("Corner Shop"));
    let price_total: u64 = results.facets.price.iter().map(|r| r.count).sum();
    assert_eq!(price_total, results.total);
    assert_eq!(results.facets.price[0].count, 1, "under 10.00: k1");

    let sorted = |sort| SearchRequest {
        sort,
        ..request("thing")
    };
    let ascending = search_at(&search, log.last_position, sorted(Sort::PriceAsc)).await;
    assert_eq!(skus(&ascending), ["k1", "k2", "k3", "g1", "o1"]);
    let descending = search_at(&search, log.last_position, sorted(Sort::PriceDesc)).await;
    assert_eq!(skus(&descending), ["o1", "g1", "k3", "k2", "k1"]);
    let newest = search_at(&search, log.last_position, sorted(Sort::Newest)).await;
    assert_eq!(skus(&newest), ["o1", "g1", "k3", "k2", "k1"]);

    let page = SearchRequest {
        sort: Sort::PriceAsc,
        limit: 2,
        offset: 2,
        ..request("thing")
    };
    let page = search_at(&search, log.last_position, page).await;
    assert_eq!(skus(&page), ["k3", "g1"]);
    assert_eq!(page.total, 5);
}

#[tokio::test]
async fn updates_show_delisted_products_disappear_and_stock_flips_in_stock() {
    let mut log = Backend::sqlite().await;
    let search = log.open_search().await;
    log.list("p1", product("Walnut kettle")).await;
    log.list("p2", product("Walnut pan")).await;
    log.update(
        "p1",
        ProductChanges {
            title: Some("Brass kettle".into()),
            ..Default::default()
        },
    )
    .await;
    log.delist("p2").await;
    let results = search_at(&search, log.last_position, request("walnut")).await;
    assert_eq!(results.total, 0);
    let results = search_at(&search, log.last_position, request("brass")).await;
    assert_eq!(skus(&results), ["p1"]);
    assert_eq!(results.hits[0].product.details.title, "Brass kettle");
    assert!(!results.hits[0].product.in_stock);

    log.stock(StockEvent::StockReceived {
        sku: "p1".into(),
        warehouse_id: "w1".into(),
        quantity: 2,
    })
    .await;
    let in_stock = SearchRequest {
        in_stock: true,
        ..request("kettle")
    };
    let results = search_at(&search, log.last_position, in_stock.clone()).await;
    assert_eq!(skus(&results), ["p1"]);
    log.stock(StockEvent::StockSold {
        sku: "p1".into(),
        warehouse_id: "w1".into(),
        quantity: 2,
        hold_id: None,
        order_id: None,
    })
    .await;
    let results = search_at(&search, log.last_position, in_stock).await;
    assert_eq!(results.total, 0);
}

#[tokio::test]
async fn languages_are_stemmed_and_a_query_searches_them_all() {
    let mut log = Backend::sqlite().await;
    let search = log.open_search().await;
    let mut german = product("Große Kaffeetassen aus Steinzeug");
    german.language = "de".into();
    let mut french = product("Tasses à café en grès");
    french.language = "fr".into();
    log.list("de", german).await;
    log.list("fr", french).await;
    log.list("en", product("Running shoes")).await;

    let results = search_at(&search, log.last_position, request("kaffeetasse")).await;
    assert_eq!(skus(&results), ["de"]);
    let results = search_at(&search, log.last_position, request("tasse")).await;
    assert_eq!(skus(&results), ["fr"]);
    let results = search_at(&search, log.last_position, request("run")).await;
    assert_eq!(skus(&results), ["en"], "English stems running to run");
    // "the" is an English stop word: it neither matches nor is required.
    let results = search_at(&search, log.last_position, request("the shoes")).await;
    assert_eq!(skus(&results), ["en"]);
}

#[tokio::test]
async fn personalisation_reorders_but_never_removes() {
    let mut log = Backend::sqlite().await;
    let search = log.open_search().await;
    let mut garden = product("Lamp for the garden");
    garden.category = "home/garden".into();
    let mut office = product("Lamp for the office");
    office.category = "office/lighting".into();
    office.shop.shop_id = "shop-2".into();
    log.list("garden", garden).await;
    log.list("office", office).await;

    // Ada's taste is all office lighting from shop 2; Bob's is the garden.
    let ada_taste = SearchRequest {
        preferred_categories: vec![("office".into(), 1.0), ("office/lighting".into(), 1.0)],
        preferred_shops: vec![("shop-2".into(), 1.0)],
        ..request("lamp")
    };
    let bob_taste = SearchRequest {
        preferred_categories: vec![("home".into(), 1.0), ("home/garden".into(), 1.0)],
        ..request("lamp")
    };
    let ada = search_at(&search, log.last_position, ada_taste).await;
    let bob = search_at(&search, log.last_position, bob_taste).await;
    assert_eq!(skus(&ada), ["office", "garden"]);
    assert_eq!(skus(&bob), ["garden", "office"]);
    assert_eq!(ada.total, 2, "a taste reorders, never removes");
}

#[tokio::test]
async fn suggestions_complete_prefixes_and_correct_typos() {
    let mut log = Backend::sqlite().await;
    let search = log.open_search().await;
    log.list("m1", product("Blue ceramic mug")).await;
    log.list("m2", product("Mustard yellow teapot")).await;
    log.searched("mug", 4).await;
    log.searched("mug", 2).await;
    log.searched("mustard", 1).await;
    log.searched("mushrooms", 0).await;

    let results = search_at(&search, log.last_position, request("ceramc mugg")).await;
    assert!(results.total > 0, "typos within reach still match");
    let results = search_at(&search, log.last_position, request("blux")).await;
    assert_eq!(results.suggestions, ["blue"]);

    let view = search.view();
    let signals = view.signals.read().unwrap();
    let completions = suggest(&signals, "mu", 10);
    let texts: Vec<&str> = completions.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "mug",
            "mustard",
            "Mustard yellow teapot",
            "Blue ceramic mug"
        ]
    );
    assert_eq!(completions[0].source, SuggestionSource::Query);
    assert_eq!(completions[0].times_searched, Some(2));
    let completions = suggest(&signals, "blue ce", 10);
    assert_eq!(completions.len(), 1);
    assert_eq!(completions[0].sku.as_deref(), Some("m1"));
}

#[tokio::test]
async fn a_query_of_more_than_ten_words_is_refused_before_any_search() {
    let mut log = Backend::sqlite().await;
    let search = log.open_search().await;
    log.list("m1", product("Blue ceramic mug")).await;
    assert_eq!(search::MAX_QUERY_WORDS, 10);

    // Words as queries split them: punctuation separates, repeats and stop words count.
    let ten = "blue ceramic mug, blue-ceramic-mug the the the mug";
    let eleven = format!("{ten} blue");
    assert_eq!(search::schema::words(ten).len(), 10);
    assert!(!search::too_many_words(ten));
    assert!(search::too_many_words(&eleven));

    let results = search_at(&search, log.last_position, request(ten)).await;
    assert_eq!(skus(&results), ["m1"]);
    let refused = search::search(&search.view(), &request(&eleven));
    match refused {
        Err(tantivy::TantivyError::InvalidArgument(message)) => {
            assert!(message.contains("at most 10 words"), "{message}")
        }
        other => panic!("eleven words answered {other:?}"),
    }

    // Autocomplete takes as many words, and no more.
    let view = search.view();
    let signals = view.signals.read().unwrap();
    let typed = |words: usize| format!("{} mu", vec!["blue"; words - 1].join(" "));
    let completions = suggest(&signals, &typed(10), 10);
    assert_eq!(completions.len(), 1);
    assert_eq!(completions[0].sku.as_deref(), Some("m1"));
    assert!(suggest(&signals, &typed(11), 10).is_empty());
}

#[tokio::test]
async fn did_you_mean_follows_the_vocabulary_as_products_change() {
    let mut log = Backend::sqlite().await;
    let search = log.open_search().await;
    log.list("k1", product("Walnut kettle")).await;
    // Enough words that the spelling index is not rebuilt for every change.
    for i in 0..40 {
        log.list(&format!("f{i}"), product(&format!("Filler{i} item")))
            .await;
    }
    let results = search_at(&search, log.last_position, request("walnat")).await;
    assert_eq!(results.suggestions, ["walnut"]);

    log.update(
        "k1",
        ProductChanges {
            title: Some("Brass kettle".into()),
            ..Default::default()
        },
    )
    .await;
    let results = search_at(&search, log.last_position, request("walnat")).await;
    assert_eq!(results.total, 0);
    assert!(results.suggestions.is_empty(), "{:?}", results.suggestions);
    let results = search_at(&search, log.last_position, request("brasss kettle")).await;
    assert_eq!(results.suggestions, ["brass kettle"]);

    log.list("k2", product("Walnut bowl")).await;
    let results = search_at(&search, log.last_position, request("walnat bowl")).await;
    assert_eq!(results.suggestions, ["walnut bowl"]);
    log.delist("k2").await;
    let results = search_at(&search, log.last_position, request("walnat")).await;
    assert!(results.suggestions.is_empty(), "{:?}", results.suggestions);
}

#[tokio::test]
async fn a_waiting_query_brings_the_commit_forward() {
    let mut log = Backend::sqlite().await;
    // Nothing would be committed for an hour unless somebody waits for it.
    let search = log
        .open_search_committing_every(Duration::from_secs(3600))
        .await;
    log.list("p1", product("Teapot")).await;
    // The bound only guards against a hang: the wait itself asks for the commit.
    search
        .wait_for(log.last_position, Duration::from_secs(60))
        .await
        .expect("the commit comes early for a waiting query");
    assert_eq!(search.view().position, log.last_position);
}

#[tokio::test]
async fn a_restart_resumes_from_the_checkpoint_in_the_index() {
    let mut log = Backend::sqlite().await;
    let search = log.open_search().await;
    log.list("p1", product("Teapot")).await;
    log.list("p2", product("Kettle")).await;
    let before = search_at(&search, log.last_position, request("teapot")).await;
    search.stop().await;
    drop(search);
    log.update(
        "p1",
        ProductChanges {
            description: Some("Holds a litre".into()),
            ..Default::default()
        },
    )
    .await;

    let reopened = log.open_search().await;
    let after = search_at(&reopened, log.last_position, request("teapot litre")).await;
    assert_eq!(skus(&after), ["p1"]);
    assert_eq!(
        after.hits[0].product.details.title,
        before.hits[0].product.details.title
    );
    assert_eq!(
        search_at(&reopened, log.last_position, request("kettle"))
            .await
            .total,
        1
    );
}

#[tokio::test]
async fn the_rebuilt_index_answers_like_the_live_one() {
    let mut log = Backend::postgres().await;
    let search = log.open_search().await;
    for i in 0..60 {
        let mut p = product(&format!("Item {i} {}", ["mug", "plate", "bowl"][i % 3]));
        p.price.amount = 100 * i as i64;
        p.category = ["home/kitchen/mugs", "home/kitchen/plates", "garden"][i % 3].into();
        p.materials = vec![["steel", "glass"][i % 2].into()];
        log.list(&format!("sku-{i:02}"), p).await;
    }
    for i in (0..60).step_by(7) {
        log.update(
            &format!("sku-{i:02}"),
            ProductChanges {
                title: Some(format!("Item {i} renamed mug")),
                ..Default::default()
            },
        )
        .await;
    }
    log.delist("sku-05").await;
    let queries = [
        SearchRequest {
            sort: Sort::PriceAsc,
            ..request("mug")
        },
        SearchRequest {
            sort: Sort::Newest,
            category: Some("home".into()),
            ..request("")
        },
        SearchRequest {
            sort: Sort::PriceDesc,
            materials: vec!["glass".into()],
            ..request("item")
        },
    ];
    let mut live = Vec::new();
    for q in &queries {
        let r = search_at(&search, log.last_position, q.clone()).await;
        live.push((skus(&r), r.total, r.facets));
    }

    let status = search.rebuild().await.unwrap();
    assert_eq!(status.state, projections::RebuildState::Done);
    for (q, expected) in queries.iter().zip(&live) {
        let r = search_at(&search, log.last_position, q.clone()).await;
        assert_eq!(&(skus(&r), r.total, r.facets), expected);
    }
    // The rebuilt generation is what a restart opens.
    search.stop().await;
    drop(search);
    let reopened = log.open_search().await;
    let r = search_at(&reopened, log.last_position, queries[0].clone()).await;
    assert_eq!(skus(&r), live[0].0);
    log.drop_database().await;
}
