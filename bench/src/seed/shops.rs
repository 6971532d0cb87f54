//! The seeded catalog's shops (`shop-1` … `shop-40`, in this order) and the cities
//! they are in: each shop sells a few categories, often in a few materials only,
//! and lists partly in its city's language.

use super::words::Lang;

/// A city: its name in English, German and French, and where it is.
#[derive(Debug)]
pub struct City {
    pub name: [&'static str; 3],
    pub lat: f64,
    pub lon: f64,
    /// The language its shops list in besides English (none for English or others).
    pub language: Option<Lang>,
}

const fn city(
    en: &'static str,
    de: &'static str,
    fr: &'static str,
    lat: f64,
    lon: f64,
    language: Option<Lang>,
) -> City {
    City {
        name: [en, de, fr],
        lat,
        lon,
        language,
    }
}

const DE: Option<Lang> = Some(Lang::De);
const FR: Option<Lang> = Some(Lang::Fr);

pub const BERLIN: City = city("Berlin", "Berlin", "Berlin", 52.52, 13.405, DE);
pub const HAMBURG: City = city("Hamburg", "Hamburg", "Hambourg", 53.5511, 9.9937, DE);
pub const MUNICH: City = city("Munich", "München", "Munich", 48.1351, 11.582, DE);
pub const COLOGNE: City = city("Cologne", "Köln", "Cologne", 50.9375, 6.9603, DE);
pub const LEIPZIG: City = city("Leipzig", "Leipzig", "Leipzig", 51.3397, 12.3731, DE);
pub const VIENNA: City = city("Vienna", "Wien", "Vienne", 48.2082, 16.3738, DE);
pub const ZURICH: City = city("Zurich", "Zürich", "Zurich", 47.3769, 8.5417, DE);
pub const PARIS: City = city("Paris", "Paris", "Paris", 48.8566, 2.3522, FR);
pub const LYON: City = city("Lyon", "Lyon", "Lyon", 45.764, 4.8357, FR);
pub const MARSEILLE: City = city("Marseille", "Marseille", "Marseille", 43.2965, 5.3698, FR);
pub const BORDEAUX: City = city("Bordeaux", "Bordeaux", "Bordeaux", 44.8378, -0.5792, FR);
pub const BRUSSELS: City = city("Brussels", "Brüssel", "Bruxelles", 50.8503, 4.3517, FR);
pub const AMSTERDAM: City = city("Amsterdam", "Amsterdam", "Amsterdam", 52.3676, 4.9041, None);
pub const COPENHAGEN: City = city(
    "Copenhagen",
    "Kopenhagen",
    "Copenhague",
    55.6761,
    12.5683,
    None,
);
pub const LONDON: City = city("London", "London", "Londres", 51.5074, -0.1278, None);
pub const LISBON: City = city("Lisbon", "Lissabon", "Lisbonne", 38.7223, -9.1393, None);
pub const BARCELONA: City = city("Barcelona", "Barcelona", "Barcelone", 41.3874, 2.1686, None);
pub const MILAN: City = city("Milan", "Mailand", "Milan", 45.4642, 9.19, None);

pub const CITIES: &[&City] = &[
    &BERLIN,
    &HAMBURG,
    &MUNICH,
    &COLOGNE,
    &LEIPZIG,
    &VIENNA,
    &ZURICH,
    &PARIS,
    &LYON,
    &MARSEILLE,
    &BORDEAUX,
    &BRUSSELS,
    &AMSTERDAM,
    &COPENHAGEN,
    &LONDON,
    &LISBON,
    &BARCELONA,
    &MILAN,
];

/// A shop: its name, its city, the leaf categories it sells and the materials it
/// works in (empty: any its categories use).
#[derive(Debug)]
pub struct ShopProfile {
    pub name: &'static str,
    pub city: &'static City,
    pub categories: &'static [&'static str],
    pub materials: &'static [&'static str],
}

const fn shop(
    name: &'static str,
    city: &'static City,
    categories: &'static [&'static str],
    materials: &'static [&'static str],
) -> ShopProfile {
    ShopProfile {
        name,
        city,
        categories,
        materials,
    }
}

const ANY: &[&str] = &[];
const WOODS: &[&str] = &["wood", "oak", "walnut", "beech", "pine"];
const CERAMICS: &[&str] = &["ceramic", "porcelain", "stoneware"];
const JEWELLERY: &[&str] = &[
    "jewelry/rings",
    "jewelry/necklaces",
    "jewelry/earrings",
    "jewelry/bracelets",
];
const LEATHER_GOODS: &[&str] = &["fashion/bags", "fashion/wallets", "fashion/belts"];
const LIGHTING: &[&str] = &["home/lighting/table-lamps", "home/lighting/pendant-lights"];
const FURNITURE: &[&str] = &[
    "furniture/tables",
    "furniture/chairs",
    "furniture/shelves",
    "furniture/stools",
];

/// In popularity order: the seed lists more products of the first shops.
pub const SHOPS: &[ShopProfile] = &[
    shop(
        "Atelier du Bois",
        &LYON,
        &[
            "home/kitchen/cutting-boards",
            "home/kitchen/bowls",
            "furniture/tables",
            "furniture/chairs",
            "furniture/stools",
            "furniture/shelves",
            "toys/wooden-toys",
        ],
        WOODS,
    ),
    shop(
        "Nordlicht Keramik",
        &HAMBURG,
        &[
            "home/kitchen/mugs",
            "home/kitchen/bowls",
            "home/kitchen/plates",
            "home/kitchen/teapots",
            "home/decor/vases",
        ],
        CERAMICS,
    ),
    shop(
        "Spree Pottery",
        &BERLIN,
        &[
            "home/kitchen/mugs",
            "home/kitchen/bowls",
            "home/decor/vases",
            "garden/planters",
        ],
        &["ceramic", "stoneware", "terracotta"],
    ),
    shop(
        "Maison Lumière",
        &PARIS,
        &[
            "home/lighting/table-lamps",
            "home/lighting/pendant-lights",
            "home/decor/candles",
            "home/decor/mirrors",
        ],
        ANY,
    ),
    shop(
        "Wollwerk",
        &MUNICH,
        &[
            "fashion/scarves",
            "fashion/hats",
            "home/decor/cushions",
            "home/decor/rugs",
            "fashion/bags",
        ],
        &["wool", "felt"],
    ),
    shop(
        "Amsterdam Leather Co.",
        &AMSTERDAM,
        LEATHER_GOODS,
        &["leather"],
    ),
    // The README's `materials=wood,glass&shop_id=shop-7` example: everything it
    // sells is wood or glass.
    shop(
        "Holz & Glas Werkstatt",
        &BERLIN,
        &[
            "home/decor/vases",
            "home/kitchen/cutting-boards",
            "home/decor/mirrors",
            "home/lighting/pendant-lights",
            "furniture/tables",
        ],
        &["glass", "wood", "oak", "walnut", "beech"],
    ),
    shop("Bijoux Céleste", &PARIS, JEWELLERY, &["silver", "gold"]),
    shop(
        "Kleine Werkstatt",
        &LEIPZIG,
        &["toys/wooden-toys", "toys/puzzles", "garden/bird-houses"],
        WOODS,
    ),
    shop(
        "Terre et Jardin",
        &BORDEAUX,
        &[
            "garden/planters",
            "garden/watering-cans",
            "garden/bird-houses",
        ],
        ANY,
    ),
    shop(
        "Copenhagen Living",
        &COPENHAGEN,
        &[
            "home/kitchen/cutting-boards",
            "furniture/tables",
            "furniture/chairs",
            "furniture/shelves",
            "home/lighting/table-lamps",
        ],
        ANY,
    ),
    shop(
        "Wiener Porzellanmanufaktur",
        &VIENNA,
        &[
            "home/kitchen/plates",
            "home/kitchen/mugs",
            "home/kitchen/teapots",
            "home/decor/vases",
            "art/sculptures",
        ],
        &["porcelain"],
    ),
    shop(
        "The Linen House",
        &LONDON,
        &[
            "home/decor/cushions",
            "fashion/scarves",
            "fashion/bags",
            "home/decor/rugs",
        ],
        &["linen", "cotton", "canvas"],
    ),
    shop(
        "Papeterie Marius",
        &MARSEILLE,
        &["stationery/notebooks", "art/prints"],
        ANY,
    ),
    shop(
        "Brass & Bloom",
        &AMSTERDAM,
        &[
            "home/decor/vases",
            "garden/watering-cans",
            "home/lighting/table-lamps",
            "home/lighting/pendant-lights",
        ],
        &["brass", "copper"],
    ),
    shop(
        "Atelier Argile",
        &LYON,
        &[
            "home/kitchen/mugs",
            "home/kitchen/bowls",
            "home/kitchen/plates",
            "home/kitchen/teapots",
            "home/decor/vases",
        ],
        &["ceramic", "stoneware"],
    ),
    shop(
        "Papier & Kerze",
        &BERLIN,
        &["home/decor/candles", "stationery/notebooks", "art/prints"],
        ANY,
    ),
    shop(
        "Rattan & Co",
        &BARCELONA,
        &[
            "home/lighting/pendant-lights",
            "furniture/chairs",
            "home/decor/mirrors",
        ],
        &["rattan"],
    ),
    shop("Silberschmiede Köln", &COLOGNE, JEWELLERY, &["silver"]),
    shop("Alpenholz", &MUNICH, FURNITURE, WOODS),
    shop(
        "Casa do Barro",
        &LISBON,
        &[
            "garden/planters",
            "home/decor/vases",
            "home/kitchen/bowls",
            "home/kitchen/plates",
        ],
        &["terracotta", "ceramic", "stoneware"],
    ),
    shop(
        "Studio Brume",
        &BRUSSELS,
        &["art/prints", "art/sculptures"],
        ANY,
    ),
    shop(
        "Fil de Soie",
        &PARIS,
        &["fashion/scarves", "fashion/hats", "home/decor/cushions"],
        &["silk", "linen", "cotton"],
    ),
    shop("Milano Pelle", &MILAN, LEATHER_GOODS, &["leather"]),
    shop("Kuschelwerk", &HAMBURG, &["toys/plush-toys"], ANY),
    shop(
        "Le Petit Atelier",
        &BORDEAUX,
        &["toys/wooden-toys", "toys/plush-toys", "toys/puzzles"],
        ANY,
    ),
    shop(
        "Concrete Lab",
        &AMSTERDAM,
        &[
            "garden/planters",
            "home/decor/vases",
            "home/lighting/table-lamps",
            "home/lighting/pendant-lights",
        ],
        &["concrete"],
    ),
    shop(
        "Zürcher Glasbläserei",
        &ZURICH,
        &[
            "home/decor/vases",
            "home/kitchen/bowls",
            "home/kitchen/mugs",
            "home/kitchen/teapots",
            "home/lighting/pendant-lights",
        ],
        &["glass"],
    ),
    shop(
        "Tissages de Lyon",
        &LYON,
        &[
            "home/decor/rugs",
            "home/decor/cushions",
            "fashion/scarves",
            "fashion/bags",
        ],
        &["wool", "linen", "cotton", "jute", "silk"],
    ),
    shop(
        "Kaffeehaus Keramik",
        &VIENNA,
        &[
            "home/kitchen/mugs",
            "home/kitchen/teapots",
            "home/kitchen/bowls",
        ],
        &["ceramic", "stoneware", "iron"],
    ),
    shop(
        "Ink & Paper Co.",
        &LONDON,
        &["stationery/notebooks", "art/prints", "toys/puzzles"],
        ANY,
    ),
    shop(
        "Gartenglück",
        &BERLIN,
        &[
            "garden/planters",
            "garden/bird-houses",
            "garden/watering-cans",
        ],
        ANY,
    ),
    shop(
        "Oak & Iron",
        &LONDON,
        &["furniture/tables", "furniture/stools", "furniture/shelves"],
        &["oak", "walnut", "steel"],
    ),
    shop(
        "Nordic Nest Studio",
        &COPENHAGEN,
        &[
            "home/decor/vases",
            "home/decor/candles",
            "home/decor/cushions",
            "home/decor/mirrors",
        ],
        ANY,
    ),
    shop(
        "Maroquinerie du Panier",
        &MARSEILLE,
        LEATHER_GOODS,
        &["leather"],
    ),
    shop(
        "Wiener Lederwerkstatt",
        &VIENNA,
        LEATHER_GOODS,
        &["leather"],
    ),
    shop(
        "Atelier Or Fin",
        &BRUSSELS,
        &["jewelry/rings", "jewelry/necklaces", "jewelry/bracelets"],
        &["gold", "silver"],
    ),
    shop(
        "Taller del Fang",
        &BARCELONA,
        &[
            "home/kitchen/mugs",
            "home/kitchen/plates",
            "home/kitchen/bowls",
            "garden/planters",
        ],
        &["ceramic", "terracotta", "stoneware"],
    ),
    shop("Lichtwerk Hamburg", &HAMBURG, LIGHTING, ANY),
    shop(
        "Studio Verre Bleu",
        &PARIS,
        &[
            "home/decor/vases",
            "home/kitchen/bowls",
            "home/kitchen/mugs",
            "home/lighting/pendant-lights",
        ],
        &["glass"],
    ),
];
