//! The one- or two-sentence explanations that come with a plan or a refusal.

use super::*;

pub(super) fn single_explanation(
    search: &Search,
    best: &Evaluated,
    single_count: usize,
    region: &str,
    priority: bool,
) -> String {
    let id = search.ids(best).join("");
    let figures = figures(best, priority);
    if single_count == 1 {
        format!(
            "Single shipment from {id} ({figures}); it is the only warehouse shipping to \
             {region} that has the whole order."
        )
    } else {
        let which = if priority { "fastest" } else { "cheapest" };
        format!(
            "Single shipment from {id} ({figures}), the {which} of {single_count} warehouses \
             shipping to {region} that have the whole order; one shipment is preferred to \
             splitting."
        )
    }
}

pub(super) fn split_explanation(
    search: &Search,
    best: &Evaluated,
    region: &str,
    priority: bool,
    max_shipments: usize,
    narrowed: Option<(usize, usize)>,
) -> String {
    let which = if priority { "fastest" } else { "cheapest" };
    let mut text = format!(
        "No warehouse shipping to {region} has the whole order; split over {} ({}), the \
         {which} plan with {}.",
        list(&search.ids(best)),
        figures(best, priority),
        at_most_shipments(max_shipments),
    );
    if let Some((searched, of)) = narrowed {
        text.push_str(&narrowed_note(searched, of));
    }
    text
}

pub(super) fn narrowed_note(searched: usize, of: usize) -> String {
    format!(
        " Only the {searched} of {of} warehouses holding the most of the order were \
         searched for a split."
    )
}

pub(super) fn shortage_explanation(short: &[Shortfall], region: &str) -> String {
    match short {
        [one] => format!(
            "Short of {}: {} wanted, {} available across warehouses shipping to {region}.",
            one.sku,
            grouped(one.wanted as i128),
            grouped(one.available as i128)
        ),
        _ => {
            let parts: Vec<String> = short
                .iter()
                .map(|s| {
                    format!(
                        "{} ({} wanted, {} available)",
                        s.sku,
                        grouped(s.wanted as i128),
                        grouped(s.available as i128)
                    )
                })
                .collect();
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            format!(
                "Short of {} across warehouses shipping to {region}.",
                list(&parts)
            )
        }
    }
}

pub(super) fn figures(evaluated: &Evaluated, priority: bool) -> String {
    let cost = format!("cost {}", grouped(evaluated.cost));
    let days = match evaluated.days {
        1 => "1 day".to_string(),
        n => format!("{n} days"),
    };
    if priority {
        format!("{days}, {cost}")
    } else {
        format!("{cost}, {days}")
    }
}

pub(super) fn at_most_shipments(max_shipments: usize) -> String {
    match max_shipments {
        1 => "one shipment".to_string(),
        n => format!("at most {n} shipments"),
    }
}

/// "a", "a and b", "a, b and c".
pub(super) fn list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// 1245 → "1,245".
pub(super) fn grouped(value: i128) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        out.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
