//! Properties of the seeded catalog the README's search tour relies on, checked on
//! the generator's output alone (no database): products make sense, and the
//! examples (ceramic mugs, vases in Berlin, shop-7's wood and glass) find something.

use event_schemas::ProductDetails;

use super::categories::{category_by_path, CATEGORIES};
use super::generator::{materials, shop_id, title, vocabulary, Generator};
use super::shops::SHOPS;
use super::words::{french_of, material_by_id, noun, style_by_name, Gender, Lang, MATERIALS};

fn catalog(seed: u64, count: usize) -> Vec<ProductDetails> {
    let mut generator = Generator::new(seed);
    (0..count).map(|_| generator.product()).collect()
}

/// The shop table's entry for a seeded shop id.
fn shop_of(product: &ProductDetails) -> &'static super::shops::ShopProfile {
    let number: usize = product.shop.shop_id["shop-".len()..].parse().unwrap();
    &SHOPS[number - 1]
}

fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().asin()
}

#[test]
fn the_tables_name_only_known_categories_materials_and_styles() {
    // Given the tables, when each reference is looked up, then it resolves, and
    // every shop can make something in each category it sells.
    assert!((25..=40).contains(&CATEGORIES.len()));
    assert_eq!(SHOPS.len(), 40);
    for category in CATEGORIES {
        for id in category
            .materials
            .iter()
            .chain(category.always)
            .chain(category.accents)
        {
            material_by_id(id);
        }
        for style in category.styles {
            style_by_name(style);
        }
        assert!(category.price.0 < category.price.1, "{}", category.path);
    }
    for shop in SHOPS {
        for path in shop.categories {
            let category = category_by_path(path);
            assert!(
                shop.materials.is_empty()
                    || category
                        .materials
                        .iter()
                        .any(|m| shop.materials.contains(m)),
                "{} cannot make {path}",
                shop.name
            );
        }
        for id in shop.materials {
            material_by_id(id);
        }
    }
    for material in MATERIALS {
        if let Some(parent) = material.parent {
            material_by_id(parent);
        }
    }
}

#[test]
fn every_product_fits_its_category_and_its_shop() {
    // Given a catalog of 10,000 products, then each is in a category its shop sells,
    // made of what that category (and shop) uses, priced in the category's range,
    // tagged with the category's tags, and located at its shop's city.
    for product in catalog(42, 10_000) {
        let shop = shop_of(&product);
        let category = category_by_path(&product.category);
        assert!(
            shop.categories.contains(&product.category.as_str()),
            "{product:?}"
        );
        assert_eq!(product.shop.name, shop.name);
        let fits: Vec<&str> = category
            .materials
            .iter()
            .chain(category.always)
            .chain(category.accents)
            .flat_map(|id| [*id].into_iter().chain(material_by_id(id).parent))
            .collect();
        for material in &product.materials {
            assert!(fits.contains(&material.as_str()), "{product:?}");
        }
        let chosen = product.materials[0].as_str();
        assert!(category.materials.contains(&chosen), "{product:?}");
        assert!(
            shop.materials.is_empty() || shop.materials.contains(&chosen),
            "{product:?}"
        );
        assert!(
            (category.price.0..=category.price.1).contains(&product.price.amount),
            "{product:?}"
        );
        assert_eq!(product.price.currency, "EUR");
        for tag in &product.tags {
            assert!(
                category.tags.contains(&tag.as_str()) || category.styles.contains(&tag.as_str()),
                "{product:?}"
            );
        }
        let at = &product.shop.location;
        assert!(distance_km(at.lat, at.lon, shop.city.lat, shop.city.lon) < 10.0);
        assert!(!product.title.is_empty() && product.description.len() > product.title.len());
    }
}

#[test]
fn all_three_languages_appear_mostly_english() {
    // Given 10,000 products, then about 70% are English, the rest German or French.
    let products = catalog(42, 10_000);
    let share = |code: &str| {
        products.iter().filter(|p| p.language == code).count() as f64 / products.len() as f64
    };
    assert!((0.6..0.8).contains(&share("en")), "en {}", share("en"));
    assert!((0.08..0.25).contains(&share("de")), "de {}", share("de"));
    assert!((0.08..0.25).contains(&share("fr")), "fr {}", share("fr"));
}

#[test]
fn titles_are_grammatical_in_each_language() {
    // Given a handmade blue ceramic mug, then each language writes it its own way,
    // adjectives agreeing with the noun.
    let mugs = category_by_path("home/kitchen/mugs");
    let mug = noun("mug", "Tasse", Gender::Feminine, "tasse", Gender::Feminine);
    let ceramic = material_by_id("ceramic");
    let handmade = Some(style_by_name("handmade"));
    let blue = Some(("blue", "blau", ("bleu", "bleue")));
    let in_language = |l| title(l, mugs, &mug, ceramic, handmade, blue);
    assert_eq!(in_language(Lang::En), "Handmade blue ceramic mug");
    assert_eq!(
        in_language(Lang::De),
        "Handgemachte blaue Tasse aus Keramik"
    );
    assert_eq!(in_language(Lang::Fr), "Tasse bleue artisanale en céramique");
    assert_eq!(french_of("Atelier du Bois"), "d'Atelier du Bois");
    assert_eq!(french_of("Le Petit Atelier"), "du Petit Atelier");
    assert_eq!(french_of("Fil de Soie"), "de Fil de Soie");
    let earrings = category_by_path("jewelry/earrings");
    let pair = &earrings.nouns[0];
    let elegant = Some(style_by_name("elegant"));
    let silver = material_by_id("silver");
    assert_eq!(
        title(Lang::Fr, earrings, pair, silver, elegant, None),
        "Boucles d'oreilles élégantes en argent"
    );
    assert_eq!(
        title(Lang::De, earrings, pair, silver, elegant, None),
        "Elegante Ohrringe aus Silber"
    );
}

#[test]
fn oak_counts_as_wood() {
    // Given an oak table with steel legs, then its materials are oak, steel and wood.
    let tables = category_by_path("furniture/tables");
    let found = materials(material_by_id("oak"), tables, Some(material_by_id("steel")));
    assert_eq!(found, ["oak", "steel", "wood"]);
}

#[test]
fn the_same_seed_writes_the_same_catalog() {
    assert_eq!(catalog(7, 500), catalog(7, 500));
    assert_ne!(catalog(7, 500), catalog(8, 500));
}

#[test]
fn the_readme_search_examples_find_products_in_a_thousand() {
    // Given the default catalog size of the tour, 1,000 products,
    let products = catalog(42, 1_000);
    // then `q=ceramic mug` and `suggest?prefix=cer` have ceramic mugs to find,
    assert!(products.iter().any(|p| p.category == "home/kitchen/mugs"
        && p.materials.contains(&"ceramic".to_string())
        && p.title.to_lowercase().contains("ceramic mug")));
    // `category=home/kitchen&price_min=1000&price_max=5000` has kitchen products in range,
    let kitchen = products.iter().filter(|p| {
        p.category.starts_with("home/kitchen/") && (1_000..=5_000).contains(&p.price.amount)
    });
    assert!(kitchen.count() >= 20);
    // `q=vase&lat=52.52&lon=13.40&radius_km=25` has vases in Berlin,
    let berlin_vases = products.iter().filter(|p| {
        p.category == "home/decor/vases"
            && distance_km(p.shop.location.lat, p.shop.location.lon, 52.52, 13.40) <= 25.0
    });
    assert!(berlin_vases.count() >= 3);
    // and `materials=wood,glass&shop_id=shop-7&offset=20` has more than 20 products
    // of shop-7 (all wood or glass, both present).
    let shop_7: Vec<&ProductDetails> = products
        .iter()
        .filter(|p| p.shop.shop_id == shop_id(6))
        .collect();
    assert!(shop_7.len() > 20, "{}", shop_7.len());
    let made_of = |m: &'static str| {
        shop_7
            .iter()
            .filter(move |p| p.materials.iter().any(|x| x == m))
    };
    assert_eq!(
        shop_7
            .iter()
            .filter(|p| p.materials.iter().any(|m| m == "wood" || m == "glass"))
            .count(),
        shop_7.len()
    );
    assert!(made_of("wood").count() > 0 && made_of("glass").count() > 0);
}

#[test]
fn the_vocabulary_is_the_catalogs_own() {
    // Given the words the search bench draws its queries from, then each of them
    // occurs in a catalog's titles or tags.
    let text: String = catalog(42, 10_000)
        .iter()
        .map(|p| format!("{} {} ", p.title, p.tags.join(" ")).to_lowercase())
        .collect();
    let missing: Vec<&str> = vocabulary()
        .into_iter()
        .filter(|word| !text.contains(&word.to_lowercase()))
        .collect();
    assert!(missing.is_empty(), "{missing:?}");
}

/// Whether `a` becomes `b` by at most one insertion, deletion or substitution.
fn one_edit_apart(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let start = short.iter().zip(&long).take_while(|(x, y)| x == y).count();
    if start == short.len() {
        return true;
    }
    // Past the first difference: a substitution skips it in both, an insertion in one.
    let rest = start + usize::from(short.len() == long.len());
    short[rest..] == long[start + 1..]
}

#[test]
fn a_typo_tolerant_vase_query_finds_only_vases() {
    // Given 10,000 products, then only vases have a word one typo from "vase" (as
    // the index folds it: "Käse" would be one; every vase has its category's
    // "vases"), so the geo example lists vases only.
    assert!(one_edit_apart("kase", "vase") && one_edit_apart("vase", "vases"));
    assert!(!one_edit_apart("vase", "glass"));
    for product in catalog(42, 10_000) {
        // The fields `q` searches: title, description, tags, category, materials, shop.
        let text = [
            &product.title,
            &product.description,
            &product.tags.join(" "),
            &product.category,
            &product.materials.join(" "),
            &product.shop.name,
        ]
        .map(|field| field.as_str())
        .join(" ")
        .to_lowercase()
        .replace('ä', "a");
        let near = text
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| one_edit_apart(word, "vase"));
        assert_eq!(near, product.category == "home/decor/vases", "{product:?}");
    }
}
