//! What the model knows of each item: whether it may be shown, and the words its
//! content similarity is computed from.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};

/// One product as the recommendations see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub sku: String,
    pub title: String,
    /// A path such as `home/kitchen/mugs`.
    pub category: String,
    pub shop_id: String,
    pub tags: Vec<String>,
    pub materials: Vec<String>,
    pub listed: bool,
    /// In stock in at least one warehouse.
    pub in_stock: bool,
    /// The shop marks it as bought again and again (coffee, soap): a purchase does
    /// not take it off the list.
    pub rebuyable: bool,
    pub listed_at: DateTime<Utc>,
}

impl Item {
    /// Whether it may be recommended at all.
    pub fn showable(&self) -> bool {
        self.listed && self.in_stock
    }

    /// The content terms: every prefix of the category path (so `home/kitchen/mugs`
    /// is near `home/kitchen/pans`), tags, materials and title words, each marked by
    /// where it came from.
    pub fn terms(&self) -> Vec<String> {
        let mut terms = Vec::new();
        let mut path = String::new();
        for part in self.category.split('/').filter(|p| !p.is_empty()) {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(&part.to_lowercase());
            terms.push(format!("c:{path}"));
        }
        terms.extend(self.tags.iter().map(|t| format!("t:{}", t.to_lowercase())));
        terms.extend(
            self.materials
                .iter()
                .map(|m| format!("m:{}", m.to_lowercase())),
        );
        terms.extend(words(&self.title).map(|w| format!("w:{w}")));
        terms.sort();
        terms.dedup();
        terms
    }
}

/// The lower-cased words of a title, short ones left out.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() > 2)
        .map(str::to_lowercase)
}

/// An item's number in the model: every SKU the log names (listed, or only
/// interacted with) is numbered once, in the order the log first names it, so the
/// sources count and look up small integers, not strings, and every copy of the
/// model that followed the same log numbers alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ItemId(u32);

impl ItemId {
    /// Its place in the vectors kept by item.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Maps and sets keyed by item number, with a hasher made for small integers (the
/// keys are the model's own numbers, never text a caller chose).
pub type IdMap<V> = HashMap<ItemId, V, FxBuildHasher>;
pub type IdSet = HashSet<ItemId, FxBuildHasher>;

/// Every SKU the log has named, and every item it has listed, by number and by when
/// it was listed.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(from = "StoredCatalog")]
pub struct Catalog {
    /// Per number: the SKU.
    skus: Vec<String>,
    /// Per SKU: its number (not saved: rebuilt from `skus`).
    #[serde(skip_serializing)]
    ids: HashMap<String, ItemId>,
    /// Per number: the item, once listed.
    items: Vec<Option<Item>>,
    by_listing: BTreeSet<(DateTime<Utc>, ItemId)>,
    /// Per number: what a list asks of every candidate, a few bytes each (not
    /// saved: rebuilt from `items`). A list filters and groups a couple of thousand
    /// candidates, and reading an item itself is a cache miss each in a large
    /// catalogue (and hashing its category's text another cost).
    #[serde(skip_serializing)]
    standing: Vec<Standing>,
    /// Categories and shops by number, for [`Standing`] (not saved: rebuilt).
    #[serde(skip_serializing)]
    categories: Names,
    #[serde(skip_serializing)]
    shops: Names,
}

/// Whether an item may be shown, whether it is bought again and again, and its
/// category and shop by number: kept apart from the item so the filter over a
/// list's candidates, and the caps per category and shop, read a few bytes each.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub showable: bool,
    pub rebuyable: bool,
    /// The item's category (as the item names it) by number; 0 for an item not
    /// listed.
    pub category: u32,
    /// The item's shop by number; 0 for an item not listed.
    pub shop: u32,
}

/// Texts numbered from 1 in the order first seen (0 is the empty text).
#[derive(Debug, Default, Clone)]
struct Names {
    numbers: HashMap<String, u32>,
    texts: Vec<String>,
}

impl Names {
    fn number(&mut self, text: &str) -> u32 {
        if text.is_empty() {
            return 0;
        }
        if let Some(&number) = self.numbers.get(text) {
            return number;
        }
        self.texts.push(text.to_string());
        let number = u32::try_from(self.texts.len()).expect("fewer than 2^32 names");
        self.numbers.insert(text.to_string(), number);
        number
    }

    fn text(&self, number: u32) -> &str {
        number
            .checked_sub(1)
            .and_then(|n| self.texts.get(n as usize))
            .map_or("", String::as_str)
    }
}

/// The catalog as saved: without the map from SKU to number.
#[derive(Deserialize)]
struct StoredCatalog {
    skus: Vec<String>,
    items: Vec<Option<Item>>,
    by_listing: BTreeSet<(DateTime<Utc>, ItemId)>,
}

impl From<StoredCatalog> for Catalog {
    fn from(stored: StoredCatalog) -> Self {
        let ids = (0u32..)
            .zip(&stored.skus)
            .map(|(n, sku)| (sku.clone(), ItemId(n)))
            .collect();
        let mut catalog = Catalog {
            skus: stored.skus,
            ids,
            items: stored.items,
            by_listing: stored.by_listing,
            standing: Vec::new(),
            categories: Names::default(),
            shops: Names::default(),
        };
        catalog.standing = (0..catalog.items.len())
            .map(|n| catalog.standing_of(n))
            .collect();
        catalog
    }
}

impl Catalog {
    /// The number of a SKU the log has named.
    pub fn id(&self, sku: &str) -> Option<ItemId> {
        self.ids.get(sku).copied()
    }

    /// The number of `sku`, numbering it if it is new.
    pub fn intern(&mut self, sku: &str) -> ItemId {
        if let Some(id) = self.id(sku) {
            return id;
        }
        let id = ItemId(u32::try_from(self.skus.len()).expect("fewer than 2^32 SKUs"));
        self.skus.push(sku.to_string());
        self.items.push(None);
        self.standing.push(Standing::default());
        self.ids.insert(sku.to_string(), id);
        id
    }

    /// The SKU of a number.
    pub fn sku(&self, id: ItemId) -> &str {
        &self.skus[id.index()]
    }

    pub fn get(&self, sku: &str) -> Option<&Item> {
        self.item(self.id(sku)?)
    }

    pub fn item(&self, id: ItemId) -> Option<&Item> {
        self.items.get(id.index())?.as_ref()
    }

    /// What a list asks of a candidate (an unknown number: not showable).
    pub fn standing(&self, id: ItemId) -> Standing {
        self.standing.get(id.index()).copied().unwrap_or_default()
    }

    /// Change an item (when listed) in place, keeping its standing up to date.
    pub fn update(&mut self, id: ItemId, change: impl FnOnce(&mut Item)) {
        if let Some(item) = self.items.get_mut(id.index()).and_then(Option::as_mut) {
            change(item);
            self.standing[id.index()] = self.standing_of(id.index());
        }
    }

    /// The standing of the item numbered `n`, numbering its category and shop if
    /// they are new. A category or shop the item keeps keeps its number without a
    /// lookup: stock changes come through here for every SKU.
    fn standing_of(&mut self, n: usize) -> Standing {
        let Some(item) = self.items.get(n).and_then(Option::as_ref) else {
            return Standing::default();
        };
        let was = self.standing.get(n).copied().unwrap_or_default();
        let renumber = |names: &mut Names, kept: u32, text: &str| {
            if names.text(kept) == text {
                kept
            } else {
                names.number(text)
            }
        };
        Standing {
            showable: item.showable(),
            rebuyable: item.rebuyable,
            category: renumber(&mut self.categories, was.category, &item.category),
            shop: renumber(&mut self.shops, was.shop, &item.shop_id),
        }
    }

    /// The category (as items name it) of a [`Standing::category`] number.
    pub fn category_name(&self, number: u32) -> &str {
        self.categories.text(number)
    }

    /// Add or replace an item; answers its number.
    pub fn insert(&mut self, item: Item) -> ItemId {
        let id = self.intern(&item.sku);
        if let Some(old) = self.item(id) {
            self.by_listing.remove(&(old.listed_at, id));
        }
        self.by_listing.insert((item.listed_at, id));
        self.items[id.index()] = Some(item);
        self.standing[id.index()] = self.standing_of(id.index());
        id
    }

    /// Every item, the most recently listed first.
    pub fn newest_first(&self) -> impl Iterator<Item = (ItemId, &Item)> {
        self.by_listing
            .iter()
            .rev()
            .filter_map(|&(_, id)| Some((id, self.item(id)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_carry_every_level_of_the_category_and_the_title_words() {
        let item = Item {
            sku: "MUG-1".into(),
            title: "Stoneware mug, 300 ml".into(),
            category: "home/kitchen/mugs".into(),
            shop_id: "s1".into(),
            tags: vec!["Gift".into()],
            materials: vec!["stoneware".into()],
            listed: true,
            in_stock: true,
            rebuyable: false,
            listed_at: DateTime::UNIX_EPOCH,
        };
        assert_eq!(
            item.terms(),
            vec![
                "c:home",
                "c:home/kitchen",
                "c:home/kitchen/mugs",
                "m:stoneware",
                "t:gift",
                "w:300",
                "w:mug",
                "w:stoneware",
            ]
        );
    }
}
