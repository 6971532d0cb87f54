//! Where listings are: cells of 0.1° (about 11 km north–south) holding the listings
//! inside, so a radius query reads only the cells its box touches and measures
//! exact distances for those.

use event_schemas::values::{haversine_km, GeoPoint};
use rustc_hash::FxHashMap;

/// Cells per degree.
const PER_DEGREE: f64 = 10.0;
/// Cells around the globe east–west (longitude wraps at the antimeridian).
const AROUND: i32 = 3_600;
/// Kilometres in a degree of latitude.
const KM_PER_DEGREE: f64 = 111.2;

pub type Cell = (i32, i32);

pub fn cell_of(point: GeoPoint) -> Cell {
    let row = (point.lat * PER_DEGREE).floor() as i32;
    let column = (((point.lon + 180.0) * PER_DEGREE).floor() as i32).rem_euclid(AROUND);
    (row, column)
}

/// `cell` and the cells up to `reach` rows and columns around it.
pub fn block_around(cell: Cell, reach: i32) -> Vec<Cell> {
    let (row, column) = cell;
    (row - reach..=row + reach)
        .flat_map(|r| (column - reach..=column + reach).map(move |c| (r, c.rem_euclid(AROUND))))
        .collect()
}

/// The cells a circle of `radius_km` around `centre` may reach into.
pub fn cells_around(centre: GeoPoint, radius_km: f64) -> Vec<Cell> {
    let (row, column) = cell_of(centre);
    let lat_cells = (radius_km / KM_PER_DEGREE * PER_DEGREE).ceil() as i32;
    // The widest a row of the circle gets is at its edge nearest a pole.
    let widest_lat = (centre.lat.abs() + radius_km / KM_PER_DEGREE).min(90.0);
    let km_per_lon_degree = KM_PER_DEGREE * widest_lat.to_radians().cos();
    let lon_cells = if km_per_lon_degree < 1e-3 {
        AROUND / 2
    } else {
        ((radius_km / km_per_lon_degree * PER_DEGREE).ceil() as i32).min(AROUND / 2)
    };
    let mut cells = Vec::with_capacity(((2 * lat_cells + 1) * (2 * lon_cells + 1)) as usize);
    for r in row - lat_cells..=row + lat_cells {
        for c in column - lon_cells..=column + lon_cells {
            cells.push((r, c.rem_euclid(AROUND)));
        }
    }
    cells.sort_unstable();
    cells.dedup();
    cells
}

/// Listing indexes by cell.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    cells: FxHashMap<Cell, Vec<u32>>,
}

impl Grid {
    pub fn insert(&mut self, cell: Cell, listing: u32) {
        self.cells.entry(cell).or_default().push(listing);
    }

    pub fn remove(&mut self, cell: Cell, listing: u32) {
        if let Some(listings) = self.cells.get_mut(&cell) {
            listings.retain(|l| *l != listing);
            if listings.is_empty() {
                self.cells.remove(&cell);
            }
        }
    }

    pub fn in_cell(&self, cell: Cell) -> &[u32] {
        self.cells.get(&cell).map_or(&[], Vec::as_slice)
    }

    /// The listings within `radius_km` of `centre`, with their distance, given
    /// where each listing is.
    pub fn within<'a>(
        &'a self,
        centre: GeoPoint,
        radius_km: f64,
        location: impl Fn(u32) -> GeoPoint + 'a,
    ) -> impl Iterator<Item = (u32, f64)> + 'a {
        cells_around(centre, radius_km)
            .into_iter()
            .flat_map(move |cell| self.in_cell(cell).iter().copied())
            .filter_map(move |listing| {
                let at = location(listing);
                let km = haversine_km(centre.lat, centre.lon, at.lat, at.lon);
                (km <= radius_km).then_some((listing, km))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_circle_reaches_the_cells_it_touches_across_the_antimeridian() {
        let fiji = GeoPoint {
            lat: -17.8,
            lon: 179.98,
        };
        let cells = cells_around(fiji, 10.0);
        assert!(cells.contains(&cell_of(GeoPoint {
            lat: -17.8,
            lon: -179.95
        })));
        assert!(cells.contains(&cell_of(GeoPoint {
            lat: -17.75,
            lon: 179.9
        })));
        let berlin = GeoPoint {
            lat: 52.52,
            lon: 13.4,
        };
        let cells = cells_around(berlin, 25.0);
        assert_eq!(
            cells.len(),
            7 * 9,
            "rows of ±3 and columns of ±4 around the centre"
        );
    }
}
