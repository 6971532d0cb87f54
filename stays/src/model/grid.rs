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

/// A listing in a cell, with where it is (so distances are measured without
/// reading the listing).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spot {
    pub listing: u32,
    pub at: GeoPoint,
}

/// A cell's listings, and beside each what readers of the cell want of it
/// (`data`, same index): a reader goes through memory in order, and reads a
/// listing's data only once it is within the radius.
#[derive(Debug, Clone)]
struct CellSpots<T> {
    spots: Vec<Spot>,
    data: Vec<T>,
}

/// Listings by cell, and where each is among them.
#[derive(Debug, Clone)]
pub struct Grid<T> {
    cells: FxHashMap<Cell, CellSpots<T>>,
    /// By listing: its cell and its index there.
    places: Vec<Option<(Cell, usize)>>,
}

impl<T> Default for Grid<T> {
    fn default() -> Self {
        Self {
            cells: FxHashMap::default(),
            places: Vec::new(),
        }
    }
}

impl<T> Grid<T> {
    /// Put `listing` at `at` (moving it there if it was elsewhere).
    pub fn insert(&mut self, listing: u32, at: GeoPoint, data: T) {
        self.remove(listing);
        let cell = cell_of(at);
        let spots = self.cells.entry(cell).or_insert_with(|| CellSpots {
            spots: Vec::new(),
            data: Vec::new(),
        });
        spots.spots.push(Spot { listing, at });
        spots.data.push(data);
        let slot = listing as usize;
        if self.places.len() <= slot {
            self.places.resize(slot + 1, None);
        }
        self.places[slot] = Some((cell, spots.spots.len() - 1));
    }

    /// Take `listing` out, with what it carried.
    pub fn remove(&mut self, listing: u32) -> Option<T> {
        let (cell, index) = self.places.get_mut(listing as usize)?.take()?;
        let spots = self.cells.get_mut(&cell)?;
        spots.spots.swap_remove(index);
        let removed = spots.data.swap_remove(index);
        if let Some(moved) = spots.spots.get(index) {
            self.places[moved.listing as usize] = Some((cell, index));
        }
        if spots.spots.is_empty() {
            self.cells.remove(&cell);
        }
        Some(removed)
    }

    /// What `listing` carries.
    pub fn get_mut(&mut self, listing: u32) -> Option<&mut T> {
        let (cell, index) = (*self.places.get(listing as usize)?)?;
        self.cells.get_mut(&cell)?.data.get_mut(index)
    }

    pub fn in_cell(&self, cell: Cell) -> &[Spot] {
        self.cells.get(&cell).map_or(&[], |c| c.spots.as_slice())
    }

    /// The listings within `radius_km` of `centre`, with what they carry and
    /// their distance.
    pub fn within(
        &self,
        centre: GeoPoint,
        radius_km: f64,
    ) -> impl Iterator<Item = (u32, &T, f64)> + '_ {
        let flat = Flat::around(centre, radius_km);
        cells_around(centre, radius_km)
            .into_iter()
            .filter_map(move |cell| self.cells.get(&cell))
            .flat_map(move |cell| {
                cell.spots
                    .iter()
                    .zip(&cell.data)
                    .filter_map(move |(spot, data)| {
                        let km = flat.distance_km(centre, spot.at, radius_km)?;
                        (km <= radius_km).then_some((spot.listing, data, km))
                    })
            })
    }
}

impl<T> Grid<T> {
    /// The listings within `radius_km` of `centre` with what they carry, as
    /// [`Grid::within`] finds them but without their distance: a cell wholly
    /// inside the circle gives all its listings unmeasured.
    pub fn inside(&self, centre: GeoPoint, radius_km: f64) -> Inside<'_, T> {
        let flat = Flat::around(centre, radius_km);
        let cells = cells_around(centre, radius_km)
            .into_iter()
            .filter_map(|cell| {
                let spots = self.cells.get(&cell)?;
                Some((spots, flat.holds_cell(centre, cell, radius_km)))
            })
            .collect();
        Inside {
            cells,
            flat,
            centre,
            radius_km,
        }
    }
}

/// The cells a circle reaches into, each with whether it lies wholly inside.
pub struct Inside<'g, T> {
    cells: Vec<(&'g CellSpots<T>, bool)>,
    flat: Flat,
    centre: GeoPoint,
    radius_km: f64,
}

impl<'g, T> Inside<'g, T> {
    /// How many listings the cells hold (at least as many as are inside).
    pub fn reached(&self) -> usize {
        self.cells.iter().map(|(cell, _)| cell.spots.len()).sum()
    }

    /// Visit each listing inside with what it carries. A loop over a visitor
    /// rather than an iterator, so the caller's work is inlined into it.
    #[inline(always)]
    pub fn for_each(self, mut visit: impl FnMut(u32, &'g T)) {
        let (flat, centre, radius_km) = (self.flat, self.centre, self.radius_km);
        for (cell, whole) in self.cells {
            for (spot, data) in cell.spots.iter().zip(&cell.data) {
                let inside = whole
                    || flat
                        .distance_km(centre, spot.at, radius_km)
                        .is_some_and(|km| km <= radius_km);
                if inside {
                    visit(spot.listing, data);
                }
            }
        }
    }
}

/// A flat-earth approximation, good to a fraction of a percent within a few
/// hundred kilometres away from the poles: points clearly inside or outside a
/// circle are told apart without trigonometry, and only those near its edge are
/// measured exactly (haversine).
#[derive(Debug, Clone, Copy)]
struct Flat {
    km_per_lon_degree: f64,
    usable: bool,
}

/// How much the approximation is trusted either side of the edge.
const FLAT_MARGIN: f64 = 0.02;

impl Flat {
    fn around(centre: GeoPoint, radius_km: f64) -> Self {
        Self {
            km_per_lon_degree: KM_PER_DEGREE * centre.lat.to_radians().cos(),
            usable: radius_km <= 200.0 && centre.lat.abs() <= 70.0,
        }
    }

    /// The distance on the flat map.
    fn approx_km(&self, centre: GeoPoint, at: GeoPoint) -> f64 {
        let north = (at.lat - centre.lat) * KM_PER_DEGREE;
        let mut degrees_east = (at.lon - centre.lon).abs();
        if degrees_east > 180.0 {
            degrees_east = 360.0 - degrees_east;
        }
        let east = degrees_east * self.km_per_lon_degree;
        (north * north + east * east).sqrt()
    }

    /// Whether every point of `cell` is clearly within `radius_km`: its corners
    /// are (on the flat map the cell is a rectangle and the circle convex).
    fn holds_cell(&self, centre: GeoPoint, cell: Cell, radius_km: f64) -> bool {
        let (row, column) = cell;
        let lats = [row, row + 1].map(|r| f64::from(r) / PER_DEGREE);
        let lons = [column, column + 1].map(|c| f64::from(c) / PER_DEGREE - 180.0);
        self.usable
            && lats.iter().all(|&lat| {
                lons.iter().all(|&lon| {
                    self.approx_km(centre, GeoPoint { lat, lon }) < radius_km * (1.0 - FLAT_MARGIN)
                })
            })
    }

    /// The distance, exact unless clearly beyond `radius_km` (then `None`) or
    /// clearly within (then approximate).
    fn distance_km(&self, centre: GeoPoint, at: GeoPoint, radius_km: f64) -> Option<f64> {
        if self.usable {
            let approx = self.approx_km(centre, at);
            if approx > radius_km * (1.0 + FLAT_MARGIN) {
                return None;
            }
            if approx < radius_km * (1.0 - FLAT_MARGIN) {
                return Some(approx);
            }
        }
        Some(haversine_km(centre.lat, centre.lon, at.lat, at.lon))
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
        let mut grid = Grid::<()>::default();
        for km in [10.0, 24.0, 24.9, 25.1, 26.0, 40.0] {
            let lon = berlin.lon + km / (111.32 * berlin.lat.to_radians().cos());
            grid.insert(
                (km * 10.0) as u32,
                GeoPoint {
                    lat: berlin.lat,
                    lon,
                },
                (),
            );
        }
        let inside: Vec<u32> = grid.within(berlin, 25.0).map(|(l, _, _)| l).collect();
        assert_eq!(inside.len(), 3, "{inside:?}");
        assert_eq!(
            cells.len(),
            7 * 9,
            "rows of ±3 and columns of ±4 around the centre"
        );
    }

    #[test]
    fn inside_finds_what_within_finds_with_whole_cells_unmeasured() {
        // Listings on a spiral around a centre, out past the radius, in several
        // places (one beside the antimeridian); `inside` must find the same ones.
        for centre in [
            GeoPoint {
                lat: 52.52,
                lon: 13.4,
            },
            GeoPoint {
                lat: -36.85,
                lon: 179.9,
            },
            GeoPoint {
                lat: 64.1,
                lon: -21.9,
            },
        ] {
            let mut grid = Grid::<u32>::default();
            for i in 0..4_000u32 {
                let (angle, km) = (f64::from(i) * 2.399, f64::from(i) / 4_000.0 * 40.0);
                let at = GeoPoint {
                    lat: centre.lat + km * angle.sin() / KM_PER_DEGREE,
                    lon: centre.lon
                        + km * angle.cos() / (KM_PER_DEGREE * centre.lat.to_radians().cos()),
                };
                let at = GeoPoint {
                    lon: (at.lon + 540.0).rem_euclid(360.0) - 180.0,
                    ..at
                };
                grid.insert(i, at, i * 2);
            }
            for radius in [0.5, 7.0, 25.0] {
                let mut within: Vec<(u32, u32)> = grid
                    .within(centre, radius)
                    .map(|(l, d, _)| (l, *d))
                    .collect();
                let (found, mut inside) = (grid.inside(centre, radius), Vec::new());
                let reached = found.reached();
                found.for_each(|l, d| inside.push((l, *d)));
                within.sort_unstable();
                inside.sort_unstable();
                assert!(!within.is_empty(), "{centre:?} {radius}");
                assert_eq!(inside, within, "{centre:?} {radius}");
                assert!(reached >= inside.len());
            }
        }
    }

    #[test]
    fn moved_and_removed_listings_leave_every_other_findable() {
        let at = |km: f64| GeoPoint {
            lat: 52.52,
            lon: 13.4 + km / 68.0,
        };
        let mut grid = Grid::default();
        for listing in 0..5 {
            grid.insert(listing, at(0.1 * f64::from(listing)), listing * 10);
        }
        // Moving one away swaps another into its place in the cell
        grid.insert(1, at(500.0), 11);
        assert_eq!(grid.remove(0), Some(0));
        assert_eq!(grid.remove(0), None);
        for listing in 2..5 {
            assert_eq!(grid.get_mut(listing).copied(), Some(listing * 10));
        }
        assert_eq!(grid.get_mut(1).copied(), Some(11));
        let mut near: Vec<u32> = grid.within(at(0.0), 5.0).map(|(l, _, _)| l).collect();
        near.sort();
        assert_eq!(near, vec![2, 3, 4]);
    }
}
