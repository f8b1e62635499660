//! HTTPS for the streaming server: a PEM certificate chain and key from `[streaming]`.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

fn invalid(what: &Path, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{}: {e}", what.display()))
}

pub fn acceptor(cert_file: &Path, key_file: &Path) -> std::io::Result<TlsAcceptor> {
    let certs = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| invalid(cert_file, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(cert_file, e))?;
    if certs.is_empty() {
        return Err(invalid(cert_file, "no certificate"));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| invalid(key_file, e))?;
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid(cert_file, e))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
