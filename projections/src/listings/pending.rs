//! The rows a batch of events changes, folded in memory so each row is written once
//! per batch however many of its events the batch held.

use std::collections::HashMap;

use super::upsert::{Cell, Kind, Table};

/// A table's changed rows, by key, in the order they were first touched.
pub struct Pending {
    table: &'static Table,
    order: Vec<String>,
    rows: HashMap<String, Vec<Cell>>,
}

impl Pending {
    pub fn new(table: &'static Table) -> Self {
        Self {
            table,
            order: Vec::new(),
            rows: HashMap::new(),
        }
    }

    /// Set `column` of the row `key` (a later event's value wins).
    pub fn set(&mut self, key: &str, column: &str, cell: Cell) {
        let index = self
            .table
            .columns
            .iter()
            .position(|(name, _)| *name == column)
            .unwrap_or_else(|| panic!("{} has no column {column}", self.table.name));
        let row = self.rows.entry(key.to_string()).or_insert_with(|| {
            self.order.push(key.to_string());
            let mut cells: Vec<Cell> = self
                .table
                .columns
                .iter()
                .map(|(_, kind)| match kind {
                    Kind::Text => Cell::Text(None),
                    Kind::Int => Cell::Int(None),
                })
                .collect();
            cells[0] = Cell::Text(Some(key.to_string()));
            cells
        });
        row[index] = cell;
    }

    pub fn text(&mut self, key: &str, column: &str, value: impl Into<String>) {
        self.set(key, column, Cell::Text(Some(value.into())));
    }

    pub fn int(&mut self, key: &str, column: &str, value: i64) {
        self.set(key, column, Cell::Int(Some(value)));
    }

    pub fn table(&self) -> &'static Table {
        self.table
    }

    /// The rows, in the order they were first touched.
    pub fn into_rows(mut self) -> Vec<Vec<Cell>> {
        self.order
            .iter()
            .filter_map(|key| self.rows.remove(key))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static T: Table = Table {
        name: "t",
        columns: &[("id", Kind::Text), ("status", Kind::Text), ("n", Kind::Int)],
    };

    #[test]
    fn later_values_win_and_untouched_cells_stay_unset() {
        let mut pending = Pending::new(&T);
        pending.text("a", "status", "placed");
        pending.int("b", "n", 7);
        pending.text("a", "status", "paid");
        assert_eq!(
            pending.into_rows(),
            vec![
                vec![
                    Cell::Text(Some("a".into())),
                    Cell::Text(Some("paid".into())),
                    Cell::Int(None)
                ],
                vec![
                    Cell::Text(Some("b".into())),
                    Cell::Text(None),
                    Cell::Int(Some(7))
                ],
            ]
        );
    }
}
