//! The `ecom-server` binary: starts with no configuration, prints a development key, serves,
//! stops cleanly on SIGTERM; `apikey create` and configuration errors are clear.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

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
    let mut child = server()
        .env("ECOM_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
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
}
