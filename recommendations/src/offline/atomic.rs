//! The atomic files of RecBole (and MovieLens converted to them): tab-separated, a
//! header naming each column as `name:type`. Interactions:
//! `user_id:token item_id:token rating:float timestamp:float`; items:
//! `item_id:token title:token_seq category:token shop_id:token tags:token_seq
//! materials:token_seq` (a `token_seq` is space-separated). Columns are found by
//! name, so other column orders and extra columns read too.

use std::io::{BufRead, Write};

use super::{Interaction, ItemInfo};

pub const INTERACTIONS_HEADER: &str = "user_id:token\titem_id:token\trating:float\ttimestamp:float";
pub const ITEMS_HEADER: &str = "item_id:token\ttitle:token_seq\tcategory:token\tshop_id:token\ttags:token_seq\tmaterials:token_seq";

#[derive(Debug, thiserror::Error)]
pub enum AtomicError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("line {line}: {reason}")]
    Format { line: usize, reason: String },
}

/// The column positions of `wanted` names in a header (`name:type`, tab-separated).
fn columns(header: &str, wanted: &[&str]) -> Vec<Option<usize>> {
    let names: Vec<&str> = header
        .split('\t')
        .map(|c| c.split(':').next().unwrap_or("").trim())
        .collect();
    wanted
        .iter()
        .map(|w| names.iter().position(|n| n == w))
        .collect()
}

fn format_error(line: usize, reason: impl Into<String>) -> AtomicError {
    AtomicError::Format {
        line,
        reason: reason.into(),
    }
}

/// Read an interactions file.
pub fn read_interactions(reader: impl BufRead) -> Result<Vec<Interaction>, AtomicError> {
    let mut lines = reader.lines();
    let header = lines
        .next()
        .ok_or_else(|| format_error(1, "the file is empty"))??;
    let found = columns(&header, &["user_id", "item_id", "rating", "timestamp"]);
    let [Some(user), Some(item), rating, Some(timestamp)] = found[..] else {
        return Err(format_error(
            1,
            "the header names no user_id, item_id or timestamp column",
        ));
    };
    let mut interactions = Vec::new();
    for (index, line) in lines.enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let number = index + 2;
        let fields: Vec<&str> = line.split('\t').collect();
        let field = |at: usize| {
            fields
                .get(at)
                .copied()
                .ok_or_else(|| format_error(number, "too few columns"))
        };
        let float = |at: usize, what: &str| -> Result<f64, AtomicError> {
            field(at)?
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format_error(number, format!("{what} is not a number")))
        };
        interactions.push(Interaction {
            user: field(user)?.to_string(),
            item: field(item)?.to_string(),
            rating: match rating {
                Some(at) => float(at, "rating")?,
                None => 1.0,
            },
            timestamp: float(timestamp, "timestamp")?,
        });
    }
    Ok(interactions)
}

/// Read an items file.
pub fn read_items(reader: impl BufRead) -> Result<Vec<ItemInfo>, AtomicError> {
    let mut lines = reader.lines();
    let header = lines
        .next()
        .ok_or_else(|| format_error(1, "the file is empty"))??;
    let found = columns(
        &header,
        &[
            "item_id",
            "title",
            "category",
            "shop_id",
            "tags",
            "materials",
        ],
    );
    let Some(item) = found[0] else {
        return Err(format_error(1, "the header names no item_id column"));
    };
    let mut items = Vec::new();
    for line in lines {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let text = |at: Option<usize>| {
            at.and_then(|at| fields.get(at))
                .map_or(String::new(), |f| f.trim().to_string())
        };
        let words = |at: Option<usize>| {
            text(at)
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        items.push(ItemInfo {
            item: text(Some(item)),
            title: text(found[1]),
            category: text(found[2]),
            shop: text(found[3]),
            tags: words(found[4]),
            materials: words(found[5]),
        });
    }
    Ok(items)
}

/// Write interactions with [`INTERACTIONS_HEADER`].
pub fn write_interactions(
    mut writer: impl Write,
    interactions: &[Interaction],
) -> std::io::Result<()> {
    writeln!(writer, "{INTERACTIONS_HEADER}")?;
    for i in interactions {
        writeln!(
            writer,
            "{}\t{}\t{}\t{}",
            i.user, i.item, i.rating, i.timestamp
        )?;
    }
    Ok(())
}

/// Write items with [`ITEMS_HEADER`] (tabs inside a field become spaces).
pub fn write_items(mut writer: impl Write, items: &[ItemInfo]) -> std::io::Result<()> {
    writeln!(writer, "{ITEMS_HEADER}")?;
    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
    for i in items {
        writeln!(
            writer,
            "{}\t{}\t{}\t{}\t{}\t{}",
            clean(&i.item),
            clean(&i.title),
            clean(&i.category),
            clean(&i.shop),
            clean(&i.tags.join(" ")),
            clean(&i.materials.join(" ")),
        )?;
    }
    Ok(())
}
