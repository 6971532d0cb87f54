//! The seeded catalog's words in English, German and French: materials, styles and
//! colours, and the little grammar that puts them before (or after) a noun.

/// A language a product is listed in; the index of its word in a `[en, de, fr]` triple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En = 0,
    De = 1,
    Fr = 2,
}

impl Lang {
    /// The ISO 639-1 code the search index analyzes by.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Fr => "fr",
        }
    }
}

/// Grammatical gender (and number) of a noun: German and French adjectives agree
/// with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Masculine,
    Feminine,
    Neuter,
    /// Plural of any gender in German ("Ohrringe").
    Plural,
    /// French feminine plural ("boucles d'oreilles").
    FemininePlural,
}

/// A product noun: English, German with its gender, French with its gender.
#[derive(Debug, Clone, Copy)]
pub struct Noun {
    pub en: &'static str,
    pub de: &'static str,
    pub de_gender: Gender,
    pub fr: &'static str,
    pub fr_gender: Gender,
}

pub const fn noun(
    en: &'static str,
    de: &'static str,
    de_gender: Gender,
    fr: &'static str,
    fr_gender: Gender,
) -> Noun {
    Noun {
        en,
        de,
        de_gender,
        fr,
        fr_gender,
    }
}

/// A material. `id` is the facet key (English, lowercase); `name` is how each
/// language writes it after "aus" / "en" or in a sentence.
#[derive(Debug, Clone, Copy)]
pub struct Material {
    pub id: &'static str,
    /// English before a noun: "wooden" bowl, "cast-iron" teapot.
    pub en_adjective: &'static str,
    pub name: [&'static str; 3],
    /// A broader material it also counts as (oak is wood), so `materials=wood`
    /// finds oak tables.
    pub parent: Option<&'static str>,
    /// Whether it comes in colours (a blue mug, never a blue oak table).
    pub coloured: bool,
}

const fn material(
    id: &'static str,
    en_adjective: &'static str,
    de: &'static str,
    fr: &'static str,
    parent: Option<&'static str>,
    coloured: bool,
) -> Material {
    let en = id;
    Material {
        id,
        en_adjective,
        name: [en, de, fr],
        parent,
        coloured,
    }
}

const WOOD: Option<&str> = Some("wood");

pub const MATERIALS: &[Material] = &[
    material("ceramic", "ceramic", "Keramik", "céramique", None, true),
    material(
        "porcelain",
        "porcelain",
        "Porzellan",
        "porcelaine",
        None,
        true,
    ),
    material("stoneware", "stoneware", "Steingut", "grès", None, true),
    material(
        "terracotta",
        "terracotta",
        "Terrakotta",
        "terre cuite",
        None,
        false,
    ),
    material("glass", "glass", "Glas", "verre", None, true),
    material("wood", "wooden", "Holz", "bois", None, false),
    material("oak", "oak", "Eichenholz", "chêne", WOOD, false),
    material("walnut", "walnut", "Nussbaumholz", "noyer", WOOD, false),
    material("beech", "beech", "Buchenholz", "hêtre", WOOD, false),
    material("pine", "pine", "Kiefernholz", "pin", WOOD, false),
    material("bamboo", "bamboo", "Bambus", "bambou", None, false),
    material("rattan", "rattan", "Rattan", "rotin", None, false),
    material("steel", "steel", "Stahl", "acier", None, false),
    material("iron", "cast-iron", "Gusseisen", "fonte", None, false),
    material("brass", "brass", "Messing", "laiton", None, false),
    material("copper", "copper", "Kupfer", "cuivre", None, false),
    material("bronze", "bronze", "Bronze", "bronze", None, false),
    material("silver", "silver", "Silber", "argent", None, false),
    material("gold", "gold", "Gold", "or", None, false),
    material("concrete", "concrete", "Beton", "béton", None, false),
    material("marble", "marble", "Marmor", "marbre", None, false),
    material("leather", "leather", "Leder", "cuir", None, true),
    material("canvas", "canvas", "Segeltuch", "toile", None, true),
    material("cotton", "cotton", "Baumwolle", "coton", None, true),
    material("linen", "linen", "Leinen", "lin", None, true),
    material("wool", "wool", "Wolle", "laine", None, true),
    material("felt", "felt", "Filz", "feutre", None, true),
    material("silk", "silk", "Seide", "soie", None, true),
    material("jute", "jute", "Jute", "jute", None, false),
    material("paper", "paper", "Papier", "papier", None, false),
    material("cardboard", "cardboard", "Karton", "carton", None, false),
    material(
        "beeswax",
        "beeswax",
        "Bienenwachs",
        "cire d'abeille",
        None,
        false,
    ),
    material(
        "soy-wax",
        "soy wax",
        "Sojawachs",
        "cire de soja",
        None,
        true,
    ),
];

/// The material with this id; every id the tables use is one (a test checks).
pub fn material_by_id(id: &str) -> &'static Material {
    MATERIALS
        .iter()
        .find(|m| m.id == id)
        .unwrap_or_else(|| panic!("unknown material {id}"))
}

/// A style adjective: English, the German stem (declined by [`german_adjective`]),
/// French masculine and feminine.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub en: &'static str,
    pub de: &'static str,
    pub fr: (&'static str, &'static str),
    /// The only materials it fits (hand-knitted is wool); empty for any.
    pub only: &'static [&'static str],
}

const fn style(
    en: &'static str,
    de: &'static str,
    fr: (&'static str, &'static str),
    only: &'static [&'static str],
) -> Style {
    Style { en, de, fr, only }
}

pub const STYLES: &[Style] = &[
    style("handmade", "handgemacht", ("artisanal", "artisanale"), &[]),
    style(
        "hand-painted",
        "handbemalt",
        ("peint à la main", "peinte à la main"),
        &[
            "ceramic",
            "porcelain",
            "stoneware",
            "glass",
            "wood",
            "beech",
        ],
    ),
    style("rustic", "rustikal", ("rustique", "rustique"), &[]),
    style("modern", "modern", ("moderne", "moderne"), &[]),
    style(
        "minimalist",
        "minimalistisch",
        ("minimaliste", "minimaliste"),
        &[],
    ),
    style(
        "scandinavian",
        "skandinavisch",
        ("scandinave", "scandinave"),
        &[],
    ),
    style("classic", "klassisch", ("classique", "classique"), &[]),
    style("elegant", "elegant", ("élégant", "élégante"), &[]),
    style(
        "hand-knitted",
        "handgestrickt",
        ("tricoté main", "tricotée main"),
        &["wool"],
    ),
    style(
        "hand-stitched",
        "handgenäht",
        ("cousu main", "cousue main"),
        &["leather", "canvas"],
    ),
    style("botanical", "botanisch", ("botanique", "botanique"), &[]),
    style("abstract", "abstrakt", ("abstrait", "abstraite"), &[]),
];

pub fn style_by_name(en: &str) -> &'static Style {
    STYLES
        .iter()
        .find(|s| s.en == en)
        .unwrap_or_else(|| panic!("unknown style {en}"))
}

/// A colour: English, German stem, French masculine and feminine.
pub const COLOURS: &[(&str, &str, (&str, &str))] = &[
    ("blue", "blau", ("bleu", "bleue")),
    ("green", "grün", ("vert", "verte")),
    ("black", "schwarz", ("noir", "noire")),
    ("white", "weiß", ("blanc", "blanche")),
    ("grey", "grau", ("gris", "grise")),
    ("red", "rot", ("rouge", "rouge")),
    ("yellow", "gelb", ("jaune", "jaune")),
];

/// A German adjective without article before a noun of `gender` (strong
/// declension, nominative): handgemachte Tasse, handgemachter Becher.
pub fn german_adjective(stem: &str, gender: Gender) -> String {
    let ending = match gender {
        Gender::Masculine => "er",
        Gender::Neuter => "es",
        Gender::Feminine | Gender::Plural | Gender::FemininePlural => "e",
    };
    format!("{stem}{ending}")
}

/// A French adjective agreeing with a noun of `gender`; a plural takes its mark
/// on the first word ("peintes à la main").
pub fn french_adjective((masculine, feminine): (&str, &str), gender: Gender) -> String {
    match gender {
        Gender::Feminine => feminine.to_string(),
        Gender::FemininePlural => french_plural(feminine),
        Gender::Plural => french_plural(masculine),
        Gender::Masculine | Gender::Neuter => masculine.to_string(),
    }
}

fn french_plural(phrase: &str) -> String {
    let (first, rest) = phrase.split_once(' ').unwrap_or((phrase, ""));
    let plural = if first.ends_with('s') || first.ends_with('x') {
        first.to_string()
    } else if let Some(stem) = first.strip_suffix("al") {
        format!("{stem}aux")
    } else {
        format!("{first}s")
    };
    if rest.is_empty() {
        plural
    } else {
        format!("{plural} {rest}")
    }
}

/// "de" before a name, as French writes it: d'Atelier du Bois, du Petit Atelier.
pub fn french_of(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("Le ") {
        format!("du {rest}")
    } else if name.starts_with(['A', 'E', 'I', 'O', 'U', 'É']) {
        format!("d'{name}")
    } else {
        format!("de {name}")
    }
}

/// The text with its first letter upper-case.
pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
