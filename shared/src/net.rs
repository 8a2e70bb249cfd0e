//! Whether an address names this machine: the device's rule for a plain-`http://` server
//! and the local API's rule for who may call it share it.

/// Whether `host` — a Host header's or a URL's `host[:port]`, IPv6 in brackets — is loopback:
/// `localhost`, `127.x.y.z` or `[::1]`.
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // `[::1]:8080`
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_with_or_without_a_port() {
        for yes in [
            "localhost",
            "LOCALHOST:3000",
            "127.0.0.1",
            "127.3.2.1:80",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(is_loopback_host(yes), "{yes}");
        }
        for no in [
            "example.org",
            "127.0.0.1.evil.example:80",
            "10.0.0.5:8080",
            "[::2]:80",
            "",
        ] {
            assert!(!is_loopback_host(no), "{no}");
        }
    }
}
