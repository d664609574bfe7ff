//! The conformance suite: plain `pub async fn case(backend: &Backend)` functions that every
//! backend must pass. A backend runs all of them with [`conformance_suite!`](crate::conformance_suite):
//!
//! ```no_run
//! async fn backend() -> ecom_core::Backend { ecom_core::memory::backend() }
//! ecom_core::conformance_suite!(backend);
//! ```
//!
//! The factory is called once per case and must return a fresh, empty backend (anything that
//! is `AsRef<Backend>`, so a fixture can clean up in `Drop`). Cases panic on failure, like tests.
//! The calling crate needs `tokio` with the `macros` and `rt-multi-thread` features.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod accounts;
pub mod api_keys;
pub mod auth;
pub mod carts;
pub mod catalogue;
pub mod checkout;
pub mod crash;
pub mod discounts;
pub mod events;
pub mod gate;
pub mod holes;
pub mod inventory;
pub mod lock;
pub mod orders;
pub mod payments;
pub mod probe;
pub mod process;
pub mod products;
pub mod returns;
pub mod sim;
pub mod variants;
pub mod webhooks;

use crate::account::AccountKind;
use crate::backend::Backend;
use crate::id::{CustomerId, ShopId};
use crate::product::Product;
use crate::secret::Secret;
use crate::service::{Ecom, EcomConfig, NewProduct, Session, SignupInput};
use std::future::Future;
use std::sync::Arc;

/// Runs `f(0)`, ..., `f(n - 1)` as `n` tasks on the current (multi-thread) runtime, all released
/// at once by a barrier, and returns their outputs in order. A task that panics fails the
/// calling test: a crash is never a lost race.
pub async fn rush<T, F, Fut>(n: usize, f: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            let work = f(i);
            tokio::spawn(async move {
                barrier.wait().await;
                work.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for (i, task) in futures::future::join_all(tasks)
        .await
        .into_iter()
        .enumerate()
    {
        out.push(task.unwrap_or_else(|e| panic!("rushing task {i} died: {e}")));
    }
    out
}

/// The seed of the suite's yield points: `ECOM_TEST_SEED` if set, else a fixed one.
pub fn seed() -> u64 {
    std::env::var("ECOM_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_ec0f)
}

/// `backend` with seeded yield points around every port call, so that a service's read and
/// its conditional write interleave with other tasks' on any backend (the memory backend
/// completes each call on its first poll and would otherwise never interleave).
pub fn interleaved(backend: &Backend) -> Backend {
    probe::Probe::new().with_jitter(seed(), 3).wrap(backend)
}

/// Asserts that exactly `winners` of `results` are `Ok`, and that every other one is an error
/// accepted by `expected_loss` (any other error fails, naming it).
pub fn assert_race<T: std::fmt::Debug>(
    results: &[crate::Result<T>],
    winners: usize,
    expected_loss: impl Fn(&crate::Error) -> bool,
    what: &str,
) {
    let won = results.iter().filter(|r| r.is_ok()).count();
    for result in results {
        if let Err(e) = result {
            assert!(
                expected_loss(e),
                "{what}: a loser failed unexpectedly: {e:?}"
            );
        }
    }
    assert_eq!(won, winners, "{what}: winners");
}

impl AsRef<Backend> for Backend {
    fn as_ref(&self) -> &Backend {
        self
    }
}

/// The services over `backend` with the suite's fixed configuration.
pub fn ecom(backend: &Backend) -> Ecom {
    Ecom::new(
        backend.clone(),
        EcomConfig::new(Secret::new(b"conformance-suite-api-key-secret".to_vec())),
    )
}

/// A unique email address.
pub fn email() -> String {
    format!("{}@test.example", uuid::Uuid::new_v4().simple())
}

/// The password every suite account uses.
pub const PASSWORD: &str = "s3cret-passw0rd";

/// Signs up an account of `kind`.
pub async fn signup(ecom: &Ecom, kind: AccountKind) -> Session {
    ecom.auth
        .signup(
            kind,
            SignupInput {
                name: "Suite Account".into(),
                email: email(),
                password: PASSWORD.into(),
            },
        )
        .await
        .expect("signup")
}

/// Signs up a shop.
pub async fn shop(ecom: &Ecom) -> (ShopId, Session) {
    let session = signup(ecom, AccountKind::Shop).await;
    (session.account.id.clone().into(), session)
}

/// Signs up a customer.
pub async fn customer(ecom: &Ecom) -> (CustomerId, Session) {
    let session = signup(ecom, AccountKind::Customer).await;
    (session.account.id.clone().into(), session)
}

/// A `NewProduct` of kind Clothing at `price` (major units, USD).
pub fn new_product(name: &str, price: &str, quantity: u32) -> NewProduct {
    let price =
        crate::money::Money::parse_major(&price.into(), crate::money::Currency::USD, "price")
            .expect("a valid price");
    NewProduct::new(name, "Clothing", price, quantity)
        .with_thumb("thumb.png")
        .with_description(format!("{name} made for the conformance suite"))
        .with_attribute("brand", "Suite")
        .with_attribute("size", "M")
}

/// Creates and publishes a product of `shop` with `quantity` in stock.
pub async fn published_product(ecom: &Ecom, shop: &ShopId, price: &str, quantity: u32) -> Product {
    let product = ecom
        .products
        .create(shop, new_product("Suite tee", price, quantity))
        .await
        .expect("create product");
    ecom.products
        .publish(shop, &product.id)
        .await
        .expect("publish")
}

/// Runs every conformance case as its own `#[tokio::test]` on the backends made by the async
/// factory function `$factory` (called as `super::$factory().await`).
#[macro_export]
macro_rules! conformance_suite {
    ($factory:ident) => {
        $crate::conformance_suite!(@cases $factory;
            accounts { insert_get_find, duplicate_email_conflicts_under_concurrency },
            api_keys { insert_find_disable, permissions_and_hashed_storage, bootstrap_key_is_idempotent },
            auth {
                signup_login_authenticate, wrong_password_is_refused, bad_signup_input_writes_nothing,
                tampered_expired_and_alg_none_tokens_are_refused, refresh_rotates_and_reuse_revokes,
                concurrent_refresh_with_one_token_revokes, logout_ends_session,
                session_keys_need_the_server_secret, expired_sessions_are_swept,
                key_store_ports
            },
            products {
                insert_get_many_replace, list_filters_sorts_and_pages, create_makes_inventory,
                bad_product_input_writes_nothing, update_merges_and_revalidates_attributes,
                publish_controls_visibility, shops_touch_only_their_own, keyword_search
            },
            catalogue {
                filters_and_sorts_match_brute_force, facets_and_categories_match_brute_force,
                filters_and_sorts_match_brute_force_on_the_store,
                facets_and_categories_match_brute_force_on_the_store,
                storefront_counts_published_products, units_sold_and_stock_follow_orders,
                bad_catalogue_queries_are_refused, cached_answers_follow_product_writes,
                the_read_model_shows_every_processs_writes,
                the_read_model_agrees_with_the_store_after_a_rush,
                rebuild_repairs_the_stock_copies
            },
            variants {
                models_have_their_own_price_and_stock, thousand_orders_across_models,
                lines_name_a_model_exactly_when_the_product_has_models,
                cancel_restocks_the_right_model, returns_restock_the_right_model,
                adjustments_per_model,
                patch_adds_changes_and_removes_models, bad_variants_are_refused
            },
            inventory {
                add_stock_and_owner_checks, holds_move_once,
                stale_holds_are_listed_and_records_deleted, batched_moves_across_products,
                concurrent_reserves_never_oversell, concurrent_releases_and_settles_move_once,
                adjust_up_down_and_to_zero, adjust_below_zero_changes_nothing,
                adjustments_racing_checkouts_keep_the_invariant,
                adjustment_history_pages_newest_first_and_is_bounded,
                concurrent_retries_of_one_adjustment_apply_it_once
            },
            carts { add_adjust_remove, cart_service_flow, checkout_empties_bought_lines },
            discounts {
                insert_find_list_delete, redeem_limits_hold_under_concurrency,
                uses_open_settle_and_return, redeem_only_inside_the_window,
                discount_service_refuses_bad_input, discount_service_flow
            },
            checkout {
                review_uses_server_prices, thousand_orders_atomic,
                thousand_orders_lock_then_reserve, oversized_order_is_refused_cleanly,
                multi_line_orders_are_all_or_nothing, discount_limits_hold_under_concurrent_checkouts,
                idempotency_key_gives_one_order, round_trips_per_order
            },
            crash {
                faults_atomic, faults_lock_then_reserve, faults_gate,
                recovery_backs_off_a_failing_order, a_slow_run_cannot_commit_after_recovery,
                a_dead_superseded_claimant_does_not_block_recovery
            },
            orders {
                insert_get_list_replace, keys_and_voids, cancel_restocks_exactly_once,
                orders_are_private,
                shops_update_only_their_lines
            },
            returns {
                returns_follow_the_table, refunds_add_up_to_what_was_paid,
                racing_moves_and_sweeps_act_once, online_refunds_follow_the_provider
            },
            payments {
                payment_moves_follow_the_rules, webhook_signatures_are_checked,
                expiry_races_a_success, concurrent_sweeps_expire_each_order_once,
                shops_see_their_orders
            },
            lock { mutual_exclusion, expiry_and_owner_only_release, fencing_tokens_increase },
            events {
                each_change_emits_its_events_once, no_event_without_its_change,
                relay_faults_lose_no_event, concurrent_changes_keep_each_aggregates_order,
                stock_and_code_events_are_told_once, low_stock_follows_each_products_threshold,
                retention_purges_only_old_events,
                subscriptions_and_sinks_resume
            },
            holes {
                a_checkout_total_is_at_most_what_a_payment_carries,
                a_refund_of_a_live_order_cancels_it, returned_units_of_a_removed_model_stay_off_sale,
                in_stock_listings_do_not_scan_the_stock, a_cancel_survives_an_unrelated_change,
                failing_refunds_do_not_hold_up_expiries, removing_a_model_races_its_checkout,
                a_catalogue_fill_cannot_outlive_a_write, recovery_keeps_to_the_lease
            },
            webhooks {
                each_event_reaches_each_matching_endpoint_once,
                dispatch_twice_or_concurrently_makes_no_duplicate,
                racing_workers_deliver_each_delivery_once,
                claims_given_back_over_the_limit_lose_no_result,
                a_flaky_receiver_gets_everything_with_backoff, gone_disables_the_endpoint,
                continuous_failure_disables_after_the_period,
                each_aggregate_keeps_its_order_per_endpoint, rotated_secrets_sign_for_a_day,
                a_crashed_workers_lease_lapses, retention_purges_only_old_finished_deliveries,
                declared_platform_endpoints_are_ensured_once,
                endpoint_urls_and_limits_are_checked, retries_pings_and_lists_are_the_owners
            },
            gate {
                admits_all_or_nothing, heal_never_counts_twice,
                concurrent_admissions_never_exceed_the_count,
                thousand_orders_through_the_gate, a_gate_out_of_sync_never_oversells,
                an_undercounting_gate_heals_under_a_rush, cancels_and_restocks_reach_the_gate,
                take_floors_at_zero_and_moves_the_epoch, adjustments_reach_the_gate,
                a_failing_gate_does_not_fail_an_adjustment
            },
        );
    };
    (@cases $factory:ident; $($module:ident { $($case:ident),* $(,)? }),* $(,)?) => {
        $(
            mod $module {
                $(
                    #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $case() {
                        let fixture = super::$factory().await;
                        let backend: &$crate::Backend = ::std::convert::AsRef::as_ref(&fixture);
                        $crate::testkit::$module::$case(backend).await;
                    }
                )*
            }
        )*
    };
}
