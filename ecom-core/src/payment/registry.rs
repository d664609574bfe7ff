//! The registry of payment providers by method name.

use crate::error::{Error, Result};
use crate::payment::cod::CashOnDelivery;
use crate::payment::provider::PaymentProvider;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The registered payment providers, by method name.
#[derive(Debug, Clone, Default)]
pub struct PaymentProviders {
    providers: BTreeMap<String, Arc<dyn PaymentProvider>>,
}

impl PaymentProviders {
    /// An empty registry.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A registry with cash on delivery (`cod`) only; add [`SignedWebhook`](crate::payment::SignedWebhook) (`online`) with a
    /// secret, or providers of your own, with [`Self::register`].
    pub fn with_builtins() -> Self {
        let mut registry = Self::empty();
        registry
            .providers
            .insert("cod".to_owned(), Arc::new(CashOnDelivery));
        registry
    }

    /// Registers a provider; [`Error::AlreadyExists`] if its name is taken.
    pub fn register(&mut self, provider: Arc<dyn PaymentProvider>) -> Result<()> {
        let name = provider.name().to_owned();
        if name.trim().is_empty() {
            return Err(Error::validation("method", "a payment method needs a name"));
        }
        if self.providers.contains_key(&name) {
            return Err(Error::already_exists("payment method"));
        }
        self.providers.insert(name, provider);
        Ok(())
    }

    /// The provider of method `name`; [`Error::Validation`] of `field` naming the methods if
    /// there is none.
    pub fn get(&self, name: &str, field: &str) -> Result<&Arc<dyn PaymentProvider>> {
        self.providers.get(name).ok_or_else(|| {
            let names: Vec<&str> = self.names().collect();
            Error::validation(field, format!("must be one of {}", names.join(", ")))
        })
    }

    /// The registered method names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.providers.keys().map(String::as_str)
    }
}
