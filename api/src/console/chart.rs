//! Small charts drawn on the server as inline SVG: a page needs no chart library and
//! reads the same without JavaScript.

use maud::{html, Markup};

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 120.0;
const PAD: f64 = 4.0;

/// A line of `points` (oldest first) scaled to its own maximum, with a text
/// alternative (`label`, its latest and largest values) for screen readers.
pub fn line(points: &[f64], label: &str, unit: &str) -> Markup {
    let max = points.iter().copied().fold(0.0_f64, f64::max);
    let scale = if max > 0.0 { max } else { 1.0 };
    let step = if points.len() > 1 {
        (WIDTH - 2.0 * PAD) / (points.len() - 1) as f64
    } else {
        0.0
    };
    let coordinates: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = PAD + i as f64 * step;
            let y = HEIGHT - PAD - (v / scale) * (HEIGHT - 2.0 * PAD);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let latest = points.last().copied().unwrap_or(0.0);
    let description = format!("{label}: latest {latest:.1} {unit}, highest {max:.1} {unit}");
    html! {
        svg.chart viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(description)
            xmlns="http://www.w3.org/2000/svg" {
            title { (description) }
            line x1=(PAD) y1=(HEIGHT - PAD) x2=(WIDTH - PAD) y2=(HEIGHT - PAD) stroke="#8c959f" stroke-width="1" {}
            @if !coordinates.is_empty() {
                polyline points=(coordinates.join(" ")) fill="none" stroke="#0a58ca" stroke-width="2" {}
            }
        }
    }
}

/// Average `values` over groups of `size` (the last group may be shorter).
pub fn grouped(values: &[f64], size: usize) -> Vec<f64> {
    values
        .chunks(size.max(1))
        .map(|chunk| chunk.iter().sum::<f64>() / chunk.len() as f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_spans_the_chart_and_says_what_it_shows() {
        let svg = line(&[0.0, 5.0, 10.0], "commands per second", "/s").into_string();
        assert!(
            svg.contains("points=\"4.0,116.0 300.0,60.0 596.0,4.0\""),
            "{svg}"
        );
        assert!(svg.contains("latest 10.0 /s, highest 10.0 /s"));
        let empty = line(&[], "nothing", "/s").into_string();
        assert!(!empty.contains("polyline"));
    }

    #[test]
    fn groups_are_averaged() {
        assert_eq!(grouped(&[1.0, 3.0, 5.0, 7.0, 9.0], 2), vec![2.0, 6.0, 9.0]);
    }
}
