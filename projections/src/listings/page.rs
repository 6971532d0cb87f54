//! Cursor pagination: a page of items and the opaque cursor of the next page.
//!
//! A cursor names the last item of the page it came from by its sort key (a log
//! position for newest-first lists, an id for lists in id order). It is hex, so it
//! travels in a query string as is; anything that does not decode is refused, never
//! read as "from the start".

use serde::Serialize;

/// Where a page starts: after this sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    Start,
    /// Newest first: items at positions below this one.
    Position(i64),
    /// In id order: ids above this one.
    Key(String),
}

/// The cursor could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'after' is not a cursor this list gave out")]
pub struct BadCursor;

impl After {
    /// Read a cursor (`None`: the first page).
    pub fn parse(cursor: Option<&str>) -> Result<After, BadCursor> {
        let Some(cursor) = cursor else {
            return Ok(After::Start);
        };
        let bytes = decode_hex(cursor).ok_or(BadCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| BadCursor)?;
        match text.split_once(':') {
            Some(("p", position)) => position
                .parse()
                .ok()
                .filter(|p| *p > 0)
                .map(After::Position)
                .ok_or(BadCursor),
            Some(("k", key)) if !key.is_empty() && !key.chars().any(char::is_control) => {
                Ok(After::Key(key.to_string()))
            }
            _ => Err(BadCursor),
        }
    }

    /// The cursor of a page ending at this key.
    pub fn cursor(&self) -> Option<String> {
        let text = match self {
            After::Start => return None,
            After::Position(position) => format!("p:{position}"),
            After::Key(key) => format!("k:{key}"),
        };
        Some(text.bytes().map(|b| format!("{b:02x}")).collect())
    }

    pub fn position(&self) -> Option<i64> {
        match self {
            After::Position(position) => Some(*position),
            _ => None,
        }
    }

    pub fn key(&self) -> Option<&str> {
        match self {
            After::Key(key) => Some(key),
            _ => None,
        }
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 1_024 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// One page of a list, the log position it reflects, and the next page's cursor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
    pub position: i64,
}

impl<T> Page<T> {
    /// A page from rows fetched with `limit + 1`: the extra row only says that
    /// another page follows; `key` gives an item's sort key.
    pub fn from_rows(
        mut items: Vec<T>,
        limit: usize,
        position: i64,
        key: impl Fn(&T) -> After,
    ) -> Self {
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more {
            items.last().and_then(|last| key(last).cursor())
        } else {
            None
        };
        Page {
            items,
            next,
            position,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_the_key_it_was_made_from() {
        for after in [After::Position(42), After::Key("MUG-1".into())] {
            let cursor = after.cursor().unwrap();
            assert_eq!(After::parse(Some(&cursor)), Ok(after));
        }
        assert_eq!(After::parse(None), Ok(After::Start));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "zz",
            "7",
            "703a",
            "703a2d31",
            "6b3a",
            "x:1",
            "703a31\u{0}",
            "é",
        ] {
            assert_eq!(After::parse(Some(bad)), Err(BadCursor), "{bad:?}");
        }
    }

    #[test]
    fn a_page_has_a_next_cursor_only_when_more_rows_came_back() {
        let page = Page::from_rows(vec![3, 2, 1], 2, 9, |n| After::Position(*n));
        assert_eq!(page.items, vec![3, 2]);
        assert_eq!(After::parse(page.next.as_deref()), Ok(After::Position(2)));
        let last = Page::from_rows(vec![1], 2, 9, |n| After::Position(*n));
        assert_eq!(last.next, None);
    }
}
