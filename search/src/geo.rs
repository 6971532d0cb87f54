//! Distances on the earth, and the box around a circle that lets the index skip most
//! documents before the exact distance is computed.

pub use event_schemas::values::haversine_km;

/// Latitude and longitude ranges that contain every point within `radius_km` of the
/// centre, a little generously; `None` for longitude when the circle reaches a pole
/// or crosses the antimeridian (then only latitude narrows the search).
pub fn bounding_box(lat: f64, lon: f64, radius_km: f64) -> ((f64, f64), Option<(f64, f64)>) {
    // One degree of latitude is at least 110.57 km; widen by a margin so that
    // rounding never drops a point on the circle itself.
    let d_lat = radius_km / 110.0 + 1e-6;
    let lat_range = ((lat - d_lat).max(-90.0), (lat + d_lat).min(90.0));
    if lat_range.0 <= -89.0 || lat_range.1 >= 89.0 {
        return (lat_range, None);
    }
    let widest = lat_range.0.abs().max(lat_range.1.abs()).to_radians().cos();
    let d_lon = radius_km / (110.0 * widest) + 1e-6;
    if lon - d_lon < -180.0 || lon + d_lon > 180.0 {
        return (lat_range, None);
    }
    (lat_range, Some((lon - d_lon, lon + d_lon)))
}
