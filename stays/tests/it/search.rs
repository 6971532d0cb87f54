//! Given listings, calendars and stays, when searched, then the hits, their order
//! and their score breakdown.

use chrono::{Duration, NaiveDate, TimeZone, Utc, Weekday};
use domain::stays::Calendar;
use event_schemas::stays::{CalendarChange, CancelledBy, ListingEvent, ModerationDecision};
use stays::config::RankingWeights;
use stays::search::SearchRequest;

use crate::support::{apartment, date, east, ids, query, request, World};

#[test]
fn a_booked_night_excludes_the_listing_for_stays_over_it() {
    // Given two apartments, one booked for the nights of 10 and 11 April
    let mut world = World::new();
    world.listing("a", apartment("Altbau"));
    world.listing("b", apartment("Bright loft"));
    world.book("a", "guest-1", date(2026, 4, 10), date(2026, 4, 12));
    // When stays over one of those nights are searched, then only the other shows
    assert_eq!(world.found(date(2026, 4, 11), date(2026, 4, 13)), vec!["b"]);
    assert_eq!(world.found(date(2026, 4, 8), date(2026, 4, 11)), vec!["b"]);
    // And right before them both do (b first: a's calendar is less flexible)
    assert_eq!(
        world.found(date(2026, 4, 7), date(2026, 4, 10)),
        vec!["b", "a"]
    );
    assert_eq!(world.found(date(2026, 4, 12), date(2026, 4, 13)).len(), 2);
}

#[test]
fn a_check_out_day_is_free_for_the_next_check_in() {
    // Given a stay [10, 12) and another [14, 16)
    let mut world = World::new();
    world.listing("a", apartment("Altbau"));
    world.book("a", "guest-1", date(2026, 4, 10), date(2026, 4, 12));
    world.book("a", "guest-2", date(2026, 4, 14), date(2026, 4, 16));
    // Then the nights between, from one check-out to the next check-in, are free
    assert_eq!(world.found(date(2026, 4, 12), date(2026, 4, 14)), vec!["a"]);
    // But not a night more on either side
    assert!(world.found(date(2026, 4, 11), date(2026, 4, 14)).is_empty());
    assert!(world.found(date(2026, 4, 12), date(2026, 4, 15)).is_empty());
}

#[test]
fn the_weekly_plan_with_its_blocked_and_opened_exceptions() {
    // Given an apartment let on Friday and Saturday nights only
    let mut world = World::new();
    let mut weekends = apartment("Weekend flat");
    weekends.open_weekdays = vec![Weekday::Fri, Weekday::Sat];
    world.listing("w", weekends);
    // Then the weekend of 10–12 April (Friday, Saturday) is free, a Sunday night not
    assert_eq!(world.found(date(2026, 4, 10), date(2026, 4, 12)), vec!["w"]);
    assert!(world.found(date(2026, 4, 10), date(2026, 4, 13)).is_empty());
    assert!(world.found(date(2026, 4, 7), date(2026, 4, 8)).is_empty());
    // When the host blocks the weekend and opens the Sunday and Monday after it
    world.calendar(
        "w",
        date(2026, 4, 10),
        date(2026, 4, 12),
        CalendarChange::Blocked,
    );
    world.calendar(
        "w",
        date(2026, 4, 12),
        date(2026, 4, 14),
        CalendarChange::Opened,
    );
    // Then the weekend is gone, and Sunday to Tuesday bookable though off the plan
    assert!(world.found(date(2026, 4, 10), date(2026, 4, 11)).is_empty());
    assert_eq!(world.found(date(2026, 4, 12), date(2026, 4, 14)), vec!["w"]);
    // And the following weekend still follows the plan
    assert_eq!(world.found(date(2026, 4, 17), date(2026, 4, 19)), vec!["w"]);
    // When the blocked Saturday is opened again, it is bookable again
    world.calendar(
        "w",
        date(2026, 4, 11),
        date(2026, 4, 12),
        CalendarChange::Opened,
    );
    assert_eq!(world.found(date(2026, 4, 11), date(2026, 4, 14)), vec!["w"]);
}

#[test]
fn lapsed_cancelled_and_expired_holds_free_their_nights() {
    let mut world = World::new();
    world.listing("a", apartment("Altbau"));
    let (from, until) = (date(2026, 4, 10), date(2026, 4, 12));
    // A hold keeps the nights, and its lapse frees them
    let hold = world.hold("a", "guest-1", from, until);
    assert!(world.found(from, until).is_empty());
    world.apply(ListingEvent::HoldLapsed {
        listing_id: "a".into(),
        stay_id: hold,
        reason: "unpaid".into(),
    });
    assert_eq!(world.found(from, until), vec!["a"]);
    // A confirmed stay keeps them, and its cancellation frees them
    let stay = world.book("a", "guest-2", from, until);
    assert!(world.found(from, until).is_empty());
    world.apply(ListingEvent::StayCancelled {
        listing_id: "a".into(),
        stay_id: stay,
        by: CancelledBy::Guest,
        refund: 20_000,
        refund_share: 1.0,
    });
    assert_eq!(world.found(from, until), vec!["a"]);
    // A hold past its expiry frees them once the log's clock passes it
    world.hold("a", "guest-3", from, until);
    world.pass(Duration::minutes(14));
    assert!(world.found(from, until).is_empty());
    world.pass(Duration::minutes(1));
    assert_eq!(world.found(from, until), vec!["a"]);
}

#[test]
fn a_late_payment_takes_the_nights_again_and_a_stale_lapse_leaves_others_alone() {
    // Given a hold that expired, and a second guest's hold on the same nights
    let mut world = World::new();
    world.listing("a", apartment("Altbau"));
    let (from, until) = (date(2026, 4, 10), date(2026, 4, 12));
    let first = world.hold("a", "guest-1", from, until);
    world.pass(Duration::minutes(20));
    world.hold("a", "guest-2", date(2026, 4, 11), date(2026, 4, 13));
    // When the first hold's lapse is recorded late
    world.apply(ListingEvent::HoldLapsed {
        listing_id: "a".into(),
        stay_id: first,
        reason: "unpaid".into(),
    });
    // Then the second guest's night of the 11th is still kept, the 10th free
    assert!(world.found(date(2026, 4, 11), date(2026, 4, 12)).is_empty());
    assert_eq!(world.found(date(2026, 4, 10), date(2026, 4, 11)), vec!["a"]);
}

#[test]
fn only_listings_within_the_radius_are_found() {
    // Given apartments 3, 9 and 30 km east of the centre
    let mut world = World::new();
    for (id, km) in [("near", 3.0), ("edge", 9.0), ("far", 30.0)] {
        let mut details = apartment(id);
        details.location = east(km);
        world.listing(id, details);
    }
    let (from, until) = (date(2026, 4, 10), date(2026, 4, 12));
    // Then 10 km reaches two, 5 km one and 50 km all three
    assert_eq!(world.found(from, until), vec!["edge", "near"]);
    let mut narrow = query(from, until);
    narrow.radius_km = 5.0;
    assert_eq!(ids(&world.search(narrow)), vec!["near"]);
    let mut wide = query(from, until);
    wide.radius_km = 50.0;
    assert_eq!(world.search(wide).total, 3);
}

#[test]
fn guests_must_fit_and_the_stay_length_be_allowed() {
    // Given a studio for 2 and a house for 6 that takes 3 to 7 nights
    let mut world = World::new();
    let mut studio = apartment("Studio");
    studio.capacity = 2;
    world.listing("studio", studio);
    let mut house = apartment("House");
    house.capacity = 6;
    house.min_nights = 3;
    house.max_nights = 7;
    world.listing("house", house);
    let ask = |guests: u32, nights: i64| {
        let mut q = query(
            date(2026, 4, 10),
            date(2026, 4, 10) + Duration::days(nights),
        );
        q.guests = guests;
        ids(&world.search(q))
    };
    assert_eq!(ask(2, 2), vec!["studio"]);
    assert_eq!(ask(4, 3), vec!["house"]);
    let mut both = ask(2, 3);
    both.sort();
    assert_eq!(both, vec!["house", "studio"]);
    assert!(ask(4, 8).is_empty());
    assert!(ask(7, 4).is_empty());
}

#[test]
fn flagged_listings_are_hidden_until_approved_and_removed_ones_for_good() {
    let mut world = World::new();
    world.listing("a", apartment("Altbau"));
    world.listing("b", apartment("Bright loft"));
    let (from, until) = (date(2026, 4, 10), date(2026, 4, 12));
    // Given both flagged
    world.flag("a");
    world.flag("b");
    assert!(world.found(from, until).is_empty());
    assert_eq!(
        world
            .model
            .flagged()
            .iter()
            .map(|l| l.id.as_str())
            .collect::<Vec<_>>(),
        vec!["a", "b"]
    );
    assert_eq!(world.model.listing("a").unwrap().status, "flagged");
    assert_eq!(world.model.listing("a").unwrap().signals.len(), 1);
    // When an admin approves one and removes the other
    world.moderate("a", ModerationDecision::Approved);
    world.moderate("b", ModerationDecision::Removed);
    // Then the approved one shows, the removed one does not, and none awaits
    assert_eq!(world.found(from, until), vec!["a"]);
    assert!(world.model.flagged().is_empty());
    assert_eq!(world.model.listing("b").unwrap().status, "removed");
    assert!(world.model.listing("a").unwrap().signals.is_empty());
    // And an unlisted listing is hidden until its host changes it
    world.apply(ListingEvent::ListingUnlisted {
        listing_id: "a".into(),
    });
    assert!(world.found(from, until).is_empty());
    world.apply(ListingEvent::ListingUpdated {
        listing_id: "a".into(),
        details: apartment("Altbau, renovated"),
    });
    assert_eq!(world.found(from, until), vec!["a"]);
}

#[test]
fn the_breakdown_adds_up_to_the_score_and_reports_each_weight() {
    // Given three different listings
    let mut world = World::new();
    world.listing("a", apartment("Altbau"));
    let mut loft = apartment("Bright loft with a balcony");
    loft.nightly_price = 14_000;
    loft.amenities.push("balcony".into());
    world.listing("b", loft);
    let mut room = apartment("Room");
    room.property_type = "room".into();
    room.nightly_price = 6_000;
    world.listing("c", room);
    // When searched with weights of its own
    let weights = RankingWeights {
        quality: 0.1,
        relevance: 0.2,
        personalisation: 0.3,
        price: 0.25,
        availability: 0.15,
    };
    let answer = world.model.search(&SearchRequest {
        weights: Some(weights),
        ..request(query(date(2026, 4, 10), date(2026, 4, 12)))
    });
    // Then every hit lists the five components with those weights, values in
    // [0, 1], contributions weight × value adding up to the score
    assert_eq!(answer.total, 3);
    for hit in &answer.hits {
        let names: Vec<&str> = hit.breakdown.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            vec![
                "quality",
                "relevance",
                "personalisation",
                "price",
                "availability"
            ]
        );
        let reported: Vec<f64> = hit.breakdown.iter().map(|c| c.weight).collect();
        assert_eq!(reported, weights.as_array().to_vec());
        for c in &hit.breakdown {
            assert!((0.0..=1.0).contains(&c.value), "{} = {}", c.name, c.value);
            assert!((c.contribution - c.weight * c.value).abs() < 1e-12);
            assert!(c.inputs.is_object());
        }
        let sum: f64 = hit.breakdown.iter().map(|c| c.contribution).sum();
        assert!((sum - hit.score).abs() < 1e-9, "{sum} vs {}", hit.score);
    }
    // And the hits come best first
    let scores: Vec<f64> = answer.hits.iter().map(|h| h.score).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    // And the defaults are the config's when none are asked
    let default = world.search(query(date(2026, 4, 10), date(2026, 4, 12)));
    assert_eq!(default.hits[0].breakdown[0].weight, 0.25);
}

#[test]
fn the_price_component_prefers_the_cheaper_of_two_otherwise_equal_listings() {
    let mut world = World::new();
    let mut dear = apartment("Flat");
    dear.nightly_price = 12_000;
    world.listing("a-dear", dear);
    let mut cheap = apartment("Flat");
    cheap.nightly_price = 8_000;
    world.listing("b-cheap", cheap);
    let answer = world.search(query(date(2026, 4, 10), date(2026, 4, 12)));
    assert_eq!(ids(&answer), vec!["b-cheap", "a-dear"]);
    let price = |i: usize| answer.hits[i].breakdown[3].value;
    // The median of 80 and 120 is 100: 0.8 of it scores 0.7, 1.2 of it 0.3
    assert!((price(0) - 0.7).abs() < 1e-9, "{}", price(0));
    assert!((price(1) - 0.3).abs() < 1e-9, "{}", price(1));
    assert_eq!(
        answer.hits[1].breakdown[3].inputs["median_nightly_average"],
        10_000.0
    );
    // Every other component is the same
    for c in 0..5 {
        if c != 3 {
            assert_eq!(
                answer.hits[0].breakdown[c].value,
                answer.hits[1].breakdown[c].value
            );
        }
    }
}

#[test]
fn personalisation_prefers_what_the_guest_stayed_in_before() {
    // Given a guest who stayed in cabins with a sauna and looked at another cabin
    let mut world = World::new();
    let cabin = |title: &str, price: u64| {
        let mut d = apartment(title);
        d.property_type = "cabin".into();
        d.amenities = vec!["sauna".into(), "fireplace".into()];
        d.nightly_price = price;
        d
    };
    world.listing("old-cabin", cabin("Old cabin", 9_000));
    world.listing("seen-cabin", cabin("Seen cabin", 9_500));
    world.book("old-cabin", "anna", date(2026, 3, 10), date(2026, 3, 12));
    world.view("anna", "seen-cabin");
    // And now a cabin and an apartment alike in everything else the ranking reads
    world.listing("x-cabin", cabin("Cabin", 10_000));
    let mut flat = apartment("Flat");
    flat.amenities = vec!["wifi".into(), "tv".into()];
    world.listing("y-flat", flat);
    let (from, until) = (date(2026, 4, 20), date(2026, 4, 22));
    let mut q = query(from, until);
    q.radius_km = 1.0;
    let mut asked = request(q);
    asked.weights = Some(RankingWeights {
        quality: 0.0,
        relevance: 0.0,
        personalisation: 1.0,
        price: 0.0,
        availability: 0.0,
    });
    // When she searches, the cabins come first; when no one or a stranger does, it
    // is neutral
    asked.user_id = Some("anna".into());
    let answer = world.model.search(&asked);
    assert_eq!(ids(&answer)[..2], ["old-cabin", "seen-cabin"]);
    let score = |id: &str| {
        answer
            .hits
            .iter()
            .find(|h| h.listing_id == id)
            .unwrap()
            .score
    };
    assert!(
        score("x-cabin") > score("y-flat") + 0.3,
        "{} {}",
        score("x-cabin"),
        score("y-flat")
    );
    assert_eq!(answer.hits[0].breakdown[2].inputs["interactions"], 2);
    for user in [None, Some("stranger".to_string())] {
        asked.user_id = user;
        let answer = world.model.search(&asked);
        assert!(answer.hits.iter().all(|h| h.score == 0.5));
        assert_eq!(answer.hits[0].breakdown[2].inputs["profile"], false);
        // Ties go by listing id
        assert_eq!(
            ids(&answer),
            vec!["old-cabin", "seen-cabin", "x-cabin", "y-flat"]
        );
    }
}

#[test]
fn the_total_price_is_the_listing_s_own_and_price_max_reads_it_by_night() {
    // Given nightly 100, a cleaning fee of 30 and 150 on Saturday 11 April
    let mut world = World::new();
    let mut details = apartment("Altbau");
    details.cleaning_fee = 3_000;
    world.listing("a", details.clone());
    let saturday = CalendarChange::PriceSet {
        nightly_price: 15_000,
        suggested: false,
    };
    world.calendar("a", date(2026, 4, 11), date(2026, 4, 12), saturday.clone());
    let (from, until) = (date(2026, 4, 10), date(2026, 4, 13));
    // Then three nights cost what the listing's own calendar prices them at
    let mut calendar = Calendar::default();
    calendar.apply(date(2026, 4, 11), date(2026, 4, 12), &saturday);
    let expected = calendar.price(&details, from, until).total;
    let hit = &world.search(query(from, until)).hits[0];
    assert_eq!(hit.total_price, expected);
    assert_eq!(hit.total_price, 10_000 + 15_000 + 10_000 + 3_000);
    assert_eq!((hit.nights, hit.currency.as_str()), (3, "EUR"));
    // And price_max is against the average a night, fee included (126.67)
    let mut q = query(from, until);
    q.price_max = Some(12_667);
    assert_eq!(world.search(q.clone()).total, 1);
    q.price_max = Some(12_666);
    assert_eq!(world.search(q).total, 0);
}

#[test]
fn amenities_property_type_and_text_filter() {
    let mut world = World::new();
    let mut pool = apartment("Villa with pool");
    pool.property_type = "house".into();
    pool.amenities.push("Pool".into());
    pool.description = "Quiet garden, heated POOL and a sauna.".into();
    world.listing("villa", pool);
    world.listing("flat", apartment("City flat"));
    let (from, until) = (date(2026, 4, 10), date(2026, 4, 12));
    let mut q = query(from, until);
    q.amenities = vec!["pool".into(), "WIFI".into()];
    assert_eq!(ids(&world.search(q)), vec!["villa"]);
    let mut q = query(from, until);
    q.property_type = Some("apartment".into());
    assert_eq!(ids(&world.search(q)), vec!["flat"]);
    let mut q = query(from, until);
    q.text = Some("sauna beach".into());
    let answer = world.search(q);
    assert_eq!(ids(&answer), vec!["villa"]);
    let relevance = &answer.hits[0].breakdown[1].inputs;
    assert_eq!(relevance["text_words_found"], 1);
    assert_eq!(relevance["text_words_asked"], 2);
    let mut q = query(from, until);
    q.text = Some("beach".into());
    assert_eq!(world.search(q).total, 0);
}

#[test]
fn total_offset_and_limit_page_through_the_ranking() {
    let mut world = World::new();
    for i in 0..7 {
        let mut d = apartment(&format!("Flat {i}"));
        d.nightly_price = 10_000 + 500 * i;
        world.listing(&format!("f{i}"), d);
    }
    let all = world.search(query(date(2026, 4, 10), date(2026, 4, 12)));
    let mut page = request(query(date(2026, 4, 10), date(2026, 4, 12)));
    page.offset = 2;
    page.limit = 3;
    let answer = world.model.search(&page);
    assert_eq!(answer.total, 7);
    assert_eq!(ids(&answer), ids(&all)[2..5].to_vec());
    // Cheapest first, all else equal
    assert_eq!(ids(&all)[0], "f0");
    assert_eq!(ids(&all)[6], "f6");
}

#[test]
fn better_reviewed_and_more_reliable_hosts_rank_higher_on_quality() {
    let mut world = World::new();
    world.listing("good", apartment("Flat"));
    world.listing("poor", apartment("Flat"));
    for (id, rating) in [("good", 5), ("poor", 2)] {
        let stay = world.book(id, "guest", date(2026, 3, 5), date(2026, 3, 6));
        world.apply(ListingEvent::StayReviewed {
            listing_id: id.into(),
            stay_id: stay,
            guest: "guest".into(),
            rating,
            sub_ratings: None,
        });
    }
    let answer = world.search(query(date(2026, 4, 10), date(2026, 4, 12)));
    assert_eq!(ids(&answer), vec!["good", "poor"]);
    let quality = &answer.hits[0].breakdown[0];
    // The prior is the mean of all reviews (3.5), five of them
    assert_eq!(quality.inputs["prior_mean"], 3.5);
    assert!((quality.inputs["rating"].as_f64().unwrap() - (5.0 * 3.5 + 5.0) / 6.0).abs() < 1e-9);
}

#[test]
fn a_listing_in_auckland_is_searched_by_its_local_dates() {
    // Given a listing in Auckland booked for its local nights of 2 and 3 January
    let mut world = World::new();
    let mut details = apartment("Harbour flat");
    details.location = event_schemas::values::GeoPoint {
        lat: -36.8485,
        lon: 174.7633,
    };
    details.time_zone = "Pacific/Auckland".into();
    details.currency = "NZD".into();
    world.listing("akl", details);
    world.book("akl", "guest", date(2027, 1, 2), date(2027, 1, 4));
    let near_auckland = |world: &World, from, until| {
        let mut q = query(from, until);
        q.lat = -36.85;
        q.lon = 174.76;
        world.search(q)
    };
    // Then those local dates are taken and the next ones free
    assert_eq!(
        near_auckland(&world, date(2027, 1, 3), date(2027, 1, 4)).total,
        0
    );
    assert_eq!(
        near_auckland(&world, date(2027, 1, 4), date(2027, 1, 6)).total,
        1
    );
    // And when it is 11:00 UTC on 31 December, already 1 January in Auckland,
    // the night of 31 December has passed there and that of 1 January is tonight
    world.now = Utc.with_ymd_and_hms(2026, 12, 31, 11, 0, 0).unwrap();
    world.model.advance(world.now);
    let mut q = query(date(2026, 12, 31), date(2027, 1, 1));
    q.lat = -36.85;
    q.lon = 174.76;
    assert_eq!(world.search(q).total, 0);
    assert_eq!(
        near_auckland(&world, date(2027, 1, 1), date(2027, 1, 2)).total,
        1
    );
}

#[test]
fn availability_reads_the_nights_around_the_stay() {
    // Given two flats, one booked the two nights before the stay asked for
    let mut world = World::new();
    world.listing("a", apartment("Flat"));
    world.listing("b", apartment("Flat"));
    world.book("b", "guest", date(2026, 4, 8), date(2026, 4, 10));
    let answer = world.search(query(date(2026, 4, 10), date(2026, 4, 12)));
    let availability = |id: &str| {
        let hit = answer.hits.iter().find(|h| h.listing_id == id).unwrap();
        hit.breakdown[4].clone()
    };
    assert_eq!(availability("a").value, 1.0);
    assert!((availability("b").value - 4.0 / 6.0).abs() < 1e-12);
    assert_eq!(availability("b").inputs["free_nights_around"], 4);
    assert_eq!(ids(&answer), vec!["a", "b"]);
}

/// Given listings with weekly plans, blocked and opened ranges and stays changing
/// over five months (the clock crossing several 64-night words of the packed free
/// nights), every search finds exactly the listings whose own calendar has every
/// night of the stay open and unbooked, and reports the free nights around it as
/// that calendar counts them.
#[test]
fn search_reads_the_nights_the_listings_own_calendars_have_free() {
    let mut world = World::new();
    let plans = [
        vec![Weekday::Fri, Weekday::Sat],
        vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ],
        vec![Weekday::Sun],
    ];
    let mut calendars = Vec::new();
    for n in 0..6 {
        let mut details = apartment(&format!("Flat {n}"));
        if n < plans.len() {
            details.open_weekdays = plans[n].clone();
        }
        details.min_nights = 1;
        details.max_nights = 14;
        world.listing(&format!("l{n}"), details.clone());
        calendars.push((
            details,
            Calendar::default(),
            Vec::<(NaiveDate, NaiveDate)>::new(),
        ));
    }
    let mut random = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |below: u64| {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        random % below
    };
    for _month in 0..10 {
        let today = world.now.date_naive();
        for _ in 0..12 {
            let n = next(6) as usize;
            let id = format!("l{n}");
            let from = today + Duration::days(next(200) as i64);
            let until = from + Duration::days(1 + next(9) as i64);
            let (details, calendar, booked) = &mut calendars[n];
            match next(3) {
                0 | 1 => {
                    let change = if next(2) == 0 {
                        CalendarChange::Blocked
                    } else {
                        CalendarChange::Opened
                    };
                    calendar.apply(from, until, &change);
                    world.calendar(&id, from, until, change);
                }
                _ => {
                    let free = domain::stays::nights(from, until).all(|night| {
                        calendar.is_open(details, night)
                            && !booked.iter().any(|(a, b)| *a <= night && night < *b)
                    });
                    if free {
                        world.book(&id, "guest", from, until);
                        booked.push((from, until));
                    }
                }
            }
        }
        for _ in 0..40 {
            let check_in = today + Duration::days(next(220) as i64);
            let check_out = check_in + Duration::days(1 + next(5) as i64);
            let free = |n: usize, night: NaiveDate| {
                let (details, calendar, booked) = &calendars[n];
                night >= today
                    && calendar.is_open(details, night)
                    && !booked.iter().any(|(a, b)| *a <= night && night < *b)
            };
            let mut expected: Vec<String> = (0..6)
                .filter(|n| domain::stays::nights(check_in, check_out).all(|night| free(*n, night)))
                .map(|n| format!("l{n}"))
                .collect();
            let answer = world.search(query(check_in, check_out));
            let mut found = ids(&answer);
            found.sort();
            expected.sort();
            assert_eq!(found, expected, "{check_in}..{check_out} on {today}");
            for hit in &answer.hits {
                let n: usize = hit.listing_id[1..].parse().unwrap();
                let around = (1..=3)
                    .map(|d| check_in - Duration::days(d))
                    .chain((0..3).map(|d| check_out + Duration::days(d)))
                    .filter(|night| free(n, *night))
                    .count();
                let inputs = &hit.breakdown[4].inputs;
                assert_eq!(
                    inputs["free_nights_around"], around,
                    "{} for {check_in}..{check_out} on {today}",
                    hit.listing_id
                );
            }
        }
        world.pass(Duration::days(15));
    }
}
