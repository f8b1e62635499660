//! Which endpoints serve a registry host (mirrors first), over which protocol, and one
//! registry client per set of credentials, so that one pull's credentials are never used for
//! another's. A registry on the node itself (localhost, 127.0.0.0/8, ::1) that does not
//! answer HTTPS is tried over plain HTTP without configuration, as containerd and Docker do.

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
    /// Clients shared by the pulls in flight with the same credentials (and, for a local
    /// registry's plain-HTTP fallback, its host); dropped with the last such pull, so that an
    /// idle daemon does not keep TLS roots and connection pools.
    clients: Mutex<HashMap<ClientKey, Weak<Client>>>,
}

/// The credentials, and the local host a plain-HTTP fallback client is for.
type ClientKey = (Credentials, Option<String>);

/// Whether `host` (`name[:port]`) is this node itself: localhost, 127.0.0.0/8 or ::1.
pub fn is_local(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None if host.matches(':').count() > 1 => host,
        None => host.split(':').next().unwrap_or_default(),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
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
        let mut plain: Vec<String> =
            hosts.iter().filter(|(h, c)| c.insecure && *h != "*").map(|(h, _)| h.clone()).collect();
        for config in hosts.values() {
            plain.extend(
                config
                    .mirrors
                    .iter()
                    .map(|m| strip_scheme(m))
                    .filter(|(_, http)| *http)
                    .map(|(h, _)| h.to_string()),
            );
        }
        let protocol = if everything_plain {
            ClientProtocol::Http
        } else {
            ClientProtocol::HttpsExcept(plain)
        };
        Registries { hosts, protocol, read_timeout, clients: Mutex::new(HashMap::new()) }
    }

    /// The endpoints to try for `registry`, in order: its mirrors, then itself.
    pub fn endpoints(&self, registry: &str) -> Vec<Endpoint> {
        let config = self.hosts.get(registry).or_else(|| self.hosts.get("*"));
        let mut list: Vec<Endpoint> = config
            .map(|c| {
                c.mirrors
                    .iter()
                    .map(|m| Endpoint { host: strip_scheme(m).0.to_string(), is_mirror: true })
                    .collect()
            })
            .unwrap_or_default();
        list.push(Endpoint { host: registry.to_string(), is_mirror: false });
        list
    }

    /// Whether `host` is fetched over plain HTTP already.
    pub fn is_plain(&self, host: &str) -> bool {
        match &self.protocol {
            ClientProtocol::Http => true,
            ClientProtocol::HttpsExcept(plain) => plain.iter().any(|h| h == host),
            ClientProtocol::Https => false,
        }
    }

    /// The registry client for these credentials.
    pub fn client(&self, credentials: &Credentials) -> Arc<Client> {
        self.client_for(credentials, None)
    }

    /// The client for these credentials that speaks plain HTTP to the local registry `host`.
    pub fn plain_client(&self, credentials: &Credentials, host: &str) -> Arc<Client> {
        self.client_for(credentials, Some(host.to_string()))
    }

    fn client_for(&self, credentials: &Credentials, plain_host: Option<String>) -> Arc<Client> {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let key = (credentials.clone(), plain_host);
        if let Some(c) = clients.get(&key).and_then(Weak::upgrade) {
            return c;
        }
        clients.retain(|_, c| c.strong_count() > 0);
        let protocol = match (&self.protocol, &key.1) {
            (ClientProtocol::HttpsExcept(plain), Some(host)) => {
                ClientProtocol::HttpsExcept(plain.iter().cloned().chain([host.clone()]).collect())
            }
            (ClientProtocol::Https, Some(host)) => ClientProtocol::HttpsExcept(vec![host.clone()]),
            (protocol, _) => protocol.clone(),
        };
        let config = ClientConfig {
            protocol,
            platform_resolver: None,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(self.read_timeout),
            user_agent: concat!("cricket/", env!("CARGO_PKG_VERSION")),
            ..Default::default()
        };
        let client = Arc::new(Client::new(config));
        clients.insert(key, Arc::downgrade(&client));
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
                (
                    h.to_string(),
                    HostConfig {
                        insecure: *insecure,
                        mirrors: mirrors.iter().map(|m| m.to_string()).collect(),
                    },
                )
            })
            .collect();
        Registries::new(hosts, Duration::from_secs(60))
    }

    #[test]
    fn mirrors_come_first_then_the_host_and_star_matches_the_rest() {
        let r = registries(&[("*", false, &["http://127.0.0.1:5000"]), ("quay.io", false, &[])]);
        let hosts: Vec<String> =
            r.endpoints("registry.k8s.io").into_iter().map(|e| e.host).collect();
        assert_eq!(hosts, ["127.0.0.1:5000", "registry.k8s.io"]);
        assert_eq!(r.endpoints("quay.io"), [Endpoint { host: "quay.io".into(), is_mirror: false }]);
    }

    #[test]
    fn plain_http_for_insecure_hosts_and_http_mirrors_only() {
        let r = registries(&[
            ("127.0.0.1:5000", true, &[]),
            ("docker.io", false, &["http://10.0.0.1:5000/", "https://m.example"]),
        ]);
        let ClientProtocol::HttpsExcept(plain) = &r.protocol else { panic!("{:?}", r.protocol) };
        assert!(plain.contains(&"127.0.0.1:5000".to_string()));
        assert!(plain.contains(&"10.0.0.1:5000".to_string()));
        assert!(!plain.contains(&"m.example".to_string()));
        assert!(matches!(registries(&[("*", true, &[])]).protocol, ClientProtocol::Http));
    }

    #[test]
    fn the_node_itself_is_local_and_nothing_else_is() {
        for local in
            ["localhost", "localhost:5000", "127.0.0.1:5099", "127.3.4.5", "[::1]:5000", "::1"]
        {
            assert!(is_local(local), "{local}");
        }
        for remote in
            ["docker.io", "10.0.0.1:5000", "localhost.example.com", "[fe80::1]:5000", "128.0.0.1"]
        {
            assert!(!is_local(remote), "{remote}");
        }
    }

    #[test]
    fn a_local_hosts_plain_client_is_its_own() {
        let r = registries(&[]);
        assert!(!r.is_plain("127.0.0.1:5000"));
        let plain = r.plain_client(&Credentials::Anonymous, "127.0.0.1:5000");
        assert!(!Arc::ptr_eq(&plain, &r.client(&Credentials::Anonymous)));
        assert!(Arc::ptr_eq(&plain, &r.plain_client(&Credentials::Anonymous, "127.0.0.1:5000")));
        assert!(registries(&[("127.0.0.1:5000", true, &[])]).is_plain("127.0.0.1:5000"));
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
