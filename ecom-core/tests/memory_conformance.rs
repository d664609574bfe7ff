//! The memory backend runs the whole conformance suite.

async fn backend() -> ecom_core::Backend {
    ecom_core::memory::backend()
}

ecom_core::conformance_suite!(backend);
