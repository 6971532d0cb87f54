//! Given small hand-made data, when split, read, trained or measured, then the
//! offline evaluation's parts do what they say.

use std::collections::{HashMap, HashSet};

use super::als::{Als, AlsParams};
use super::atomic::{read_interactions, read_items, write_interactions, write_items};
use super::baselines::{ItemKnn, Popularity};
use super::metrics::{figures, Truth};
use super::split::leave_last_out;
use super::{Interaction, ItemInfo, Ranker};

fn touch(user: &str, item: &str, rating: f64, timestamp: f64) -> Interaction {
    Interaction {
        user: user.into(),
        item: item.into(),
        rating,
        timestamp,
    }
}

#[test]
fn the_last_new_item_is_held_out_with_everything_from_its_first_touch() {
    let split = leave_last_out(vec![
        touch("ada", "mug", 1.0, 1.0),
        touch("ada", "bowl", 1.0, 2.0),
        touch("ada", "mug", 5.0, 3.0),
        touch("ada", "bowl", 5.0, 4.0),
        touch("bo", "mug", 1.0, 1.5),
    ]);
    // ada's last new item is the bowl: both its touches leave training, and so does
    // the mug's purchase after it; bo has one item and stays whole in training
    assert_eq!(split.test, [("ada".to_string(), "bowl".to_string())]);
    assert_eq!(
        split.train,
        [touch("ada", "mug", 1.0, 1.0), touch("bo", "mug", 1.0, 1.5)]
    );
}

#[test]
fn atomic_files_read_what_was_written_and_columns_are_found_by_name() {
    let interactions = vec![touch("u1", "i1", 5.0, 10.0), touch("u2", "i2", 1.0, 11.5)];
    let mut bytes = Vec::new();
    write_interactions(&mut bytes, &interactions).unwrap();
    assert_eq!(read_interactions(&bytes[..]).unwrap(), interactions);

    let reordered = "timestamp:float\titem_id:token\tuser_id:token\n7\ti9\tu3\n";
    assert_eq!(
        read_interactions(reordered.as_bytes()).unwrap(),
        [touch("u3", "i9", 1.0, 7.0)]
    );
    let bad = "user_id:token\titem_id:token\ttimestamp:float\nu1\ti1\tlater\n";
    let error = read_interactions(bad.as_bytes()).unwrap_err().to_string();
    assert!(
        error.contains("line 2") && error.contains("timestamp"),
        "{error}"
    );

    let items = vec![ItemInfo {
        item: "i1".into(),
        title: "Stoneware mug".into(),
        category: "home/kitchen".into(),
        shop: "s1".into(),
        tags: vec!["gift".into(), "tea".into()],
        materials: vec!["stoneware".into()],
    }];
    let mut bytes = Vec::new();
    write_items(&mut bytes, &items).unwrap();
    assert_eq!(read_items(&bytes[..]).unwrap(), items);
}

/// Two groups of shoppers, each keeping to its own three items.
fn two_tastes() -> Vec<Interaction> {
    let mut interactions = Vec::new();
    for n in 0..20 {
        let (user, items) = if n % 2 == 0 {
            (format!("a{n}"), ["a1", "a2", "a3"])
        } else {
            (format!("b{n}"), ["b1", "b2", "b3"])
        };
        for (t, item) in items.iter().enumerate() {
            // Every shopper skips one item of their group, in turn.
            if t != n % 3 {
                interactions.push(touch(&user, item, 1.0, (n * 10 + t) as f64));
            }
        }
    }
    interactions
}

#[test]
fn item_knn_and_als_offer_a_shopper_what_their_group_touches() {
    let train = two_tastes();
    let knn = ItemKnn::train(&train);
    let als = Als::train(&train, AlsParams::default());
    // a0 touched a2 and a3: the item they skipped comes first, from their group
    let seen: HashSet<&str> = ["a2", "a3"].into();
    assert_eq!(knn.top("a0", &seen, 1), ["a1"]);
    assert_eq!(als.top("a0", &seen, 1), ["a1"]);
    // b1 touched b1 and b3
    let seen: HashSet<&str> = ["b1", "b3"].into();
    assert_eq!(als.top("b1", &seen, 1), ["b2"]);
    // The same data and seed train the same factors
    let again = Als::train(&train, AlsParams::default());
    assert_eq!(
        again.top("a0", &HashSet::new(), 6),
        als.top("a0", &HashSet::new(), 6)
    );
}

#[test]
fn popularity_offers_the_most_touched_not_yet_seen() {
    let popular = Popularity::train(&[
        touch("u1", "x", 1.0, 1.0),
        touch("u2", "x", 1.0, 2.0),
        touch("u2", "y", 5.0, 3.0),
        touch("u3", "z", 1.0, 4.0),
    ]);
    assert_eq!(popular.top("u9", &HashSet::new(), 2), ["y", "x"]);
    assert_eq!(popular.top("u9", &["y"].into(), 2), ["x", "z"]);
}

#[test]
fn figures_count_hits_by_rank_coverage_diversity_and_novelty() {
    let popularity: HashMap<String, f64> = [("a", 0.5), ("b", 0.25), ("c", 0.25)]
        .map(|(i, s)| (i.to_string(), s))
        .into();
    let same_letter = |a: &str, b: &str| if a == b { 1.0 } else { 0.0 };
    let truth = Truth {
        catalogue: 4,
        popularity: &popularity,
        similarity: &same_letter,
    };
    let list = |items: &[&str]| items.iter().map(|i| i.to_string()).collect::<Vec<_>>();
    let figures = figures(
        &[
            (list(&["a", "b"]), "a"),
            (list(&["b", "c"]), "c"),
            (list(&["a"]), "d"),
        ],
        &truth,
    );
    assert!((figures.hr_at_10 - 2.0 / 3.0).abs() < 1e-12);
    // Ranks 1 and 2: (1 + 1/log2(3)) / 3
    let ndcg = (1.0 + 1.0 / 3f64.log2()) / 3.0;
    assert!((figures.ndcg_at_10 - ndcg).abs() < 1e-12);
    assert_eq!(figures.coverage_at_10, 0.75);
    assert_eq!(figures.intra_list_diversity, 1.0);
    // −log2 of 0.5, 0.25, 0.25, 0.25, 0.5 averaged
    assert!((figures.novelty - 8.0 / 5.0).abs() < 1e-12);
    assert!((figures.list_length - 5.0 / 3.0).abs() < 1e-12);
}
