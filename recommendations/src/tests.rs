//! The list as a shopper sees it: given what the log said, when a list is asked
//! for, then what is on it and why.

use chrono::{DateTime, Duration, Utc};

use crate::catalog::Item;
use crate::history::Feedback;
use crate::{Config, Input, Model, Request, Source};

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::UNIX_EPOCH + Duration::days(20_000) + Duration::minutes(minutes)
}

fn item(sku: &str, title: &str, category: &str, shop: &str) -> Item {
    Item {
        sku: sku.into(),
        title: title.into(),
        category: category.into(),
        shop_id: shop.into(),
        tags: vec![],
        materials: vec![],
        listed: true,
        in_stock: true,
        rebuyable: false,
        listed_at: at(0),
    }
}

/// A small shop: mugs and saucers in stoneware, aprons in linen, lamps, coffee.
fn shop() -> Model {
    let mut model = Model::new(Config::default(), at(0));
    let mut items = vec![
        item("MUG", "Stoneware mug", "home/kitchen/mugs", "s1"),
        item("SAUCER", "Stoneware saucer", "home/kitchen/plates", "s1"),
        item("BOWL", "Stoneware bowl", "home/kitchen/bowls", "s2"),
        item("APRON", "Linen apron", "home/textiles/aprons", "s3"),
        item("TOWEL", "Linen tea towel", "home/textiles/towels", "s3"),
        item("LAMP", "Brass desk lamp", "home/light/lamps", "s4"),
        item("COFFEE", "Coffee beans 1 kg", "food/coffee", "s5"),
    ];
    for item in &mut items {
        if item.title.contains("Stoneware") {
            item.materials = vec!["stoneware".into()];
        }
        if item.title.contains("Linen") {
            item.materials = vec!["linen".into()];
        }
    }
    items
        .iter_mut()
        .find(|i| i.sku == "COFFEE")
        .unwrap()
        .rebuyable = true;
    for item in items {
        model.apply(Input::Listed(item), at(0));
    }
    model
}

fn act(model: &mut Model, user: &str, sku: &str, feedback: Feedback, minute: i64) {
    model.apply(
        Input::Interaction {
            user_id: user.into(),
            sku: sku.into(),
            feedback,
        },
        at(minute),
    );
}

fn ask(
    model: &Model,
    user: Option<&str>,
    context: Option<&str>,
    minute: i64,
) -> Vec<crate::Recommendation> {
    model.recommend(
        &Request {
            user_id: user.map(String::from),
            limit: 10,
            category: None,
            context_sku: context.map(String::from),
            similar_only: false,
        },
        at(minute),
    )
}

fn skus(list: &[crate::Recommendation]) -> Vec<&str> {
    list.iter().map(|r| r.sku.as_str()).collect()
}

#[test]
fn a_shopper_with_no_history_gets_what_is_trending_and_in_stock() {
    // Given lamps and coffee bought by others, and the lamp now out of stock
    let mut model = shop();
    for (n, user) in ["a", "b", "c"].into_iter().enumerate() {
        act(&mut model, user, "LAMP", Feedback::Purchased, n as i64);
    }
    act(&mut model, "d", "COFFEE", Feedback::Viewed, 5);
    model.apply(
        Input::Stock {
            sku: "LAMP".into(),
            in_stock: false,
        },
        at(6),
    );
    // When a new visitor asks
    let list = ask(&model, Some("new"), None, 10);
    // Then the coffee leads, from trending; the lamp is not there; and the rest of
    // the list is the newest listings, each said to be new
    assert_eq!(list[0].sku, "COFFEE");
    assert_eq!(list[0].because, "trending in food/coffee");
    assert!(list[0].contributions.contains(&(Source::Trending, 0.3)));
    let mut rest: Vec<&str> = skus(&list)[1..].to_vec();
    rest.sort();
    assert_eq!(rest, ["APRON", "BOWL", "MUG", "SAUCER", "TOWEL"]);
    assert!(list[1..].iter().all(|r| r.because.starts_with("new in ")));
}

#[test]
fn one_place_in_ten_goes_to_a_new_item_while_it_is_new() {
    // Given twelve items long on sale, all trending, and a vase listed today
    let mut model = Model::new(Config::default(), at(0));
    for n in 0..12 {
        let sku = format!("OLD-{n:02}");
        let category = format!("home/c{n}");
        model.apply(
            Input::Listed(item(&sku, "Old thing", &category, &format!("s{n}"))),
            at(0),
        );
        act(&mut model, &format!("u{n}"), &sku, Feedback::Purchased, 1);
    }
    let day = 24 * 60;
    model.apply(
        Input::Listed(Item {
            listed_at: at(30 * day),
            ..item("VASE", "Tall vase", "home/decor", "s99")
        }),
        at(30 * day),
    );
    // When a visitor asks for twelve the same day
    let list = ask_for(&model, 12, 30 * day + 60);
    // Then the tenth place is the vase, said to be new, and the rest is trending
    assert_eq!(list.len(), 12);
    assert_eq!(list[9].sku, "VASE");
    assert_eq!(list[9].because, "new in home/decor");
    assert!(list
        .iter()
        .filter(|r| r.sku != "VASE")
        .all(|r| r.sku.starts_with("OLD-")));
    // And a month later the vase is no longer new: no place is kept for it
    let list = ask_for(&model, 12, 60 * day);
    assert!(!skus(&list)[..10].contains(&"VASE"), "{:?}", skus(&list));
}

fn ask_for(model: &Model, limit: usize, minute: i64) -> Vec<crate::Recommendation> {
    model.recommend(
        &Request {
            user_id: Some("visitor".into()),
            limit,
            ..Request::default()
        },
        at(minute),
    )
}

#[test]
fn items_bought_together_are_recommended_with_the_item_named() {
    // Given shoppers who bought a mug and then a saucer
    let mut model = shop();
    for (n, user) in ["a", "b", "c", "d"].into_iter().enumerate() {
        act(&mut model, user, "MUG", Feedback::Purchased, n as i64);
        act(&mut model, user, "SAUCER", Feedback::Purchased, n as i64);
    }
    // When a shopper who bought a mug asks
    act(&mut model, "ada", "MUG", Feedback::Purchased, 10);
    let list = ask(&model, Some("ada"), None, 11);
    // Then the saucer leads, bought together with the mug, and the mug itself is
    // not offered again
    assert_eq!(list[0].sku, "SAUCER");
    assert_eq!(list[0].because, "bought together with Stoneware mug");
    assert!(!skus(&list).contains(&"MUG"));
}

#[test]
fn a_viewed_item_brings_similar_ones_and_a_new_listing_is_recommendable_at_once() {
    // Given a shopper who viewed the linen apron
    let mut model = shop();
    act(&mut model, "bo", "APRON", Feedback::Viewed, 1);
    // When a linen napkin is listed a minute later
    let mut napkin = item("NAPKIN", "Linen napkin", "home/textiles/napkins", "s6");
    napkin.materials = vec!["linen".into()];
    model.apply(Input::Listed(napkin), at(2));
    let list = ask(&model, Some("bo"), None, 3);
    // Then the linen things come first, each saying which viewed item it is like
    let mut first_two = skus(&list)[..2].to_vec();
    first_two.sort();
    assert_eq!(first_two, ["NAPKIN", "TOWEL"]);
    assert_eq!(list[0].because, "similar to Linen apron you viewed");
    // And what the shopper just viewed is not offered back
    assert!(!skus(&list).contains(&"APRON"));
}

#[test]
fn a_dismissed_item_is_never_shown_again_and_its_category_drops() {
    let mut model = shop();
    act(&mut model, "cy", "MUG", Feedback::Viewed, 1);
    let before = ask(&model, Some("cy"), None, 2);
    assert!(skus(&before).contains(&"SAUCER"));
    // When the shopper dismisses the saucer
    model.apply(
        Input::Dismissed {
            user_id: "cy".into(),
            sku: "SAUCER".into(),
        },
        at(3),
    );
    let after = ask(&model, Some("cy"), None, 4);
    // Then it is gone on the very next request
    assert!(!skus(&after).contains(&"SAUCER"));
}

#[test]
fn a_rebuyable_item_comes_back_after_a_purchase_and_others_do_not() {
    let mut model = shop();
    act(&mut model, "x", "COFFEE", Feedback::Purchased, 1);
    act(&mut model, "x", "LAMP", Feedback::Purchased, 2);
    act(&mut model, "y", "COFFEE", Feedback::Purchased, 3);
    act(&mut model, "y", "LAMP", Feedback::Purchased, 4);
    let list = ask(&model, Some("x"), None, 5);
    assert!(skus(&list).contains(&"COFFEE"));
    assert!(!skus(&list).contains(&"LAMP"));
}

#[test]
fn the_first_ten_hold_at_most_the_cap_of_one_category() {
    // Given twelve mugs of one category, all trending
    let mut model = Model::new(Config::default(), at(0));
    for n in 0..12 {
        model.apply(
            Input::Listed(item(
                &format!("M{n:02}"),
                "Mug",
                "home/kitchen/mugs",
                &format!("s{n}"),
            )),
            at(0),
        );
        act(&mut model, "z", &format!("M{n:02}"), Feedback::Purchased, n);
    }
    model.apply(
        Input::Listed(item("LAMP", "Lamp", "home/light", "s99")),
        at(0),
    );
    act(&mut model, "w", "LAMP", Feedback::Viewed, 20);
    // When a new visitor asks for ten
    let list = ask(&model, None, None, 30);
    // Then as many mugs as the cap allows take places before the lamp, and the caps
    // give way only when nothing else is left
    let cap = Config::default().per_category_in_top;
    let head = &skus(&list)[..=cap];
    assert_eq!(head.iter().filter(|s| s.starts_with('M')).count(), cap);
    assert!(head.contains(&"LAMP"));
    assert_eq!(list.len(), 10);
}

#[test]
fn the_product_looked_at_brings_its_neighbours_and_is_not_itself_listed() {
    // Given the shop and a visitor on the mug's page
    let model = shop();
    let list = ask(&model, None, Some("MUG"), 1);
    // Then the other stoneware things lead, like the mug, and the mug is not listed
    let mut first_two = skus(&list)[..2].to_vec();
    first_two.sort();
    assert_eq!(first_two, ["BOWL", "SAUCER"]);
    assert_eq!(list[0].because, "similar to Stoneware mug");
    assert!(!skus(&list).contains(&"MUG"));
}

#[test]
fn trending_for_a_shopper_leads_with_their_categories() {
    // Given a lamp bought by many, a towel bought by two, and a shopper who has
    // been looking at a dish cloth (towels too)
    let mut model = shop();
    model.apply(
        Input::Listed(item(
            "CLOTH",
            "Cotton dish cloth",
            "home/textiles/towels",
            "s6",
        )),
        at(0),
    );
    for n in 0..6 {
        act(&mut model, &format!("l{n}"), "LAMP", Feedback::Purchased, n);
    }
    act(&mut model, "t1", "TOWEL", Feedback::Purchased, 7);
    act(&mut model, "t2", "TOWEL", Feedback::Purchased, 8);
    act(&mut model, "ann", "CLOTH", Feedback::Viewed, 9);
    // When a visitor and the shopper ask
    let visitor = ask(&model, Some("new"), None, 10);
    let ann = ask(&model, Some("ann"), None, 10);
    // Then the visitor gets the lamp first (plain trending), and the shopper the
    // towel: all of their interest is in towels, where the towel is the trend
    assert_eq!(visitor[0].sku, "LAMP");
    assert_eq!(ann[0].sku, "TOWEL");
    let trending = |list: &[crate::Recommendation], sku: &str| {
        list.iter()
            .find(|r| r.sku == sku)
            .and_then(|r| r.contributions.iter().find(|c| c.0 == Source::Trending))
            .map_or(0.0, |c| c.1)
    };
    assert!(trending(&ann, "TOWEL") > trending(&ann, "LAMP"));
}

#[test]
fn among_items_alike_the_one_shoppers_chose_counts_more() {
    // Given two stoneware items as like the mug as each other, one of them chosen by
    // many shoppers (each with nothing else, so no collaborative link to the mug)
    let mut model = shop();
    model.apply(
        Input::Listed(Item {
            materials: vec!["stoneware".into()],
            ..item("CUP", "Stoneware cup", "home/kitchen/bowls", "s2")
        }),
        at(0),
    );
    for n in 0..8 {
        act(&mut model, &format!("b{n}"), "BOWL", Feedback::Viewed, n);
    }
    act(&mut model, "mia", "MUG", Feedback::Viewed, 9);
    // When the mug's viewer asks
    let list = ask(&model, Some("mia"), None, 10);
    // Then the bowl's content part is larger than the cup's
    let content = |sku: &str| {
        list.iter()
            .find(|r| r.sku == sku)
            .and_then(|r| r.contributions.iter().find(|c| c.0 == Source::Content))
            .map_or(0.0, |c| c.1)
    };
    assert!(content("BOWL") > content("CUP"), "{list:?}");
}

#[test]
fn taste_names_the_categories_and_shops_a_shopper_engages_with() {
    // Given a shopper who bought a mug, viewed a bowl and viewed an apron, and who
    // dismissed a tea towel
    let mut model = shop();
    act(&mut model, "ada", "MUG", Feedback::Purchased, 1);
    act(&mut model, "ada", "BOWL", Feedback::Viewed, 2);
    act(&mut model, "ada", "APRON", Feedback::Viewed, 3);
    model.apply(
        Input::Dismissed {
            user_id: "ada".into(),
            sku: "TOWEL".into(),
        },
        at(4),
    );
    // When her taste is read
    let taste = model.taste("ada", 3).expect("ada has a history");
    // Then every interaction counts for `home`, the kitchen (a purchase and a view)
    // comes next, and shop s1 (the purchase) leads; the towel, dismissed and never
    // engaged with, adds nothing
    assert_eq!(taste.categories[0], ("home".to_string(), 1.0));
    assert_eq!(taste.categories[1].0, "home/kitchen");
    assert_eq!(taste.categories.len(), 3);
    assert_eq!(taste.shops[0].0, "s1");
    let share = |name: &str| {
        taste
            .shops
            .iter()
            .find(|s| s.0 == name)
            .map_or(0.0, |s| s.1)
    };
    assert!(share("s1") > share("s2") && share("s3") > 0.0);
    let everything = model.taste("ada", 100).unwrap();
    assert!(everything
        .categories
        .iter()
        .all(|c| c.0 != "home/textiles/towels"));
    // And a shopper the log never saw has none
    assert_eq!(model.taste("nobody", 3), None);
}

#[test]
fn a_dismissal_lowers_its_category_in_the_taste() {
    // Given two shoppers who viewed a mug and an apron alike
    let mut model = shop();
    for user in ["ada", "bob"] {
        act(&mut model, user, "APRON", Feedback::Viewed, 1);
        act(&mut model, user, "MUG", Feedback::Viewed, 1);
    }
    // When one of them dismisses the mug
    model.apply(
        Input::Dismissed {
            user_id: "bob".into(),
            sku: "MUG".into(),
        },
        at(2),
    );
    // Then the mugs' share falls for that shopper only
    let mugs = |user: &str| {
        let taste = model.taste(user, 10).unwrap();
        taste
            .categories
            .iter()
            .find(|c| c.0 == "home/kitchen/mugs")
            .map_or(0.0, |c| c.1)
    };
    assert!(
        mugs("bob") < mugs("ada"),
        "{} < {}",
        mugs("bob"),
        mugs("ada")
    );
}

#[test]
fn a_dismissal_lowers_the_only_category_a_shopper_has() {
    // Given a shopper who viewed only mugs, and dismissed one
    let mut model = shop();
    act(&mut model, "cy", "MUG", Feedback::Viewed, 1);
    model.apply(
        Input::Dismissed {
            user_id: "cy".into(),
            sku: "MUG".into(),
        },
        at(2),
    );
    // Then mugs no longer hold the whole of her taste
    let taste = model.taste("cy", 10).unwrap();
    let mugs = taste.categories.iter().find(|c| c.0 == "home/kitchen/mugs");
    assert_eq!(mugs.map(|c| c.1), Some(0.5));
}

#[test]
fn one_place_in_ten_goes_to_an_item_fewer_shoppers_know() {
    // Given a teapot bought with each of twelve best-selling cups by three shoppers
    // apiece, and with a handmade cup by one shopper only
    let mut model = Model::new(Config::default(), at(0));
    let mut list = |sku: &str, n: usize| {
        let category = format!("home/c{n}");
        let listed = item(sku, "Cup", &category, &format!("s{n}"));
        model.apply(Input::Listed(listed), at(0));
    };
    list("TEAPOT", 99);
    list("HANDMADE", 98);
    for n in 0..12 {
        list(&format!("CUP-{n:02}"), n);
    }
    for n in 0..12 {
        for buyer in 0..3 {
            let user = format!("u{n}-{buyer}");
            act(&mut model, &user, "TEAPOT", Feedback::Purchased, 1);
            act(
                &mut model,
                &user,
                &format!("CUP-{n:02}"),
                Feedback::Purchased,
                2,
            );
        }
    }
    act(&mut model, "maker-fan", "TEAPOT", Feedback::Purchased, 1);
    act(&mut model, "maker-fan", "HANDMADE", Feedback::Purchased, 2);
    // And a shopper who just bought the teapot
    act(&mut model, "ada", "TEAPOT", Feedback::Purchased, 3);

    // When she asks for ten, with the long-tail place turned off and on
    let without = Model {
        config: Config {
            long_tail_every: 0,
            ..Config::default()
        },
        ..model.clone()
    };
    // (a month on, when no listing is new any more)
    let month = 30 * 24 * 60;
    let plain = ask(&without, Some("ada"), None, month);
    let with_tail = ask(&model, Some("ada"), None, month);

    // Then the best sellers fill the plain list, and the ninth place of the other
    // goes to the handmade cup (the best sellers keep every other place, in order)
    assert!(!skus(&plain).contains(&"HANDMADE"), "{:?}", skus(&plain));
    assert_eq!(with_tail.len(), 10);
    assert_eq!(with_tail[8].sku, "HANDMADE", "{:?}", skus(&with_tail));
    let others: Vec<&str> = skus(&with_tail)
        .into_iter()
        .filter(|s| *s != "HANDMADE")
        .collect();
    assert_eq!(others, skus(&plain)[..9], "{:?}", skus(&plain));
}
