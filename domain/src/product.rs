//! The Product aggregate: a listing in the catalog.

use event_schemas::product::PRODUCT_AGGREGATE;
use event_schemas::{GeoPoint, ProductChanges, ProductDetails, ProductEvent, Shop};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};
use crate::validate::Validator;
use crate::warehouse::money;

/// Languages whose text search can stem (the product's `language`).
pub const LANGUAGES: &[&str] = &["en", "de", "fr"];
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 5_000;
/// Most tags or materials on one product.
pub const MAX_LABELS: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProductCommand {
    List {
        sku: String,
        details: ProductDetails,
    },
    Update {
        sku: String,
        changes: ProductChanges,
    },
    Delist {
        sku: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub sku: String,
    pub details: Option<ProductDetails>,
    pub delisted: bool,
}

impl Product {
    pub fn decide(&self, command: &ProductCommand) -> Result<Vec<ProductEvent>, DomainError> {
        match command {
            ProductCommand::List { sku, details } => {
                let mut v = Validator::new();
                v.id("sku", sku);
                validate_details(&mut v, details);
                v.finish()?;
                match &self.details {
                    Some(current) if !self.delisted && current == details => Ok(vec![]),
                    Some(_) if !self.delisted => Err(DomainError::new(
                        ErrorKind::Conflict,
                        crate::Refusal::ProductExists,
                        format!(
                            "product '{sku}' is listed with other details; PATCH it to change them"
                        ),
                    )),
                    _ => Ok(vec![ProductEvent::ProductListed {
                        sku: sku.clone(),
                        details: details.clone(),
                    }]),
                }
            }
            ProductCommand::Update { sku, changes } => {
                let current = self.listed(sku)?;
                let mut next = current.clone();
                apply_changes(&mut next, changes);
                let mut v = Validator::new();
                validate_details(&mut v, &next);
                v.finish()?;
                let effective = difference(current, &next);
                if effective == ProductChanges::default() {
                    return Ok(vec![]);
                }
                Ok(vec![ProductEvent::ProductUpdated {
                    sku: sku.clone(),
                    changes: effective,
                }])
            }
            ProductCommand::Delist { sku } => {
                if self.details.is_none() {
                    return Err(unknown(sku));
                }
                if self.delisted {
                    return Ok(vec![]);
                }
                Ok(vec![ProductEvent::ProductDelisted { sku: sku.clone() }])
            }
        }
    }

    /// The details of a product that is listed now; else the refusal a read answers.
    pub fn listed(&self, sku: &str) -> Result<&ProductDetails, DomainError> {
        match &self.details {
            Some(details) if !self.delisted => Ok(details),
            _ => Err(unknown(sku)),
        }
    }

    pub fn apply_event(&mut self, event: &ProductEvent) {
        match event {
            ProductEvent::ProductListed { sku, details } => {
                self.sku = sku.clone();
                self.details = Some(details.clone());
                self.delisted = false;
            }
            ProductEvent::ProductUpdated { changes, .. } => {
                if let Some(details) = &mut self.details {
                    apply_changes(details, changes);
                }
            }
            ProductEvent::ProductDelisted { .. } => self.delisted = true,
        }
    }
}

fn unknown(sku: &str) -> DomainError {
    DomainError::new(
        ErrorKind::NotFound,
        crate::Refusal::UnknownProduct,
        format!("no product '{sku}' is listed"),
    )
}

/// Apply an update's fields to the details.
pub fn apply_changes(details: &mut ProductDetails, changes: &ProductChanges) {
    let c = changes.clone();
    if let Some(title) = c.title {
        details.title = title;
    }
    if let Some(description) = c.description {
        details.description = description;
    }
    if let Some(tags) = c.tags {
        details.tags = tags;
    }
    if let Some(category) = c.category {
        details.category = category;
    }
    if let Some(materials) = c.materials {
        details.materials = materials;
    }
    if let Some(shop) = c.shop {
        details.shop = shop;
    }
    if let Some(price) = c.price {
        details.price = price;
    }
    if let Some(language) = c.language {
        details.language = language;
    }
}

/// The fields of `next` that differ from `current`.
fn difference(current: &ProductDetails, next: &ProductDetails) -> ProductChanges {
    fn changed<T: Clone + PartialEq>(a: &T, b: &T) -> Option<T> {
        (a != b).then(|| b.clone())
    }
    ProductChanges {
        title: changed(&current.title, &next.title),
        description: changed(&current.description, &next.description),
        tags: changed(&current.tags, &next.tags),
        category: changed(&current.category, &next.category),
        materials: changed(&current.materials, &next.materials),
        shop: changed(&current.shop, &next.shop),
        price: changed(&current.price, &next.price),
        language: changed(&current.language, &next.language),
    }
}

fn validate_details(v: &mut Validator, details: &ProductDetails) {
    v.text("title", &details.title);
    v.check(
        details.description.chars().count() <= MAX_DESCRIPTION,
        "description",
        &format!("must be at most {MAX_DESCRIPTION} characters"),
    );
    labels(v, "tags", &details.tags);
    labels(v, "materials", &details.materials);
    let segments: Vec<&str> = details.category.split('/').collect();
    v.check(
        (1..=8).contains(&segments.len())
            && details.category.len() <= 200
            && segments.iter().all(|s| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            }),
        "category",
        "must be a path of 1 to 8 lowercase segments such as home/kitchen/mugs",
    );
    let Shop {
        shop_id,
        name,
        location: GeoPoint { lat, lon },
    } = &details.shop;
    v.id("shop.shop_id", shop_id);
    v.text("shop.name", name);
    v.geo("shop.location.", *lat, *lon);
    money(v, "price", &details.price);
    v.check(
        LANGUAGES.contains(&details.language.as_str()),
        "language",
        &format!("must be one of {}", LANGUAGES.join(", ")),
    );
}

fn labels(v: &mut Validator, field: &str, values: &[String]) {
    v.check(
        values.len() <= MAX_LABELS,
        field,
        &format!("may hold at most {MAX_LABELS}"),
    );
    for (i, value) in values.iter().enumerate() {
        v.check(
            !value.trim().is_empty() && value.chars().count() <= 50,
            &format!("{field}[{i}]"),
            "must be 1 to 50 characters",
        );
    }
}

crate::aggregate::aggregate!(Product, PRODUCT_AGGREGATE, ProductCommand, ProductEvent,
    decide: |product, command, _services| product.decide(command));

impl crate::Hosted for Product {
    type View = Product;

    fn view(&self) -> Product {
        self.clone()
    }
}
