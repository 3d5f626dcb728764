//! TLS client set-up for checks: rustls with the ring provider, the system's roots
//! (rustls-native-certs, which honours `SSL_CERT_FILE` / `SSL_CERT_DIR`), and an
//! explicitly insecure variant for targets with `tls_verify = false`.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;

/// The two client configurations every check chooses from.
pub struct TlsConfigs {
    /// Verifies certificates against the system roots.
    pub verified: Arc<ClientConfig>,
    /// Accepts any certificate (`tls_verify = false`).
    pub insecure: Arc<ClientConfig>,
    /// How many root certificates were loaded.
    pub roots: usize,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsConfigs {
    /// Loads the system roots once; unreadable ones are logged and skipped.
    pub fn load() -> TlsConfigs {
        let mut roots = RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            log::warn!("tls: while loading system root certificates: {e}");
        }
        let (added, _ignored) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            log::warn!(
                "tls: no system root certificates found; https targets will fail verification"
            );
        }
        let verified = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth())
            .expect("ring supports the default protocol versions");
        let insecure = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map(|b| {
                b.dangerous()
                    .with_custom_certificate_verifier(Arc::new(AcceptAny(provider())))
                    .with_no_client_auth()
            })
            .expect("ring supports the default protocol versions");
        TlsConfigs {
            verified: Arc::new(verified),
            insecure: Arc::new(insecure),
            roots: added,
        }
    }
}

/// Accepts every certificate but still checks handshake signatures, so the session is
/// at least bound to the certificate presented.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
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
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Describes a TLS failure the way an operator reads it.
pub fn describe(err: &std::io::Error, host: &str) -> String {
    use rustls::CertificateError as C;
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(c)) => match c {
            C::Expired | C::ExpiredContext { .. } => "tls: certificate expired".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "tls: certificate not valid yet".into()
            }
            C::UnknownIssuer => "tls: certificate signed by unknown authority".into(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                format!("tls: certificate is not valid for {host}")
            }
            C::Revoked => "tls: certificate revoked".into(),
            C::BadSignature => "tls: certificate has a bad signature".into(),
            other => format!("tls: invalid certificate: {other:?}"),
        },
        Some(e) => format!("tls: {e}"),
        None => format!("tls: {err}"),
    }
}
