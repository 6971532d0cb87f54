//! What the model knows of each item: whether it may be shown, and the words its
//! content similarity is computed from.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
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

/// Every item the log has listed, by SKU and by when it was listed.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Catalog {
    items: HashMap<String, Item>,
    by_listing: BTreeSet<(DateTime<Utc>, String)>,
}

impl Catalog {
    pub fn get(&self, sku: &str) -> Option<&Item> {
        self.items.get(sku)
    }

    pub fn get_mut(&mut self, sku: &str) -> Option<&mut Item> {
        self.items.get_mut(sku)
    }

    pub fn insert(&mut self, item: Item) {
        if let Some(old) = self.items.get(&item.sku) {
            self.by_listing.remove(&(old.listed_at, old.sku.clone()));
        }
        self.by_listing.insert((item.listed_at, item.sku.clone()));
        self.items.insert(item.sku.clone(), item);
    }

    /// Every item, the most recently listed first.
    pub fn newest_first(&self) -> impl Iterator<Item = &Item> {
        self.by_listing
            .iter()
            .rev()
            .filter_map(|(_, sku)| self.items.get(sku))
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
