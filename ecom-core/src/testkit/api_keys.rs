//! Cases for [`ApiKeyRepo`](crate::api_key::ApiKeyRepo) and the API-key service.

use super::ecom;
use crate::api_key::{ApiKey, Permission};
use crate::backend::Backend;
use crate::error::Error;
use crate::id::ApiKeyId;

pub async fn insert_find_disable(backend: &Backend) {
    let key = ApiKey {
        id: ApiKeyId::generate(),
        key_hash: hex::encode(uuid::Uuid::new_v4().as_bytes()),
        permissions: vec![Permission::P0000, Permission::P1111],
        active: true,
        created_at: backend.clock.now(),
    };
    backend.api_keys.insert(&key).await.unwrap();
    let dup = ApiKey {
        id: ApiKeyId::generate(),
        ..key.clone()
    };
    assert!(matches!(
        backend.api_keys.insert(&dup).await,
        Err(Error::AlreadyExists { .. })
    ));
    assert_eq!(
        backend.api_keys.find_by_hash(&key.key_hash).await.unwrap(),
        Some(key.clone())
    );
    assert!(backend.api_keys.find_by_hash("00").await.unwrap().is_none());
    assert!(backend.api_keys.set_active(&key.id, false).await.unwrap());
    let stored = backend.api_keys.find_by_hash(&key.key_hash).await.unwrap();
    assert_eq!(stored.map(|k| k.active), Some(false));
    assert!(!backend
        .api_keys
        .set_active(&ApiKeyId::generate(), false)
        .await
        .unwrap());
}

pub async fn permissions_and_hashed_storage(backend: &Backend) {
    let ecom = ecom(backend);
    let created = ecom.api_keys.create(vec![Permission::P1111]).await.unwrap();
    // Stored as an HMAC, never as the clear key.
    assert_ne!(created.record.key_hash, created.key);
    assert!(!created.record.key_hash.contains(&created.key));
    assert!(backend
        .api_keys
        .find_by_hash(&created.key)
        .await
        .unwrap()
        .is_none());
    let stored = backend
        .api_keys
        .find_by_hash(&ecom.api_keys.hash(&created.key))
        .await
        .unwrap()
        .expect("stored under its hash");
    assert_eq!(stored.permissions, vec![Permission::P1111]);
    // Permission checks.
    ecom.api_keys
        .check(&created.key, Permission::P1111)
        .await
        .unwrap();
    assert!(matches!(
        ecom.api_keys.check(&created.key, Permission::P0000).await,
        Err(Error::PermissionDenied)
    ));
    assert!(matches!(
        ecom.api_keys.check("ecom_unknown", Permission::P0000).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        ecom.api_keys.check("", Permission::P0000).await,
        Err(Error::Forbidden(_))
    ));
    // A disabled key is refused like an unknown one.
    ecom.api_keys.disable(&created.record.id).await.unwrap();
    assert!(matches!(
        ecom.api_keys.check(&created.key, Permission::P1111).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        ecom.api_keys.create(vec![]).await,
        Err(Error::Validation { .. })
    ));
}

pub async fn bootstrap_key_is_idempotent(backend: &Backend) {
    let ecom = ecom(backend);
    let clear = format!("bootstrap-{}", uuid::Uuid::new_v4().simple());
    let first = ecom
        .api_keys
        .ensure(&clear, vec![Permission::P0000])
        .await
        .unwrap();
    let second = ecom
        .api_keys
        .ensure(&clear, vec![Permission::P0000])
        .await
        .unwrap();
    assert_eq!(first.id, second.id);
    ecom.api_keys
        .check(&clear, Permission::P0000)
        .await
        .unwrap();
    assert!(matches!(
        ecom.api_keys.ensure("short", vec![Permission::P0000]).await,
        Err(Error::Validation { .. })
    ));
}
