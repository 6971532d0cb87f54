//! The deterministic product generator: a shop (popular ones more often), one of
//! its categories, a material both work in, then a title, tags, price and
//! description in the language chosen, all from the tables of the sibling modules.

use event_schemas::{GeoPoint, Money, ProductDetails, Shop};

use super::categories::{category_by_path, Category, CATEGORIES};
use super::shops::{ShopProfile, CITIES, SHOPS};
use super::words::{
    capitalised, french_adjective, french_of, german_adjective, material_by_id, style_by_name,
    Lang, Material, Noun, Style, COLOURS, MATERIALS, STYLES,
};

/// Zipf exponent of shop popularity: shop-1 lists ~5x what shop-7 does, and the
/// last shops still list some.
const SHOP_ZIPF: f64 = 0.8;
/// Share of a shop's listings in its city's language (the rest are English), in
/// percent; with the shop table this makes ~70% en, ~15% de, ~15% fr.
const LOCAL_LANGUAGE_PERCENT: u64 = 38;
/// Share of products with a style adjective, and of coloured materials with a colour.
const STYLE_PERCENT: u64 = 75;
const COLOUR_PERCENT: u64 = 40;
/// Share of products of a category with accents that have one.
const ACCENT_PERCENT: u64 = 30;
/// How far (in degrees) a shop sits from its city's centre, at most: a few km.
const SHOP_JITTER: f64 = 0.04;

/// Closing sentences, one per product, in English, German and French.
const CLOSINGS: [&[&str]; 3] = [
    &[
        "Each piece is finished by hand, so no two are exactly alike.",
        "Packed without plastic and shipped within two working days.",
        "Questions about sizes or custom orders are always welcome.",
    ],
    &[
        "Jedes Stück wird von Hand veredelt, daher gleicht keines dem anderen.",
        "Plastikfrei verpackt und innerhalb von zwei Werktagen versandt.",
        "Fragen zu Maßen oder Sonderanfertigungen beantworten wir gern.",
    ],
    &[
        "Chaque pièce est finie à la main : aucune n'est tout à fait identique.",
        "Emballage sans plastique, expédition sous deux jours ouvrés.",
        "Nous répondons volontiers à vos questions sur les dimensions ou le sur-mesure.",
    ],
];

/// A small deterministic generator (SplitMix64) over the catalog's tables.
pub struct Generator {
    state: u64,
    /// Every word the catalog's titles and tags use, most common first.
    vocabulary: Vec<&'static str>,
    /// Cumulative Zipf weights over `vocabulary`.
    word_weights: Vec<f64>,
    /// Cumulative Zipf weights over [`SHOPS`].
    shop_weights: Vec<f64>,
}

/// One round of SplitMix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub(super) fn cumulative_zipf(n: usize, exponent: f64) -> Vec<f64> {
    let mut total = 0.0;
    (1..=n)
        .map(|rank| {
            total += 1.0 / (rank as f64).powf(exponent);
            total
        })
        .collect()
}

/// The words a query mix can draw: nouns, materials, styles, colours and tags in
/// English, then the German and French nouns.
pub(super) fn vocabulary() -> Vec<&'static str> {
    let english = CATEGORIES
        .iter()
        .flat_map(|c| c.nouns.iter().map(|n| n.en))
        .chain(MATERIALS.iter().map(|m| m.en_adjective))
        .chain(STYLES.iter().map(|s| s.en))
        .chain(COLOURS.iter().map(|c| c.0))
        .chain(CATEGORIES.iter().flat_map(|c| c.tags.iter().copied()));
    let foreign = CATEGORIES
        .iter()
        .flat_map(|c| c.nouns.iter().flat_map(|n| [n.de, n.fr]));
    let mut words: Vec<&'static str> = Vec::new();
    for word in english.chain(foreign).flat_map(|w| w.split([' ', '-'])) {
        // Articles and elided words ("d'oreilles") make poor queries.
        if word.chars().count() >= 3 && !word.contains('\'') && !words.contains(&word) {
            words.push(word);
        }
    }
    words
}

/// Where a shop is: its city, moved a few km by its number (the same in every seed).
pub fn shop_location(index: usize) -> GeoPoint {
    let city = SHOPS[index].city;
    let bits = mix(index as u64 + 1);
    let offset = |bits: u64| ((bits & 0xffff) as f64 / 65_535.0 - 0.5) * 2.0 * SHOP_JITTER;
    GeoPoint {
        lat: city.lat + offset(bits),
        lon: city.lon + offset(bits >> 16),
    }
}

/// The id of the shop at `index` of [`SHOPS`]: `shop-1` is the first.
pub fn shop_id(index: usize) -> String {
    format!("shop-{}", index + 1)
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        let vocabulary = vocabulary();
        Self {
            state: seed,
            word_weights: cumulative_zipf(vocabulary.len(), 1.0),
            vocabulary,
            shop_weights: cumulative_zipf(SHOPS.len(), SHOP_ZIPF),
        }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.state)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub(super) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// An index drawn by cumulative weights.
    pub(super) fn weighted(&mut self, cumulative: &[f64]) -> usize {
        let target = self.unit() * cumulative.last().copied().unwrap_or(0.0);
        cumulative
            .partition_point(|c| *c < target)
            .min(cumulative.len() - 1)
    }

    /// A word of the catalog, frequent ones far more often (Zipf, s = 1).
    pub fn word(&mut self) -> &'static str {
        let weights = std::mem::take(&mut self.word_weights);
        let rank = self.weighted(&weights);
        self.word_weights = weights;
        self.vocabulary[rank]
    }

    /// A leaf category path.
    pub fn category(&mut self) -> String {
        let index = self.below(CATEGORIES.len() as u64) as usize;
        CATEGORIES[index].path.to_string()
    }

    /// A point near one of the shops' cities.
    pub fn city_point(&mut self) -> GeoPoint {
        let city = self.pick(CITIES);
        GeoPoint {
            lat: city.lat + (self.unit() - 0.5) * 0.2,
            lon: city.lon + (self.unit() - 0.5) * 0.2,
        }
    }

    /// The next product: its shop first, so all else fits what that shop makes.
    pub fn product(&mut self) -> ProductDetails {
        let weights = std::mem::take(&mut self.shop_weights);
        let shop_index = self.weighted(&weights);
        self.shop_weights = weights;
        let shop = &SHOPS[shop_index];
        let category = category_by_path(self.pick(shop.categories));
        let usable: Vec<&str> = category
            .materials
            .iter()
            .copied()
            .filter(|m| shop.materials.is_empty() || shop.materials.contains(m))
            .collect();
        let material = material_by_id(self.pick(&usable));
        let styles: Vec<&Style> = category
            .styles
            .iter()
            .map(|s| style_by_name(s))
            .filter(|s| s.only.is_empty() || s.only.contains(&material.id))
            .collect();
        // A title without its material needs a style not to be the bare noun.
        let styled = !category.material_in_title || self.chance(STYLE_PERCENT);
        let style = (styled && !styles.is_empty()).then(|| self.pick(&styles));
        let colour = (material.coloured && self.chance(COLOUR_PERCENT)).then(|| self.pick(COLOURS));
        let noun = self.pick(category.nouns);
        let accent = (!category.accents.is_empty() && self.chance(ACCENT_PERCENT))
            .then(|| material_by_id(self.pick(category.accents)))
            .filter(|a| a.id != material.id);
        let language = match shop.city.language {
            Some(local) if self.chance(LOCAL_LANGUAGE_PERCENT) => local,
            _ => Lang::En,
        };
        let title = title(language, category, &noun, material, style, colour);
        let description = self.description(language, &title, shop, category, accent);
        let mut tags: Vec<String> = Vec::new();
        for _ in 0..3 {
            let tag = self.pick(category.tags).to_string();
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if let Some(style) = style {
            tags.push(style.en.to_string());
        }
        let (low, high) = category.price;
        // Log-uniform whole euros inside the range, priced at .90.
        let (low, high) = ((low / 100 + 1) as f64, (high / 100) as f64);
        let euros = (low * (high / low).powf(self.unit())).round() as i64;
        ProductDetails {
            title,
            description,
            tags,
            category: category.path.to_string(),
            materials: materials(material, category, accent),
            shop: Shop {
                shop_id: shop_id(shop_index),
                name: shop.name.to_string(),
                location: shop_location(shop_index),
            },
            price: Money {
                amount: euros * 100 - 10,
                currency: "EUR".into(),
            },
            language: language.code().into(),
        }
    }

    /// The title again, who made it where, what it is for, an accent if any, and
    /// one closing sentence.
    fn description(
        &mut self,
        language: Lang,
        title: &str,
        shop: &ShopProfile,
        category: &Category,
        accent: Option<&Material>,
    ) -> String {
        let l = language as usize;
        let city = shop.city.name[l];
        let shop = shop.name;
        let mut sentences = vec![match language {
            Lang::En => format!("{title}, made by {shop} in {city}."),
            Lang::De => format!("{title}, gefertigt von {shop} in {city}."),
            Lang::Fr => format!("{title}, une création {} à {city}.", french_of(shop)),
        }];
        sentences.push(category.about[l].to_string());
        if let Some(accent) = accent {
            sentences.push(match language {
                Lang::En => format!("With {} details.", accent.en_adjective),
                Lang::De => format!("Mit Details aus {}.", accent.name[l]),
                Lang::Fr => format!("Avec des détails en {}.", accent.name[l]),
            });
        }
        sentences.push(self.pick(CLOSINGS[l]).to_string());
        sentences.join(" ")
    }
}

/// The title in `language`: "Handmade blue ceramic mug", "Handgemachte blaue Tasse
/// aus Keramik", "Tasse bleue artisanale en céramique".
pub(super) fn title(
    language: Lang,
    category: &Category,
    noun: &Noun,
    material: &Material,
    style: Option<&Style>,
    colour: Option<(&str, &str, (&str, &str))>,
) -> String {
    let l = language as usize;
    let mut words: Vec<String> = Vec::new();
    match language {
        Lang::En => {
            words.extend(style.map(|s| s.en.to_string()));
            words.extend(colour.map(|c| c.0.to_string()));
            if category.material_in_title {
                words.push(material.en_adjective.to_string());
            }
            words.push(noun.en.to_string());
        }
        Lang::De => {
            let gender = noun.de_gender;
            words.extend(style.map(|s| german_adjective(s.de, gender)));
            words.extend(colour.map(|c| german_adjective(c.1, gender)));
            words.push(noun.de.to_string());
            if category.material_in_title {
                words.push(format!("aus {}", material.name[l]));
            }
        }
        Lang::Fr => {
            let gender = noun.fr_gender;
            words.push(noun.fr.to_string());
            words.extend(colour.map(|c| french_adjective(c.2, gender)));
            words.extend(style.map(|s| french_adjective(s.fr, gender)));
            if category.material_in_title {
                words.push(format!("en {}", material.name[l]));
            }
        }
    }
    capitalised(&words.join(" "))
}

/// The chosen material, what the category always has, the accent, and the broader
/// material each of them counts as (oak is also wood), once each.
pub(super) fn materials(
    material: &Material,
    category: &Category,
    accent: Option<&Material>,
) -> Vec<String> {
    let mut ids: Vec<&str> = vec![material.id];
    ids.extend(category.always.iter().copied());
    ids.extend(accent.map(|a| a.id));
    let parents: Vec<&str> = ids
        .iter()
        .filter_map(|id| material_by_id(id).parent)
        .collect();
    ids.extend(parents);
    let mut unique: Vec<String> = Vec::new();
    for id in ids {
        if !unique.iter().any(|u| u == id) {
            unique.push(id.to_string());
        }
    }
    unique
}
