//! A payment provider defined outside ecom-core (a wallet with its own API and callback
//! format) is registered and used, without changing ecom-core: the order records the
//! provider's reference, its callbacks pay the order, and a cancel is refunded at once.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use async_trait::async_trait;
use ecom::core::clock::Timestamp;
use ecom::core::id::OrderId;
use ecom::core::order::{Order, OrderStatus};
use ecom::core::payment::{
    Callback, Capture, PaymentEvent, PaymentEventKind, PaymentStatus, RefundOutcome,
};
use ecom::core::service::{CheckoutRequest, PlaceOrder, ShopOrder};
use ecom::core::testkit;
use ecom::{memory, Currency, Ecom, EcomConfig, Error, Money, PaymentProvider, Secret};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// A wallet: payments start with a wallet reference, callbacks carry a shared token, refunds
/// are instant.
#[derive(Debug, Default)]
struct Wallet {
    created: AtomicU32,
    refunded: AtomicU32,
}

#[async_trait]
impl PaymentProvider for Wallet {
    fn name(&self) -> &str {
        "wallet"
    }

    fn capture(&self) -> Capture {
        Capture::Online
    }

    async fn create(&self, order: &Order) -> Result<Option<String>, Error> {
        self.created.fetch_add(1, Ordering::SeqCst);
        Ok(Some(format!("wallet_{}", order.id)))
    }

    async fn refund(
        &self,
        _order: &Order,
        _amount: Money,
        _reference: &str,
    ) -> Result<RefundOutcome, Error> {
        self.refunded.fetch_add(1, Ordering::SeqCst);
        Ok(RefundOutcome::Refunded)
    }

    /// `x-wallet-token: let-me-in`, body `<event id> <order id> <minor units>`.
    fn verify(&self, callback: &Callback, _now: Timestamp) -> Result<PaymentEvent, Error> {
        if callback.header("x-wallet-token") != Some("let-me-in") {
            return Err(Error::validation("x-wallet-token", "is wrong"));
        }
        let text = String::from_utf8(callback.body.clone())
            .map_err(|_| Error::validation("body", "is not text"))?;
        let parts: Vec<&str> = text.split(' ').collect();
        let [id, order, minor] = parts.as_slice() else {
            return Err(Error::validation("body", "needs three words"));
        };
        Ok(PaymentEvent {
            id: (*id).to_owned(),
            kind: PaymentEventKind::Succeeded,
            order_id: OrderId::parse(order)?,
            amount: Money::new(
                minor
                    .parse()
                    .map_err(|_| Error::validation("amount", "is not a number"))?,
                Currency::USD,
            ),
            provider_ref: None,
            reference: None,
        })
    }
}

fn callback(token: &str, body: String) -> Callback {
    Callback {
        headers: vec![("X-Wallet-Token".to_owned(), token.to_owned())],
        body: body.into_bytes(),
    }
}

#[tokio::test]
async fn an_application_plugs_in_its_own_payment_provider() {
    let wallet = Arc::new(Wallet::default());
    let mut config = EcomConfig::new(Secret::random());
    config
        .payments
        .register(wallet.clone())
        .expect("a free name");
    assert!(
        config.payments.register(wallet.clone()).is_err(),
        "one provider per name"
    );
    let ecom = Ecom::new(memory::backend(), config);
    let (shop, _) = testkit::shop(&ecom).await;
    let product = testkit::published_product(&ecom, &shop, "7.50", 10).await;
    let (buyer, _) = testkit::customer(&ecom).await;
    let buy = |units: u32| {
        PlaceOrder::new(
            CheckoutRequest::new([ShopOrder::new(shop.clone(), [(product.id.clone(), units)])]),
            [("street", "1 Wallet Way")],
        )
        .with_payment("wallet")
    };

    let order = ecom.checkout.place_order(&buyer, buy(2)).await.unwrap();
    assert_eq!(order.payment.method, "wallet");
    assert_eq!(order.payment.status, PaymentStatus::Pending);
    let reference = format!("wallet_{}", order.id);
    assert_eq!(
        order.payment.provider_ref.as_deref(),
        Some(reference.as_str())
    );
    let stored = ecom.orders.get(&buyer, &order.id).await.unwrap();
    assert_eq!(
        stored.payment.provider_ref, order.payment.provider_ref,
        "kept"
    );
    assert_eq!(wallet.created.load(Ordering::SeqCst), 1);

    let wrong = ecom
        .payments
        .callback(
            "wallet",
            &callback("guess", format!("e1 {} 1500", order.id)),
        )
        .await;
    assert!(matches!(wrong, Err(Error::Validation { .. })), "{wrong:?}");
    let paid = ecom
        .payments
        .callback(
            "wallet",
            &callback("let-me-in", format!("e1 {} 1500", order.id)),
        )
        .await
        .unwrap();
    assert_eq!(paid.payment.status, PaymentStatus::Paid);

    let cancelled = ecom.orders.cancel(&buyer, &order.id).await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(
        cancelled.payment.status,
        PaymentStatus::Refunded,
        "refunded at once"
    );
    assert_eq!(wallet.refunded.load(Ordering::SeqCst), 1);
    assert_eq!(
        ecom.inventory
            .get(&shop, &product.id)
            .await
            .unwrap()
            .total
            .stock,
        10
    );
}
