//! Settings of gRPC-Web, the protocol browsers speak (docs/api.md, "From
//! a browser"): whether the gRPC port also answers it, and which web
//! origins may call it across origins (CORS).

use clap::Args;

/// The gRPC-Web settings.
#[derive(Clone, Debug, Default, Args)]
pub struct WebConfig {
    /// Also answer gRPC-Web (HTTP/1.1 and HTTP/2, binary or text) on the
    /// gRPC port, for browsers and proxies that speak it.
    #[arg(long, env = "ACCESS_GRPC_WEB", default_value_t = false, action = clap::ArgAction::Set)]
    pub grpc_web: bool,
    /// Web origins (scheme://host[:port], comma-separated) whose pages may
    /// call the service from a browser; empty: no cross-origin call (CORS
    /// headers are never sent).
    #[arg(
        long,
        env = "ACCESS_GRPC_WEB_ALLOWED_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub grpc_web_allowed_origins: Vec<String>,
}

impl WebConfig {
    /// The allowed origins, each checked: `scheme://host[:port]` over http
    /// or https, nothing after it. `*` is refused: a browser's page on any
    /// site could then call with whatever the page holds.
    pub fn allowed_origins(&self) -> anyhow::Result<Vec<String>> {
        let mut origins = Vec::new();
        for origin in self
            .grpc_web_allowed_origins
            .iter()
            .map(|o| o.trim())
            .filter(|o| !o.is_empty())
        {
            anyhow::ensure!(
                origin != "*",
                "ACCESS_GRPC_WEB_ALLOWED_ORIGINS: '*' is not accepted; list the web app's origins (https://app.example.com)"
            );
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            anyhow::ensure!(
                rest.is_some_and(|host| !host.is_empty() && !host.contains(['/', '?', '#', ' ', '@'])),
                "ACCESS_GRPC_WEB_ALLOWED_ORIGINS: '{origin}' is not an origin: scheme://host[:port], e.g. https://app.example.com"
            );
            origins.push(origin.to_owned());
        }
        anyhow::ensure!(
            origins.is_empty() || self.grpc_web,
            "ACCESS_GRPC_WEB_ALLOWED_ORIGINS is set but ACCESS_GRPC_WEB is off: turn gRPC-Web on, or leave the origins unset"
        );
        Ok(origins)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web(on: bool, origins: &[&str]) -> WebConfig {
        WebConfig {
            grpc_web: on,
            grpc_web_allowed_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
        }
    }

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        let allowed = web(true, &["https://app.example.com", " http://localhost:3000 ", ""])
            .allowed_origins()
            .expect("valid");
        assert_eq!(allowed, ["https://app.example.com", "http://localhost:3000"]);
        for bad in [
            "*",
            "app.example.com",
            "https://app.example.com/",
            "ftp://x",
            "https://",
        ] {
            assert!(web(true, &[bad]).allowed_origins().is_err(), "{bad}");
        }
        assert!(
            web(false, &["https://app.example.com"])
                .allowed_origins()
                .is_err()
        );
        assert_eq!(
            web(false, &[]).allowed_origins().expect("off"),
            Vec::<String>::new()
        );
    }
}
