//! What screening looks other listings up by without a scan: their descriptions'
//! SimHash split into four bands of 16 bits (two fingerprints within 3 bits agree
//! on at least one band whole), and their photos' content hashes.

use rustc_hash::FxHashMap;

pub const BANDS: usize = 4;

pub fn bands_of(hash: u64) -> [u16; BANDS] {
    std::array::from_fn(|band| (hash >> (16 * band)) as u16)
}

#[derive(Debug, Clone, Default)]
pub struct Fingerprints {
    bands: [FxHashMap<u16, Vec<u32>>; BANDS],
    photos: FxHashMap<String, Vec<u32>>,
}

impl Fingerprints {
    pub fn insert(&mut self, listing: u32, simhash: Option<u64>, photos: &[String]) {
        if let Some(hash) = simhash {
            for (band, key) in bands_of(hash).into_iter().enumerate() {
                self.bands[band].entry(key).or_default().push(listing);
            }
        }
        for photo in photos {
            let users = self.photos.entry(photo.clone()).or_default();
            if !users.contains(&listing) {
                users.push(listing);
            }
        }
    }

    pub fn remove(&mut self, listing: u32, simhash: Option<u64>, photos: &[String]) {
        if let Some(hash) = simhash {
            for (band, key) in bands_of(hash).into_iter().enumerate() {
                remove_from(&mut self.bands[band], &key, listing);
            }
        }
        for photo in photos {
            remove_from(&mut self.photos, photo, listing);
        }
    }

    /// Listings sharing a band with `hash` (each once, in index order).
    pub fn similar(&self, hash: u64) -> Vec<u32> {
        let mut found: Vec<u32> = bands_of(hash)
            .iter()
            .enumerate()
            .filter_map(|(band, key)| self.bands[band].get(key))
            .flatten()
            .copied()
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    pub fn with_photo(&self, content_hash: &str) -> &[u32] {
        self.photos.get(content_hash).map_or(&[], Vec::as_slice)
    }
}

fn remove_from<
    K: std::hash::Hash + Eq + ?Sized,
    Q: std::hash::Hash + Eq + std::borrow::Borrow<K>,
>(
    map: &mut FxHashMap<Q, Vec<u32>>,
    key: &K,
    listing: u32,
) {
    if let Some(listings) = map.get_mut(key) {
        listings.retain(|l| *l != listing);
        if listings.is_empty() {
            map.remove(key);
        }
    }
}
