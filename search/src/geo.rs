//! Distances on the earth, and the box around a circle that lets the index skip most
//! documents before the exact distance is computed.

/// Mean earth radius, in km (the one haversine distances are usually quoted with).
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance between two points, in km.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let d_phi = (lat2 - lat1).to_radians();
    let d_lambda = (lon2 - lon1).to_radians();
    let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

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
