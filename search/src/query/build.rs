//! A request into a tantivy query: exact and fuzzy text clauses per language, filters
//! as zero-score clauses, geo, and the shopper's preferences as optional boosts.

use super::*;

/// A query built from a request: the tantivy query, and per language field the
/// analyzed words to highlight.
pub struct Built {
    pub query: Box<dyn Query>,
    pub highlight_terms: HashMap<Field, BTreeMap<String, Score>>,
    pub words: Vec<String>,
}

/// Terms of `text` as `field`'s analyzer produces them.
/// The analyzers of the fields a query uses, taken from the index once per query.
struct Analyzers<'s> {
    searcher: &'s Searcher,
    by_field: HashMap<Field, TextAnalyzer>,
}

impl<'s> Analyzers<'s> {
    fn new(searcher: &'s Searcher) -> Self {
        Self {
            searcher,
            by_field: HashMap::new(),
        }
    }

    /// Terms of `text` as `field`'s analyzer produces them.
    fn analyze(&mut self, field: Field, text: &str) -> Vec<String> {
        if !self.by_field.contains_key(&field) {
            match self.searcher.index().tokenizer_for_field(field) {
                Ok(analyzer) => self.by_field.insert(field, analyzer),
                Err(_) => return Vec::new(),
            };
        }
        let analyzer = self.by_field.get_mut(&field).expect("inserted above");
        schema::tokens(analyzer, text)
    }
}

fn filter(query: Box<dyn Query>) -> (Occur, Box<dyn Query>) {
    // Filters match or not; they add nothing to the score.
    (Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0)))
}

fn term(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

/// The text part of the query: every word must match some field (stop words may),
/// exactly (BM25 with the field's boost) or within its fuzziness (a lower constant).
fn text_clauses(
    searcher: &Searcher,
    fields: &Fields,
    words: &[String],
    highlight_terms: &mut HashMap<Field, BTreeMap<String, Score>>,
    vocabulary: &Vocabulary,
) -> Vec<(Occur, Box<dyn Query>)> {
    let mut clauses = Vec::new();
    let mut analyzers = Analyzers::new(searcher);
    let highlighted: Vec<Field> = fields
        .title
        .iter()
        .chain(&fields.description)
        .copied()
        .collect();
    for word in words {
        let distance = fuzziness(word.chars().count());
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut stop_word = false;
        for text_field in fields.exact_fields() {
            let terms = analyzers.analyze(text_field.field, word);
            if terms.is_empty() {
                stop_word = true;
            }
            for analyzed in terms {
                let exact = Term::from_field_text(text_field.field, &analyzed);
                alternatives.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(exact, IndexRecordOption::WithFreqs)),
                        text_field.boost,
                    )),
                ));
                if highlighted.contains(&text_field.field) {
                    highlight_terms
                        .entry(text_field.field)
                        .or_default()
                        .insert(analyzed, 1.0);
                }
            }
        }
        if distance > 0 {
            for text_field in fields.fuzzy_fields() {
                let term = Term::from_field_text(text_field.field, word);
                alternatives.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(FuzzyTermQuery::new(term, distance, true)),
                        text_field.boost * FUZZY_SHARE,
                    )),
                ));
            }
        }
        if alternatives.is_empty() {
            continue;
        }
        // Typo matches are highlighted too: the known words near an unknown one (a
        // known word is highlighted as itself, and the lookup is spared).
        let near_words = if vocabulary.contains(word) {
            Vec::new()
        } else {
            neighbours(word, vocabulary, 8)
        };
        for near in near_words {
            for &field in &highlighted {
                for analyzed in analyzers.analyze(field, near) {
                    highlight_terms
                        .entry(field)
                        .or_default()
                        .insert(analyzed, 0.5);
                }
            }
        }
        let occur = if stop_word {
            Occur::Should
        } else {
            Occur::Must
        };
        clauses.push((
            occur,
            Box::new(BooleanQuery::new(alternatives)) as Box<dyn Query>,
        ));
    }
    clauses
}

/// Build the tantivy query for a request. `all_words` false relaxes the text to any
/// word (the fallback when requiring every word finds nothing).
pub fn build(view: &View, request: &SearchRequest, all_words: bool) -> Built {
    let searcher = &view.searcher;
    let fields = &view.fields;
    let words = schema::words(&request.q);
    let mut highlight_terms = HashMap::new();
    let signals = view.signals.read().expect("signals lock");
    let mut clauses = text_clauses(
        searcher,
        fields,
        &words,
        &mut highlight_terms,
        &signals.vocabulary,
    );
    if !all_words {
        for clause in &mut clauses {
            clause.0 = Occur::Should;
        }
        if !clauses.is_empty() {
            let any = BooleanQuery::new(std::mem::take(&mut clauses));
            clauses.push((Occur::Must, Box::new(any)));
        }
    }
    if clauses.iter().all(|(occur, _)| *occur != Occur::Must) {
        // Browsing: everything matches, equally.
        clauses.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(Box::new(AllQuery), 1.0)),
        ));
    }
    if let Some(category) = &request.category {
        clauses.push(filter(term(fields.category, category)));
    }
    if request.price_min.is_some() || request.price_max.is_some() {
        let bound = |value: Option<u64>| match value {
            Some(v) => Bound::Included(Term::from_field_u64(fields.price, v)),
            None => Bound::Unbounded,
        };
        clauses.push(filter(Box::new(RangeQuery::new(
            bound(request.price_min),
            bound(request.price_max),
        ))));
    }
    if !request.materials.is_empty() {
        let any = request
            .materials
            .iter()
            .map(|m| (Occur::Should, term(fields.material, &m.to_lowercase())))
            .collect();
        clauses.push(filter(Box::new(BooleanQuery::new(any))));
    }
    if let Some(shop_id) = &request.shop_id {
        clauses.push(filter(term(fields.shop_id, shop_id)));
    }
    if request.in_stock {
        clauses.push(filter(Box::new(TermQuery::new(
            Term::from_field_bool(fields.in_stock, true),
            IndexRecordOption::Basic,
        ))));
    }
    if let Some(Geo {
        lat,
        lon,
        radius_km: Some(radius),
    }) = request.geo
    {
        let ((lat_min, lat_max), lon_range) = bounding_box(lat, lon, radius);
        let range = |field: Field, min: f64, max: f64| -> Box<dyn Query> {
            Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_f64(field, min)),
                Bound::Included(Term::from_field_f64(field, max)),
            ))
        };
        clauses.push(filter(range(fields.lat, lat_min, lat_max)));
        if let Some((lon_min, lon_max)) = lon_range {
            clauses.push(filter(range(fields.lon, lon_min, lon_max)));
        }
        let within = FunctionPredicate::from(move |segment: &SegmentReader| {
            let lats = segment.fast_fields().f64(LAT)?;
            let lons = segment.fast_fields().f64(LON)?;
            Ok(move |doc: DocId| match (lats.first(doc), lons.first(doc)) {
                (Some(p_lat), Some(p_lon)) => haversine_km(lat, lon, p_lat, p_lon) <= radius,
                _ => false,
            })
        });
        clauses.push(filter(Box::new(DocPredicateQuery::from(within))));
    }
    if request.sort == Sort::Relevance {
        // Optional clauses: they reorder what matches and never remove anything.
        let preferred = [
            (fields.category, &request.preferred_categories),
            (fields.shop_id, &request.preferred_shops),
        ];
        for (field, preferences) in preferred {
            for (value, share) in preferences.iter().take(PERSONAL_TOP) {
                clauses.push((
                    Occur::Should,
                    Box::new(ConstScoreQuery::new(
                        term(field, value),
                        PERSONAL_BOOST * share,
                    )),
                ));
            }
        }
    }
    Built {
        query: Box::new(BooleanQuery::new(clauses)),
        highlight_terms,
        words,
    }
}
