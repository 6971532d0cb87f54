//! Field validation shared by the aggregates' commands.

use crate::error::{DomainError, FieldError};
use crate::limits::{MAX_ID_LEN, MAX_QUANTITY_PER_COMMAND, MAX_TEXT_LEN};

/// Collects every field error of a command, so the caller hears of all at once.
#[derive(Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// An id: 1–64 bytes of ASCII letters, digits, `-`, `_`, `.`.
    pub fn id(&mut self, field: &str, value: &str) {
        if value.is_empty() || value.len() > MAX_ID_LEN {
            self.fail(field, format!("must be 1 to {MAX_ID_LEN} characters"));
        } else if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            self.fail(field, "may hold only letters, digits, '-', '_' and '.'");
        }
    }

    /// An id a client chose or a process derived ([`crate::ids`]): holds, sales,
    /// orders and reservations are named by either.
    pub fn reference(&mut self, field: &str, value: &str) {
        if crate::ids::is_derived(value) {
            if !crate::ids::is_well_formed_derived(value) {
                self.fail(field, "is not a well-formed process id");
            }
        } else {
            self.id(field, value);
        }
    }

    /// Free text: 1–200 characters, not blank.
    pub fn text(&mut self, field: &str, value: &str) {
        let chars = value.chars().count();
        if value.trim().is_empty() || chars > MAX_TEXT_LEN {
            self.fail(field, format!("must be 1 to {MAX_TEXT_LEN} characters"));
        } else if value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            self.fail(
                field,
                "must not hold control characters other than line breaks and tabs",
            );
        }
    }

    /// A quantity of units moved by one command: 1 to 1,000,000.
    pub fn quantity(&mut self, field: &str, value: u64) {
        if value == 0 || value > MAX_QUANTITY_PER_COMMAND {
            self.fail(
                field,
                format!("must be a whole number from 1 to {MAX_QUANTITY_PER_COMMAND}"),
            );
        }
    }

    /// The lines of an order or a reservation: 1 to [`MAX_LINES`](crate::reservation::MAX_LINES),
    /// each naming a SKU, for a reservation its warehouse, and a quantity.
    pub fn lines<'a>(
        &mut self,
        lines: impl ExactSizeIterator<Item = (&'a str, Option<&'a str>, u64)>,
    ) {
        let max = crate::reservation::MAX_LINES;
        self.check(
            (1..=max).contains(&lines.len()),
            "lines",
            &format!("must hold 1 to {max} lines"),
        );
        for (i, (sku, warehouse_id, quantity)) in lines.enumerate() {
            self.id(&format!("lines[{i}].sku"), sku);
            if let Some(warehouse_id) = warehouse_id {
                self.id(&format!("lines[{i}].warehouse_id"), warehouse_id);
            }
            self.quantity(&format!("lines[{i}].quantity"), quantity);
        }
    }

    /// A latitude and a longitude in degrees (NaN is neither), under `prefix`.
    pub fn geo(&mut self, prefix: &str, lat: f64, lon: f64) {
        self.check(
            (-90.0..=90.0).contains(&lat),
            &format!("{prefix}lat"),
            "must be between -90 and 90",
        );
        self.check(
            (-180.0..=180.0).contains(&lon),
            &format!("{prefix}lon"),
            "must be between -180 and 180",
        );
    }

    pub fn check(&mut self, ok: bool, field: &str, message: &str) {
        if !ok {
            self.fail(field, message);
        }
    }

    pub fn finish(self) -> Result<(), DomainError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::invalid(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(check: impl FnOnce(&mut Validator)) -> Vec<String> {
        let mut v = Validator::new();
        check(&mut v);
        v.finish()
            .err()
            .map(|e| e.errors.into_iter().map(|f| f.field).collect())
            .unwrap_or_default()
    }

    #[test]
    fn text_keeps_line_breaks_and_tabs_but_no_other_control_character() {
        assert!(fields(|v| v.text("description", "Holds tea\n\tand coffee\r\n")).is_empty());
        assert_eq!(fields(|v| v.text("title", "Mug\u{0}")), ["title"]);
        assert_eq!(fields(|v| v.text("title", "Mug\u{1b}[31m")), ["title"]);
    }

    #[test]
    fn ids_hold_no_control_character() {
        assert_eq!(fields(|v| v.id("sku", "MUG\u{0}")), ["sku"]);
    }
}
