//! Writing a batch's folded rows: one upsert per table per batch on PostgreSQL
//! (arrays unnested), one per row on SQLite (local, so round trips cost nothing).
//!
//! A row carries only what the batch learned: a `None` cell keeps the stored value
//! (`COALESCE(excluded.col, t.col)`), so a status change never needs the rest of
//! the row, and the first event of a row fills it in.

use event_log::WriteTx;

use crate::runtime::ProjectionError;

/// One cell of a row: `None` keeps what is stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
}

/// The SQL type of a column, for PostgreSQL's array casts.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Text,
    Int,
}

/// A table's upsert: its key column first, then the rest.
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

impl Table {
    fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn conflict_clause(&self) -> String {
        let key = self.columns[0].0;
        let updates = self.columns[1..]
            .iter()
            .map(|(name, _)| format!("{name} = COALESCE(excluded.{name}, {}.{name})", self.name))
            .collect::<Vec<_>>()
            .join(", ");
        format!("ON CONFLICT (generation, {key}) DO UPDATE SET {updates}")
    }

    fn sqlite_statement(&self) -> String {
        let placeholders = (2..self.columns.len() + 2)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO {} (generation, {}) VALUES ($1, {placeholders}) {}",
            self.name,
            self.column_list(),
            self.conflict_clause()
        )
    }

    fn postgres_statement(&self) -> String {
        let arrays = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, (_, kind))| {
                let cast = match kind {
                    Kind::Text => "text[]",
                    Kind::Int => "bigint[]",
                };
                format!("${}::{cast}", i + 2)
            })
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO {} (generation, {columns}) SELECT $1, * FROM unnest({arrays}) AS u({columns}) {}",
            self.name,
            self.conflict_clause(),
            columns = self.column_list(),
        )
    }

    /// Write `rows` (each with one cell per column, in order; keys distinct) to
    /// `generation`.
    pub async fn upsert(
        &self,
        tx: &mut WriteTx,
        generation: i64,
        rows: &[Vec<Cell>],
    ) -> Result<(), ProjectionError> {
        if rows.is_empty() {
            return Ok(());
        }
        match tx {
            WriteTx::Sqlite(t) => {
                let sql = self.sqlite_statement();
                for row in rows {
                    let mut query = sqlx::query(&sql).bind(generation);
                    for cell in row {
                        query = match cell {
                            Cell::Text(value) => query.bind(value.clone()),
                            Cell::Int(value) => query.bind(*value),
                        };
                    }
                    query.execute(&mut **t).await?;
                }
            }
            WriteTx::Postgres(t) => {
                let sql = self.postgres_statement();
                let mut query = sqlx::query(&sql).bind(generation);
                for (index, (_, kind)) in self.columns.iter().enumerate() {
                    query = match kind {
                        Kind::Text => query.bind(
                            rows.iter()
                                .map(|row| match &row[index] {
                                    Cell::Text(value) => value.clone(),
                                    Cell::Int(_) => None,
                                })
                                .collect::<Vec<Option<String>>>(),
                        ),
                        Kind::Int => query.bind(
                            rows.iter()
                                .map(|row| match &row[index] {
                                    Cell::Int(value) => *value,
                                    Cell::Text(_) => None,
                                })
                                .collect::<Vec<Option<i64>>>(),
                        ),
                    };
                }
                query.execute(&mut **t).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Table = Table {
        name: "listed_things",
        columns: &[("id", Kind::Text), ("n", Kind::Int)],
    };

    #[test]
    fn a_missing_cell_keeps_the_stored_value_on_both_backends() {
        assert_eq!(
            T.sqlite_statement(),
            "INSERT INTO listed_things (generation, id, n) VALUES ($1, $2, $3) \
             ON CONFLICT (generation, id) DO UPDATE SET n = COALESCE(excluded.n, listed_things.n)"
        );
        assert_eq!(
            T.postgres_statement(),
            "INSERT INTO listed_things (generation, id, n) SELECT $1, * FROM unnest($2::text[], $3::bigint[]) AS u(id, n) \
             ON CONFLICT (generation, id) DO UPDATE SET n = COALESCE(excluded.n, listed_things.n)"
        );
    }
}
