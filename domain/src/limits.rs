//! Bounds on what one command may ask for.

/// The most units one command may receive, sell or hold.
pub const MAX_QUANTITY_PER_COMMAND: u64 = 1_000_000;
/// The largest count an adjustment may set.
pub const MAX_COUNTED_QUANTITY: u64 = 1_000_000_000;
/// Longest id (SKU, warehouse, hold, order) in bytes.
pub const MAX_ID_LEN: usize = 64;
/// Longest free text (names, reasons) in characters.
pub const MAX_TEXT_LEN: usize = 200;
/// Most shipping rates one warehouse may list.
pub const MAX_SHIPPING_RATES: usize = 200;
