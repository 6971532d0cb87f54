//! Every reason a command may be refused, as a type: code that reacts to a refusal
//! matches a variant, never a string. Each has the stable code the API shows (the
//! last part of a problem's `type`).

macro_rules! refusals {
    ($($variant:ident => $code:literal,)*) => {
        /// Why a command was refused.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Refusal {
            $($variant,)*
        }

        impl Refusal {
            /// The stable, machine-readable code, e.g. `insufficient_stock`.
            pub fn code(self) -> &'static str {
                match self {
                    $(Refusal::$variant => $code,)*
                }
            }

            /// Every refusal there is.
            pub const ALL: &'static [Refusal] = &[$(Refusal::$variant,)*];
        }
    };
}

refusals! {
    AllHeld => "all_held",
    AllocationUnavailable => "allocation_unavailable",
    BuyerHoldLimit => "buyer_hold_limit",
    ExceedsHold => "exceeds_hold",
    FlashSaleExists => "flash_sale_exists",
    HoldExists => "hold_exists",
    HoldExpired => "hold_expired",
    HoldNeverExpires => "hold_never_expires",
    InsufficientStock => "insufficient_stock",
    InsufficientUnits => "insufficient_units",
    InvalidCommand => "invalid_command",
    KeyExists => "key_exists",
    MixedCurrencies => "mixed_currencies",
    NotParked => "not_parked",
    NothingReserved => "nothing_reserved",
    OrderState => "order_state",
    OutsideSaleWindow => "outside_sale_window",
    PartlySold => "partly_sold",
    PickupWarehouseShort => "pickup_warehouse_short",
    ProductExists => "product_exists",
    PurchaseLimit => "purchase_limit",
    QuoteExpired => "quote_expired",
    QuoteForged => "quote_forged",
    QuoteMalformed => "quote_malformed",
    QuoteNotYetValid => "quote_not_yet_valid",
    QuoteOrderValue => "quote_order_value",
    QuoteOtherBuyer => "quote_other_buyer",
    QuoteOtherCaller => "quote_other_caller",
    QuoteOtherCell => "quote_other_cell",
    QuoteOtherCurrency => "quote_other_currency",
    ReservationExists => "reservation_exists",
    ReservationExpired => "reservation_expired",
    ReservationNotHeld => "reservation_not_held",
    ReservationNotRequested => "reservation_not_requested",
    ReservationTooOld => "reservation_too_old",
    ReservedLinesMismatch => "reserved_lines_mismatch",
    SoldOut => "sold_out",
    StockShort => "stock_short",
    TooManyShipments => "too_many_shipments",
    TotalTooLarge => "total_too_large",
    UnitsGone => "units_gone",
    UnknownCity => "unknown_city",
    UnknownFlashOrder => "unknown_flash_order",
    UnknownFlashSale => "unknown_flash_sale",
    UnknownHold => "unknown_hold",
    UnknownKey => "unknown_key",
    UnknownOrder => "unknown_order",
    UnknownProduct => "unknown_product",
    UnknownReservation => "unknown_reservation",
    UnknownWarehouse => "unknown_warehouse",
    ListingExists => "listing_exists",
    ListingNotBookable => "listing_not_bookable",
    NightsClosed => "nights_closed",
    NotYourListing => "not_your_listing",
    StayExists => "stay_exists",
    StayNightsTaken => "stay_nights_taken",
    StayState => "stay_state",
    UnknownListing => "unknown_listing",
    UnknownStay => "unknown_stay",
    WarehouseExists => "warehouse_exists",
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Tests and logs may compare a refusal with its code.
impl PartialEq<&str> for Refusal {
    fn eq(&self, code: &&str) -> bool {
        self.code() == *code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for refusal in Refusal::ALL {
            let code = refusal.code();
            assert!(seen.insert(code), "{code} twice");
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
        }
    }
}
