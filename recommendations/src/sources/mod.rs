//! The candidate sources: each scores items for a shopper from one kind of evidence.

pub mod collaborative;
pub mod content;
pub mod latent;
pub mod trending;
