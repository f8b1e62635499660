//! Which endpoints serve a registry host (mirrors first), over which protocol, and one
//! registry client per set of credentials, so that one pull's credentials are never used for
//! another's.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::Client;

use super::credentials::Credentials;

/// Settings for one registry host, or for every host under the name `"*"`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostConfig {
    /// Plain HTTP instead of HTTPS.
    pub insecure: bool,
    /// Endpoints tried in order before the host itself, e.g. `http://127.0.0.1:5000`.
    pub mirrors: Vec<String>,
}

/// One place to fetch from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host[:port]`
    pub host: String,
    pub is_mirror: bool,
}

pub struct Registries {
    hosts: BTreeMap<String, HostConfig>,
    protocol: ClientProtocol,
    read_timeout: Duration,
    /// Clients shared by the pulls in flight with the same credentials; dropped with the last
    /// such pull, so that an idle daemon does not keep TLS roots and connection pools.
    clients: Mutex<HashMap<Credentials, Weak<Client>>>,
}

fn strip_scheme(endpoint: &str) -> (&str, bool) {
    let http = endpoint.starts_with("http://");
    let rest = endpoint.trim_start_matches("http://").trim_start_matches("https://");
    (rest.split('/').next().unwrap_or(rest), http)
}

impl Registries {
    /// `read_timeout` bounds how long a download may go without receiving a byte.
    pub fn new(hosts: BTreeMap<String, HostConfig>, read_timeout: Duration) -> Registries {
        let everything_plain = hosts.get("*").is_some_and(|h| h.insecure);
        let mut plain: Vec<String> = hosts.iter().filter(|(h, c)| c.insecure && *h != "*").map(|(h, _)| h.clone()).collect();
        for config in hosts.values() {
            plain.extend(config.mirrors.iter().map(|m| strip_scheme(m)).filter(|(_, http)| *http).map(|(h, _)| h.to_string()));
        }
        let protocol = if everything_plain { ClientProtocol::Http } else { ClientProtocol::HttpsExcept(plain) };
        Registries { hosts, protocol, read_timeout, clients: Mutex::new(HashMap::new()) }
    }

    /// The endpoints to try for `registry`, in order: its mirrors, then itself.
    pub fn endpoints(&self, registry: &str) -> Vec<Endpoint> {
        let config = self.hosts.get(registry).or_else(|| self.hosts.get("*"));
        let mut list: Vec<Endpoint> = config
            .map(|c| c.mirrors.iter().map(|m| Endpoint { host: strip_scheme(m).0.to_string(), is_mirror: true }).collect())
            .unwrap_or_default();
        list.push(Endpoint { host: registry.to_string(), is_mirror: false });
        list
    }

    /// The registry client for these credentials.
    pub fn client(&self, credentials: &Credentials) -> Arc<Client> {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = clients.get(credentials).and_then(Weak::upgrade) {
            return c;
        }
        clients.retain(|_, c| c.strong_count() > 0);
        let config = ClientConfig {
            protocol: self.protocol.clone(),
            platform_resolver: None,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(self.read_timeout),
            user_agent: concat!("cricket/", env!("CARGO_PKG_VERSION")),
            ..Default::default()
        };
        let client = Arc::new(Client::new(config));
        clients.insert(credentials.clone(), Arc::downgrade(&client));
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registries(entries: &[(&str, bool, &[&str])]) -> Registries {
        let hosts = entries
            .iter()
            .map(|(h, insecure, mirrors)| {
                (h.to_string(), HostConfig { insecure: *insecure, mirrors: mirrors.iter().map(|m| m.to_string()).collect() })
            })
            .collect();
        Registries::new(hosts, Duration::from_secs(60))
    }

    #[test]
    fn mirrors_come_first_then_the_host_and_star_matches_the_rest() {
        let r = registries(&[("*", false, &["http://127.0.0.1:5000"]), ("quay.io", false, &[])]);
        let hosts: Vec<String> = r.endpoints("registry.k8s.io").into_iter().map(|e| e.host).collect();
        assert_eq!(hosts, ["127.0.0.1:5000", "registry.k8s.io"]);
        assert_eq!(r.endpoints("quay.io"), [Endpoint { host: "quay.io".into(), is_mirror: false }]);
    }

    #[test]
    fn plain_http_for_insecure_hosts_and_http_mirrors_only() {
        let r = registries(&[("127.0.0.1:5000", true, &[]), ("docker.io", false, &["http://10.0.0.1:5000/", "https://m.example"])]);
        let ClientProtocol::HttpsExcept(plain) = &r.protocol else { panic!("{:?}", r.protocol) };
        assert!(plain.contains(&"127.0.0.1:5000".to_string()));
        assert!(plain.contains(&"10.0.0.1:5000".to_string()));
        assert!(!plain.contains(&"m.example".to_string()));
        assert!(matches!(registries(&[("*", true, &[])]).protocol, ClientProtocol::Http));
    }

    #[test]
    fn each_set_of_credentials_gets_its_own_client() {
        let r = registries(&[]);
        let alice = Credentials::Basic { username: "alice".into(), password: "a".into() };
        let a1 = r.client(&alice);
        assert!(Arc::ptr_eq(&a1, &r.client(&alice)));
        assert!(!Arc::ptr_eq(&a1, &r.client(&Credentials::Anonymous)));
    }
}
