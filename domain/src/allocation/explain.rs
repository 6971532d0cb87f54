//! The one- or two-sentence explanations that come with a plan or a refusal.

use super::*;

pub(super) fn single_explanation(
    search: &Search,
    best: &Evaluated,
    single_count: usize,
    region: &str,
    currency: &str,
    priority: bool,
) -> String {
    let id = search.ids(best).join("");
    let figures = figures(best, currency, priority);
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
    currency: &str,
    priority: bool,
    max_shipments: usize,
    narrowed: Option<(usize, usize)>,
) -> String {
    let which = if priority { "fastest" } else { "cheapest" };
    let mut text = format!(
        "No warehouse shipping to {region} has the whole order; split over {} ({}), the \
         {which} plan with {}.",
        list(&search.ids(best)),
        figures(best, currency, priority),
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

/// "shipping EUR 5.45, 1 day": what the plan's shipments cost (the order's total
/// does not include it) and how long they take.
pub(super) fn figures(evaluated: &Evaluated, currency: &str, priority: bool) -> String {
    let cost = format!("shipping {}", money(evaluated.cost, currency));
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

/// An amount in minor units as a person reads it: "EUR 1,234.50", "JPY 500".
pub(super) fn money(minor_units: i128, currency: &str) -> String {
    // ISO 4217 minor units: most currencies have two; these have none or three.
    let decimals = match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    };
    let scale = 10i128.pow(decimals);
    let sign = if minor_units < 0 { "-" } else { "" };
    let whole = grouped((minor_units / scale).abs());
    let amount = match decimals {
        0 => whole,
        _ => format!(
            "{whole}.{:0width$}",
            (minor_units % scale).abs(),
            width = decimals as usize
        ),
    };
    match currency {
        "" => format!("{sign}{amount}"),
        _ => format!("{currency} {sign}{amount}"),
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

#[cfg(test)]
mod tests {
    use super::money;

    #[test]
    fn money_reads_in_the_currency_s_own_minor_units() {
        assert_eq!(money(545, "EUR"), "EUR 5.45");
        assert_eq!(money(1_234_567, "EUR"), "EUR 12,345.67");
        assert_eq!(money(500, "JPY"), "JPY 500");
        assert_eq!(money(1_005, "KWD"), "KWD 1.005");
        assert_eq!(money(-5, "EUR"), "EUR -0.05");
    }
}
