//! The index layout: fields, their analyzers, and how a product becomes a document.
//!
//! Title and description are analyzed in the product's own language (stop words and
//! stemmer of English, German or French), each language in its own field, since a
//! tantivy field has one analyzer; the other text fields use one plain analyzer. A
//! query is analyzed for every language field, so it searches all languages.

use tantivy::schema::{
    Facet, FacetOptions, Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing,
    TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, TantivyDocument};

use crate::catalog::ProductRecord;

/// Languages a product can be written in, with their analyzer names.
pub const LANGUAGES: &[(&str, Language)] = &[
    ("en", Language::English),
    ("de", Language::German),
    ("fr", Language::French),
];

/// Analyzer of the text fields that are not language-specific.
const PLAIN: &str = "plain";

/// Relevance boosts per text field group (the weights).
pub const TITLE_BOOST: f32 = 3.0;
pub const DESCRIPTION_BOOST: f32 = 2.0;
pub const TAGS_BOOST: f32 = 2.0;
pub const CATEGORY_BOOST: f32 = 1.0;
pub const MATERIALS_BOOST: f32 = 1.0;
pub const SHOP_NAME_BOOST: f32 = 1.0;

/// Fast-field names read by collectors and predicates.
pub const PRICE: &str = "price";
pub const LAT: &str = "lat";
pub const LON: &str = "lon";
pub const LISTED: &str = "listed";
pub const TIE: &str = "tie";

/// One text field to search, with its boost.
#[derive(Debug, Clone, Copy)]
pub struct TextField {
    pub field: Field,
    pub boost: f32,
}

/// Handles of every field.
#[derive(Debug, Clone)]
pub struct Fields {
    pub sku: Field,
    /// Per language (same order as [`LANGUAGES`]).
    pub title: Vec<Field>,
    pub description: Vec<Field>,
    /// Title and description unstemmed, where typos are matched: a stem is no
    /// spelling (`ceramic` stems to `ceram`).
    pub title_plain: Field,
    pub description_plain: Field,
    pub tags: Field,
    pub category_text: Field,
    pub materials_text: Field,
    pub shop_name: Field,
    /// The category path and each of its ancestors, for filters and boosts.
    pub category: Field,
    pub material: Field,
    pub shop_id: Field,
    pub in_stock: Field,
    pub facets: Field,
    pub price: Field,
    pub currency: Field,
    pub lat: Field,
    pub lon: Field,
    pub listed: Field,
    /// A hash of the SKU: breaks ties the same way in every copy of the index.
    pub tie: Field,
    /// The product record as JSON, to answer with.
    pub record: Field,
}

impl Fields {
    /// The fields a word must match exactly (stemmed in each language), with boosts.
    pub fn exact_fields(&self) -> Vec<TextField> {
        let mut fields = Vec::new();
        for &field in &self.title {
            fields.push(TextField {
                field,
                boost: TITLE_BOOST,
            });
        }
        for &field in &self.description {
            fields.push(TextField {
                field,
                boost: DESCRIPTION_BOOST,
            });
        }
        fields.extend(self.plain_common());
        fields
    }

    /// The fields a word may match within its fuzziness: all unstemmed.
    pub fn fuzzy_fields(&self) -> Vec<TextField> {
        let mut fields = vec![
            TextField {
                field: self.title_plain,
                boost: TITLE_BOOST,
            },
            TextField {
                field: self.description_plain,
                boost: DESCRIPTION_BOOST,
            },
        ];
        fields.extend(self.plain_common());
        fields
    }

    fn plain_common(&self) -> [TextField; 4] {
        [
            TextField {
                field: self.tags,
                boost: TAGS_BOOST,
            },
            TextField {
                field: self.category_text,
                boost: CATEGORY_BOOST,
            },
            TextField {
                field: self.materials_text,
                boost: MATERIALS_BOOST,
            },
            TextField {
                field: self.shop_name,
                boost: SHOP_NAME_BOOST,
            },
        ]
    }

    /// Where a language's fields are in `title` and `description` (English for an
    /// unknown one).
    pub fn language_slot(language: &str) -> usize {
        LANGUAGES
            .iter()
            .position(|(code, _)| *code == language)
            .unwrap_or(0)
    }
}

/// An analyzed text field. Nothing is stored: answers and snippets are made from
/// the stored product record.
fn text(analyzer: &str) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(analyzer)
            .set_index_option(IndexRecordOption::WithFreqs),
    )
}

/// The schema and its field handles.
pub fn build() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let sku = builder.add_text_field("sku", STRING | STORED);
    let mut title = Vec::new();
    let mut description = Vec::new();
    for (code, _) in LANGUAGES {
        let analyzer = format!("lang_{code}");
        title.push(builder.add_text_field(&format!("title_{code}"), text(&analyzer)));
        description.push(builder.add_text_field(&format!("description_{code}"), text(&analyzer)));
    }
    let title_plain = builder.add_text_field("title_plain", text(PLAIN));
    let description_plain = builder.add_text_field("description_plain", text(PLAIN));
    let tags = builder.add_text_field("tags", text(PLAIN));
    let category_text = builder.add_text_field("category_text", text(PLAIN));
    let materials_text = builder.add_text_field("materials_text", text(PLAIN));
    let shop_name = builder.add_text_field("shop_name", text(PLAIN));
    let category = builder.add_text_field("category", STRING);
    let material = builder.add_text_field("material", STRING);
    let shop_id = builder.add_text_field("shop_id", STRING);
    let in_stock = builder.add_bool_field("in_stock", INDEXED | FAST);
    let facets = builder.add_facet_field("facets", FacetOptions::default());
    let price = builder.add_u64_field(PRICE, NumericOptions::default().set_fast().set_indexed());
    let currency = builder.add_text_field("currency", STRING);
    let lat = builder.add_f64_field(LAT, FAST | INDEXED);
    let lon = builder.add_f64_field(LON, FAST | INDEXED);
    let listed = builder.add_i64_field(LISTED, FAST);
    let tie = builder.add_u64_field(TIE, FAST);
    let record = builder.add_text_field("record", STORED);
    let fields = Fields {
        sku,
        title,
        description,
        title_plain,
        description_plain,
        tags,
        category_text,
        materials_text,
        shop_name,
        category,
        material,
        shop_id,
        in_stock,
        facets,
        price,
        currency,
        lat,
        lon,
        listed,
        tie,
        record,
    };
    (builder.build(), fields)
}

/// Register the analyzers the schema names.
pub fn register_analyzers(index: &Index) {
    let manager = index.tokenizers();
    for (code, language) in LANGUAGES {
        let mut analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .dynamic();
        if let Some(stop_words) = StopWordFilter::new(*language) {
            analyzer = analyzer.filter_dynamic(stop_words);
        }
        let analyzer = analyzer
            .filter_dynamic(Stemmer::new(*language))
            .filter_dynamic(AsciiFoldingFilter)
            .build();
        manager.register(&format!("lang_{code}"), analyzer);
    }
    manager.register(PLAIN, plain_analyzer());
}

/// Lower-cased, accent-folded words: the plain fields' analyzer, and how queries and
/// the vocabulary split text into words.
pub fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The terms `analyzer` makes of `text`.
pub fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut terms = Vec::new();
    while let Some(token) = stream.next() {
        terms.push(token.text.clone());
    }
    terms
}

thread_local! {
    /// One plain analyzer per thread: building one per call costs more than using it.
    static PLAIN_ANALYZER: std::cell::RefCell<TextAnalyzer> = std::cell::RefCell::new(plain_analyzer());
}

/// The words of `text` as the plain analyzer sees them.
pub fn words(text: &str) -> Vec<String> {
    PLAIN_ANALYZER.with(|analyzer| tokens(&mut analyzer.borrow_mut(), text))
}

/// Most words a query (or a typed prefix) may have, counted as [`words`] counts them:
/// each word costs exact and fuzzy clauses over every text field and a spelling
/// lookup, so the count bounds what one request can cost.
pub const MAX_QUERY_WORDS: usize = 10;

/// Whether `text` has more words than a query may.
pub fn too_many_words(text: &str) -> bool {
    words(text).len() > MAX_QUERY_WORDS
}

/// The facet of a category path (`category/home/kitchen` for `home/kitchen`).
pub fn category_facet(path: &str) -> Facet {
    Facet::from_path(std::iter::once("category").chain(path.split('/').filter(|p| !p.is_empty())))
}

/// The document for a product as it now is.
pub fn document(fields: &Fields, record: &ProductRecord) -> TantivyDocument {
    let details = &record.details;
    let mut doc = TantivyDocument::default();
    doc.add_text(fields.sku, &record.sku);
    let slot = Fields::language_slot(&details.language);
    doc.add_text(fields.title[slot], &details.title);
    doc.add_text(fields.description[slot], &details.description);
    doc.add_text(fields.title_plain, &details.title);
    doc.add_text(fields.description_plain, &details.description);
    for tag in &details.tags {
        doc.add_text(fields.tags, tag);
    }
    doc.add_text(fields.category_text, details.category.replace('/', " "));
    for ancestor in event_schemas::product::category_levels(&details.category) {
        doc.add_text(fields.category, &ancestor);
    }
    doc.add_facet(fields.facets, category_facet(&details.category));
    for material in &details.materials {
        doc.add_text(fields.materials_text, material);
        let material = material.to_lowercase();
        doc.add_text(fields.material, &material);
        doc.add_facet(fields.facets, Facet::from_path(["material", &material]));
    }
    doc.add_text(fields.shop_name, &details.shop.name);
    doc.add_text(fields.shop_id, &details.shop.shop_id);
    doc.add_facet(
        fields.facets,
        Facet::from_path(["shop", &details.shop.shop_id]),
    );
    doc.add_bool(fields.in_stock, record.in_stock);
    doc.add_u64(fields.price, details.price.amount.max(0) as u64);
    doc.add_text(fields.currency, &details.price.currency);
    doc.add_f64(fields.lat, details.shop.location.lat);
    doc.add_f64(fields.lon, details.shop.location.lon);
    doc.add_i64(fields.listed, record.listed_position);
    doc.add_u64(fields.tie, tie_breaker(&record.sku));
    doc.add_text(
        fields.record,
        serde_json::to_string(record).expect("a product record serializes"),
    );
    doc
}

/// A stable 64-bit hash of a SKU (FNV-1a): the same in every process and index copy.
pub fn tie_breaker(sku: &str) -> u64 {
    sku.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ byte as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
