//! What units of an order line are worth when they come back: the rule that makes partial
//! refunds add up exactly.
//!
//! A line of `q` units at unit price `p` with discount share `s` cost `p·q − s`. Its first `k`
//! units are worth `p·k − ⌊s·k / q⌋`: at `k = q` that is exactly what the line cost, and each
//! refund pays the difference between the worth of the units refunded after it and before it.
//! However the units of a line come back (one by one, in any steps), the refunds of the line add
//! up to what it cost, never a minor unit more; and the lines' shares add up to the shop's
//! discount ([`Discount::shares`](crate::discount::Discount::shares)), so refunding every line
//! gives back what was paid for them.

use crate::error::{Error, Result};
use crate::money::Money;
use crate::order::OrderLine;

/// What the first `units` units of `line` are worth (see the module).
pub fn worth_of_first(line: &OrderLine, units: u32) -> Result<Money> {
    if units > line.quantity {
        return Err(Error::validation(
            "quantity",
            format!("is more than the line's {} units", line.quantity),
        ));
    }
    let gross = line.unit_price.checked_mul(u64::from(units))?;
    let share = line.discount_share.map_or(0, |s| s.minor.max(0));
    let taken = i128::from(share) * i128::from(units) / i128::from(line.quantity.max(1));
    let taken = i64::try_from(taken).map_err(|_| Error::validation("discount", "is too large"))?;
    gross.checked_sub(Money {
        minor: taken,
        currency: gross.currency,
    })
}

/// What `units` more units of `line` are worth when `before` of its units were refunded
/// already: the worth of the first `before + units` less that of the first `before`.
pub fn refund_value(line: &OrderLine, before: u32, units: u32) -> Result<Money> {
    let after = before
        .checked_add(units)
        .filter(|after| *after <= line.quantity)
        .ok_or_else(|| {
            Error::validation(
                "quantity",
                format!("is more than the line's {} units", line.quantity),
            )
        })?;
    worth_of_first(line, after)?.checked_sub(worth_of_first(line, before)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{ProductId, ShopId};
    use crate::money::Currency;
    use crate::order::OrderStatus;
    use proptest::prelude::*;

    fn line(quantity: u32, price: i64, share: i64) -> OrderLine {
        let usd = Currency::from_code("USD").unwrap();
        OrderLine {
            shop_id: ShopId::generate(),
            product_id: ProductId::generate(),
            name: "line".into(),
            quantity,
            unit_price: Money {
                minor: price,
                currency: usd,
            },
            status: OrderStatus::Delivered,
            returned: None,
            model_id: None,
            model_name: None,
            discount_share: (share > 0).then_some(Money {
                minor: share,
                currency: usd,
            }),
            delivered_at: None,
        }
    }

    proptest! {
        #[test]
        fn refunds_in_any_steps_add_up_to_what_the_line_cost(
            quantity in 1u32..50,
            price in 1i64..100_000,
            share_percent in 0i64..=100,
            cuts in proptest::collection::vec(1u32..50, 0..20),
        ) {
            let share = price * i64::from(quantity) * share_percent / 100;
            let line = line(quantity, price, share);
            let cost = price * i64::from(quantity) - share;
            let (mut before, mut refunded) = (0u32, 0i64);
            for cut in cuts.into_iter().chain([quantity]) {
                let units = cut.min(quantity - before);
                let value = refund_value(&line, before, units).unwrap();
                prop_assert!(value.minor >= 0);
                prop_assert!(value.minor <= price * i64::from(units));
                refunded += value.minor;
                before += units;
                prop_assert!(refunded <= cost);
            }
            prop_assert_eq!(before, quantity);
            prop_assert_eq!(refunded, cost);
        }
    }

    #[test]
    fn more_than_the_line_is_refused() {
        let line = line(3, 1000, 100);
        assert!(refund_value(&line, 2, 2).is_err());
        assert!(refund_value(&line, u32::MAX, 1).is_err());
        assert_eq!(refund_value(&line, 0, 3).unwrap().minor, 2900);
        assert_eq!(refund_value(&line, 0, 1).unwrap().minor, 1000 - 33);
    }
}
