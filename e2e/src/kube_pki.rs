//! The certificates of a test cluster, made with openssl: one CA, the API server's serving
//! certificate (loopback and the node's address only), a client certificate per component,
//! and the key pair that signs service-account tokens.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::run;

/// Where each file of the cluster's PKI is.
pub struct Pki {
    pub dir: PathBuf,
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub service_account_key: PathBuf,
    pub service_account_pub: PathBuf,
}

/// A client identity: `<dir>/<name>.crt` and `.key`.
pub struct ClientCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn openssl(args: &[&str], dir: &Path) {
    let (ok, _, err) = run(Command::new("openssl").args(args).current_dir(dir));
    assert!(ok, "openssl {args:?}: {err}");
}

impl Pki {
    /// A new CA and service-account key pair in `dir`.
    pub fn create(dir: &Path) -> Pki {
        std::fs::create_dir_all(dir).unwrap();
        openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"], dir);
        openssl(
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "ca.key",
                "-days",
                "2",
                "-subj",
                "/CN=cricket-e2e-ca",
                "-out",
                "ca.crt",
            ],
            dir,
        );
        openssl(&["genrsa", "-out", "sa.key", "2048"], dir);
        openssl(&["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
        Pki {
            dir: dir.to_path_buf(),
            ca_cert: dir.join("ca.crt"),
            ca_key: dir.join("ca.key"),
            service_account_key: dir.join("sa.key"),
            service_account_pub: dir.join("sa.pub"),
        }
    }

    /// A certificate signed by the CA for `subject` ("/CN=.../O=..."), with the subject
    /// alternative names `sans` ("IP:127.0.0.1", "DNS:kubernetes") when it serves.
    pub fn issue(&self, name: &str, subject: &str, sans: &[&str]) -> ClientCert {
        let dir = &self.dir;
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let crt = format!("{name}.crt");
        openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", &key], dir);
        openssl(&["req", "-new", "-key", &key, "-subj", subject, "-out", &csr], dir);
        let usage = if sans.is_empty() { "clientAuth" } else { "serverAuth,clientAuth" };
        let mut ext = format!("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage={usage}\n");
        if !sans.is_empty() {
            ext.push_str(&format!("subjectAltName={}\n", sans.join(",")));
        }
        let ext_file = format!("{name}.ext");
        std::fs::write(dir.join(&ext_file), ext).unwrap();
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &ext_file,
                "-out",
                &crt,
            ],
            dir,
        );
        ClientCert { cert: dir.join(crt), key: dir.join(key) }
    }

    /// A kubeconfig at `path` that reaches `server` as `client`.
    pub fn kubeconfig(&self, path: &Path, server: &str, client: &ClientCert) {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: e2e\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\nusers:\n- name: e2e\n  user:\n    client-certificate: {cert}\n    client-key: {key}\ncontexts:\n- name: e2e\n  context:\n    cluster: e2e\n    user: e2e\ncurrent-context: e2e\n",
            ca = self.ca_cert.display(),
            cert = client.cert.display(),
            key = client.key.display(),
        );
        std::fs::write(path, text).unwrap();
    }
}
