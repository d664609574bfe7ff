//! The `ecom-server` binary: starts with no configuration, prints a development key, serves,
//! stops cleanly on SIGTERM; `apikey create` and configuration errors are clear.

use ecom_core::api_key::Permission;
use ecom_core::{Ecom, EcomConfig, Secret};
use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

/// A server process started by a test: killed (and reaped) when dropped, so a failing
/// assertion never leaves it running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Running {
    /// Spawns `command` with stdout piped; returns it and its stdout lines.
    fn spawn(mut command: Command) -> (Self, Lines<BufReader<ChildStdout>>) {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        (Running(child), BufReader::new(stdout).lines())
    }
}

fn server() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecom-server"));
    for (name, _) in std::env::vars() {
        if name.starts_with("ECOM_") {
            command.env_remove(name);
        }
    }
    command.env("RUST_LOG", "warn");
    command
}

#[tokio::test]
async fn starts_without_configuration_and_stops_on_sigterm() {
    let mut command = server();
    command.env("ECOM_BIND", "127.0.0.1:0");
    let (mut running, mut lines) = Running::spawn(command);
    let child = &mut running.0;
    let key_line = lines.next().unwrap().unwrap();
    let key = key_line
        .strip_prefix("api key: ")
        .expect(&key_line)
        .to_owned();
    assert!(key.starts_with("ecom_") && key.len() == 69, "{key}");
    let listen_line = lines.next().unwrap().unwrap();
    let base = listen_line
        .strip_prefix("listening on ")
        .expect(&listen_line)
        .to_owned();

    let client = reqwest::Client::new();
    let listed = client
        .get(format!("{base}/v1/api/products/all"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let body: serde_json::Value = listed.json().await.unwrap();
    assert_eq!(body["metadata"], serde_json::json!([]));
    let refused = client
        .get(format!("{base}/v1/api/products/all"))
        .header("x-api-key", "ecom_wrong-key-000000000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut waited = 0;
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        waited += 1;
        assert!(waited < 100, "the server did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(exit.success(), "{exit:?}");
}

/// `apikey create` on MongoDB stores a key with both permissions; a server on the same
/// database accepts it; once the key is disabled the server refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apikey_create_on_mongo_serves_and_disables() {
    let db = ecom_mongo::testkit::TestDatabase::new()
        .await
        .expect("a MongoDB for tests (ECOM_TEST_MONGO_URI or secantusd-rs)");
    let secret = "binary-test-secret-0123456789";
    let env = [
        ("ECOM_MONGO_URI", db.uri().to_owned()),
        ("ECOM_MONGO_DB", db.database().name().to_owned()),
        ("ECOM_SECRET", secret.to_owned()),
    ];
    let mut create = server();
    create.args(["apikey", "create", "--permissions", "0000,1111"]);
    create.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let output = create.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(key.starts_with("ecom_") && key.len() == 69, "{key}");
    // The stored key holds exactly the two permissions.
    let ecom = Ecom::new(
        db.backend().clone(),
        EcomConfig::new(Secret::new(secret.as_bytes())),
    );
    let stored = ecom.api_keys.check(&key, Permission::P1111).await.unwrap();
    assert_eq!(
        stored.permissions,
        vec![Permission::P0000, Permission::P1111]
    );

    let mut command = server();
    command.env("ECOM_BIND", "127.0.0.1:0");
    command.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let (_running, mut lines) = Running::spawn(command);
    let listen_line = lines.next().unwrap().unwrap();
    let base = listen_line
        .strip_prefix("listening on ")
        .expect(&listen_line)
        .to_owned();
    let client = reqwest::Client::new();
    let list = |key: String| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            client
                .get(format!("{base}/v1/api/products/all"))
                .header("x-api-key", key)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(list(key.clone()).await, 200);
    ecom.api_keys.disable(&stored.id).await.unwrap();
    assert_eq!(list(key.clone()).await, 403);
}

/// `gate rebuild --product ID` rebuilds a product's count in the servers' Redis gate from the
/// store: a gate counting 0 over a stock of 7 counts 7 after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gate_rebuild_restores_a_product_count_from_the_store() {
    let db = ecom_mongo::testkit::TestDatabase::new()
        .await
        .expect("a MongoDB for tests (ECOM_TEST_MONGO_URI or secantusd-rs)");
    let url = tokio::task::spawn_blocking(ecom_redis::testkit::redis_url)
        .await
        .unwrap()
        .expect("a Redis for tests");
    let prefix = ecom_redis::testkit::Prefix::new(&url);
    let gate = ecom_redis::RedisStockGate::connect(&url, prefix.as_str())
        .await
        .unwrap();
    let backend = db.backend().clone().with_gate(std::sync::Arc::new(gate));
    let secret = "binary-test-secret-0123456789";
    let ecom = Ecom::new(
        backend.clone(),
        EcomConfig::new(Secret::new(secret.as_bytes())),
    );
    let (_, product) = tee(&ecom, "Gate Tee").await;
    backend.gate.seed(&product.id, 0).await.unwrap();
    assert_eq!(backend.gate.available(&product.id).await.unwrap(), Some(0));
    let env = [
        ("ECOM_MONGO_URI", db.uri()),
        ("ECOM_MONGO_DB", db.database().name()),
        ("ECOM_SECRET", secret),
        ("ECOM_REDIS_URL", url.as_str()),
        ("ECOM_REDIS_PREFIX", prefix.as_str()),
    ];
    assert_eq!(
        printed(&["gate", "rebuild", "--product", product.id.as_str()], &env),
        format!("gate count of {}: 7", product.id)
    );
    assert_eq!(backend.gate.available(&product.id).await.unwrap(), Some(7));
    // Without --product: every counted product is reconciled.
    backend.gate.reset(&product.id).await.unwrap();
    backend.gate.seed(&product.id, 2).await.unwrap();
    assert_eq!(
        printed(&["gate", "rebuild"], &env),
        "gate reconciled: 1 products checked, 1 corrected, 0 busy"
    );
    assert_eq!(backend.gate.available(&product.id).await.unwrap(), Some(7));
    // Without the servers' gate, or for a product that is not there: a clear error.
    let (ok, err) = run(&["gate", "rebuild", "--product", product.id.as_str()], &[]);
    assert!(
        !ok && err.contains("needs the servers' store and gate"),
        "{err}"
    );
    let (ok, err) = run(&["gate", "rebuild", "--product", "nope"], &[]);
    assert!(!ok && err.contains("not a product id"), "{err}");
}

/// `catalogue rebuild` rewrites a published product's units sold and in-stock flag from its
/// stock record when the copy on the product disagrees, and says how many it corrected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_rebuild_repairs_the_copies_of_stock() {
    let db = ecom_mongo::testkit::TestDatabase::new()
        .await
        .expect("a MongoDB for tests (ECOM_TEST_MONGO_URI or secantusd-rs)");
    let backend = db.backend().clone();
    let secret = "binary-test-secret-0123456789";
    let ecom = Ecom::new(
        backend.clone(),
        EcomConfig::new(Secret::new(secret.as_bytes())),
    );
    let (shop, product) = tee(&ecom, "Rebuilt Tee").await;
    let product = ecom.products.publish(&shop, &product.id).await.unwrap();
    ecom_core::testkit::catalogue::overwrite_stock_copy(&backend, &product.id, 12, false).await;
    let stored = backend.products.get(&product.id).await.unwrap().unwrap();
    assert_eq!((stored.sold, stored.in_stock), (12, false));
    let env = [
        ("ECOM_MONGO_URI", db.uri()),
        ("ECOM_MONGO_DB", db.database().name()),
        ("ECOM_SECRET", secret),
    ];
    assert_eq!(
        printed(&["catalogue", "rebuild"], &env),
        "catalogue rebuilt: 1 published products checked, 1 corrected"
    );
    let stored = backend.products.get(&product.id).await.unwrap().unwrap();
    assert_eq!((stored.sold, stored.in_stock), (0, true));
    // Nothing left to correct; without the servers' store, a clear error.
    assert_eq!(
        printed(&["catalogue", "rebuild"], &env),
        "catalogue rebuilt: 1 published products checked, 0 corrected"
    );
    let (ok, err) = run(&["catalogue", "rebuild"], &[]);
    assert!(!ok && err.contains("needs the servers' store"), "{err}");
}

/// A new shop and its 7 units of a tee named `name` (a draft).
async fn tee(ecom: &Ecom, name: &str) -> (ecom_core::id::ShopId, ecom_core::product::Product) {
    let shop = ecom_core::id::ShopId::generate();
    let product = ecom
        .products
        .create(
            &shop,
            ecom_core::service::NewProduct::new(
                name,
                "Clothing",
                ecom_core::Money::new(500, ecom_core::Currency::USD),
                7,
            )
            .with_attribute("brand", "Acme")
            .with_attribute("size", "M"),
        )
        .await
        .unwrap();
    (shop, product)
}

/// What the server prints with `args` and `env` (trimmed), asserting it succeeded.
fn printed(args: &[&str], env: &[(&str, &str)]) -> String {
    let output = server()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn run(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut command = server();
    command.args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn command_line_errors_are_clear() {
    let (ok, err) = run(&["apikey", "create", "--permissions", "0000,1111"], &[]);
    assert!(!ok);
    assert!(err.contains("needs a persistent backend"), "{err}");
    let (ok, err) = run(&["apikey", "create", "--permissions", "9999"], &[]);
    assert!(!ok);
    assert!(err.contains("unknown permission"), "{err}");
    let (ok, err) = run(&["serve"], &[("ECOM_MONGO_URI", "mongodb://127.0.0.1:1")]);
    assert!(!ok);
    assert!(err.contains("ECOM_SECRET is required"), "{err}");
    let (ok, err) = run(&["serve"], &[("ECOM_REDIS_URL", "not a url")]);
    assert!(!ok);
    assert!(err.contains("cannot use Redis"), "{err}");
    let (ok, err) = run(&["serve"], &[("ECOM_CURRENCY", "ABC")]);
    assert!(!ok);
    assert!(err.contains("unknown currency"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ecom.toml");
    std::fs::write(&file, "bind = \"not an address\"\n").unwrap();
    let (ok, err) = run(&["--config", file.to_str().unwrap()], &[]);
    assert!(!ok);
    assert!(err.contains("ecom.toml"), "{err}");
    // The layers merge before the check: a fee with cents is wrong in the file's yen, and
    // right once the environment switches the currency back to dollars.
    std::fs::write(&file, "currency = \"JPY\"\nfee_ship = 2.5\n").unwrap();
    let apikey = ["--config", file.to_str().unwrap(), "apikey", "create"];
    let apikey = [&apikey[..], &["--permissions", "0000"]].concat();
    let (ok, err) = run(&apikey, &[]);
    assert!(!ok);
    assert!(err.contains("ECOM_FEE_SHIP"), "{err}");
    let (ok, err) = run(&apikey, &[("ECOM_CURRENCY", "USD")]);
    assert!(!ok);
    assert!(err.contains("needs a persistent backend"), "{err}");
}
