//! The SDK's HTTP client, with one connection pool per calling thread for the sync client's calls (see
//! `thread_runtime`) and one shared pool for everything on the process runtime (AsyncClient, streams,
//! batches, credential providers called from there).

use std::fmt;
use std::sync::Arc;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::{RuntimeComponents, RuntimeComponentsBuilder};
use aws_smithy_types::config_bag::ConfigBag;

use crate::thread_runtime::{self, PoolOwner};

/// Builds one pool (a fresh HTTP client with the client's TLS settings); must not fail or do I/O.
pub type PoolFactory = Arc<dyn Fn() -> SharedHttpClient + Send + Sync>;

pub struct PerThreadHttpClient {
    shared: SharedHttpClient,
    factory: PoolFactory,
    owner: Arc<PoolOwner>,
}

impl PerThreadHttpClient {
    pub fn new_shared(factory: PoolFactory) -> SharedHttpClient {
        SharedHttpClient::new(Self { shared: factory(), factory, owner: Arc::default() })
    }
}

impl fmt::Debug for PerThreadHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerThreadHttpClient").field("shared", &self.shared).finish_non_exhaustive()
    }
}

impl HttpClient for PerThreadHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        // A connection's task lives on the runtime that opened it, so a pool must never cross runtimes.
        match thread_runtime::pool(&self.owner, || (self.factory)()) {
            Some(pool) => pool.http_connector(settings, components),
            None => self.shared.http_connector(settings, components),
        }
    }

    fn validate_base_client_config(
        &self,
        runtime_components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.shared.validate_base_client_config(runtime_components, cfg)
    }

    fn validate_final_config(&self, runtime_components: &RuntimeComponents, cfg: &ConfigBag) -> Result<(), BoxError> {
        self.shared.validate_final_config(runtime_components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.shared.connector_metadata()
    }
}
