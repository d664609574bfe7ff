//! What every adapter does alike with its collections: the write concern, several updates in
//! one round trip, and named indexes.

use crate::error::to_core;
use crate::timestamp;
use bson::{doc, Document};
use ecom_core::clock::Timestamp;
use ecom_core::error::Result;
use futures::TryStreamExt;
use mongodb::options::{CollectionOptions, IndexOptions, WriteConcern};
use mongodb::{Collection, Database, IndexModel};

/// A collection of `db` with the write concern every ecom write uses: the database's own if it
/// has one (from the connection string, e.g. `w=majority`), otherwise journaled (`j: true`), so
/// an acknowledged write survives a crash of the server.
pub(crate) fn collection<T: Send + Sync>(db: &Database, name: &str) -> Collection<T> {
    let write_concern = db
        .write_concern()
        .cloned()
        .unwrap_or_else(|| WriteConcern::builder().journal(true).build());
    db.collection_with_options(
        name,
        CollectionOptions::builder()
            .write_concern(write_concern)
            .build(),
    )
}

/// Runs several updates of one collection in one round trip: the `update` command with one
/// statement (`{ q, u }`) per update, unordered, under the collection's write concern. Returns
/// how many statements matched a document, in all (the command does not say which).
pub(crate) async fn update_each<T: Send + Sync>(
    collection: &Collection<T>,
    statements: Vec<bson::Document>,
) -> Result<u64> {
    let mut command = bson::doc! {
        "update": collection.name(),
        "updates": statements,
        "ordered": false,
    };
    if let Some(write_concern) = collection.write_concern() {
        command.insert(
            "writeConcern",
            bson::to_document(write_concern).map_err(ecom_core::Error::backend)?,
        );
    }
    let reply = collection
        .client()
        .database(&collection.namespace().db)
        .run_command(command)
        .await
        .map_err(to_core)?;
    if let Ok(errors) = reply.get_array("writeErrors") {
        if !errors.is_empty() {
            return Err(ecom_core::Error::backend(format!(
                "{} of the updates failed",
                errors.len()
            )));
        }
    }
    let matched = match reply.get("n") {
        Some(bson::Bson::Int32(n)) => i64::from(*n),
        Some(bson::Bson::Int64(n)) => *n,
        _ => 0,
    };
    Ok(u64::try_from(matched).unwrap_or(0))
}

/// An index of `keys` named `name` (queries hint indexes by name).
pub(crate) fn index(name: &str, keys: Document) -> IndexModel {
    with_options(keys, IndexOptions::builder().name(name.to_owned()).build())
}

/// A unique index of `keys` named `name`.
pub(crate) fn unique(name: &str, keys: Document) -> IndexModel {
    with_options(
        keys,
        IndexOptions::builder()
            .name(name.to_owned())
            .unique(true)
            .build(),
    )
}

/// An index of `keys` named `name` over the documents matching `filter` only; unique among
/// them if `unique`.
pub(crate) fn partial(name: &str, keys: Document, filter: Document, unique: bool) -> IndexModel {
    with_options(
        keys,
        IndexOptions::builder()
            .name(name.to_owned())
            .unique(unique)
            .partial_filter_expression(filter)
            .build(),
    )
}

fn with_options(keys: Document, options: IndexOptions) -> IndexModel {
    IndexModel::builder().keys(keys).options(options).build()
}

/// The open entries (stock holds, code uses) opened before `before` across the documents of
/// `collection`, oldest first (then by id), at most `limit`: what recovery looks at. Documents
/// are found through the index on `at_field` (`<array>.at`); `entries` lists a document's
/// entries with when each was opened.
pub(crate) async fn stale_entries<D, E>(
    collection: &Collection<D>,
    at_field: &str,
    before: Timestamp,
    limit: u32,
    entries: impl Fn(D) -> Result<Vec<(Timestamp, String, E)>>,
) -> Result<Vec<E>>
where
    D: serde::de::DeserializeOwned + Send + Sync + Unpin,
{
    if limit == 0 {
        return Ok(Vec::new());
    }
    let before_text = timestamp::to_bson(&before).map_err(to_core)?;
    let docs: Vec<D> = collection
        .find(doc! { at_field: { "$lt": before_text } })
        .limit(i64::from(limit))
        .await
        .map_err(to_core)?
        .try_collect()
        .await
        .map_err(to_core)?;
    let mut stale = Vec::new();
    for doc in docs {
        stale.extend(entries(doc)?.into_iter().filter(|(at, _, _)| *at < before));
    }
    stale.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    stale.truncate(limit as usize);
    Ok(stale.into_iter().map(|(_, _, entry)| entry).collect())
}
