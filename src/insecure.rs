//! `verify=False`: HTTPS without certificate verification, as botocore allows it. aws-smithy-http-client 1.5
//! takes no custom rustls `ClientConfig`, so this is a small HTTP client of our own: hyper-util's pooled client,
//! hyper-rustls, and a verifier that accepts any certificate (handshake signatures are still checked).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

use crate::http_client::PoolFactory;

/// Accepts any server certificate; still verifies that the server holds the certificate's key.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

type Pooled = Client<HttpsConnector<TcpConnector>, SdkBody>;
/// (connect timeout, read timeout)
type Timeouts = (Option<Duration>, Option<Duration>);

/// One pooled hyper client per (connect, read) timeout pair, as the SDK's own client caches its connectors.
#[derive(Debug)]
pub struct UnverifiedHttpClient {
    tls: Arc<ClientConfig>,
    pool_max_idle_per_host: usize,
    connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
}

/// Builds the TLS configuration once; each call of the returned factory makes a new pool with it.
pub fn pool_factory(pool_max_idle_per_host: usize) -> Result<PoolFactory, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = Arc::new(
        ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth(),
    );
    Ok(Arc::new(move || {
        SharedHttpClient::new(UnverifiedHttpClient {
            tls: tls.clone(),
            pool_max_idle_per_host,
            connectors: Mutex::default(),
        })
    }))
}

impl HttpClient for UnverifiedHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self.connectors.lock().unwrap_or_else(|p| p.into_inner());
        connectors
            .entry(key)
            .or_insert_with(|| {
                let mut tcp = TcpConnector::new();
                tcp.enforce_http(false); // https:// URIs go through to the TLS layer
                tcp.set_nodelay(true);
                tcp.set_connect_timeout(key.0);
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config((*self.tls).clone())
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(tcp);
                let client = Client::builder(TokioExecutor::new())
                    .pool_timer(TokioTimer::new())
                    .pool_max_idle_per_host(self.pool_max_idle_per_host)
                    .build(https);
                SharedHttpConnector::new(UnverifiedConnector { client, read_timeout: key.1 })
            })
            .clone()
    }
}

#[derive(Debug)]
struct UnverifiedConnector {
    client: Pooled,
    /// Until the response head arrives, as in the SDK's client.
    read_timeout: Option<Duration>,
}

impl HttpConnector for UnverifiedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let call = self.client.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let response = match read_timeout {
                Some(limit) => match tokio::time::timeout(limit, call).await {
                    Ok(response) => response,
                    Err(_) => return Err(ConnectorError::timeout(format!("HTTP read timeout after {limit:?}").into())),
                },
                None => call.await,
            };
            let response = response.map_err(classify)?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

fn find<'a, T: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        current = err.source();
    }
    None
}

/// The SDK client's classification of hyper errors, which the retry policy and the error mapping rely on.
fn classify(error: hyper_util::client::legacy::Error) -> ConnectorError {
    let io = find::<std::io::Error>(&error).map(std::io::Error::kind);
    if error.is_connect() {
        return match io {
            Some(std::io::ErrorKind::TimedOut) => ConnectorError::timeout(error.into()),
            _ => ConnectorError::io(error.into()),
        };
    }
    let hyper = find::<hyper::Error>(&error)
        .map(|e| (e.is_timeout(), e.is_closed() || e.is_canceled(), e.is_incomplete_message()));
    match hyper {
        Some((true, _, _)) => ConnectorError::timeout(error.into()),
        Some((_, true, _)) => ConnectorError::io(error.into()),
        _ if io.is_some() => ConnectorError::io(error.into()),
        Some((_, _, true)) => ConnectorError::other(error.into(), Some(ErrorKind::TransientError)),
        _ => ConnectorError::other(error.into(), None),
    }
}
