//! The network part of the plan: the effective mode, the hosts and local services, how it is
//! enforced here (network namespace, or seccomp with the connect broker), the proxy's address
//! and the variables that point the box's tools at it.

use super::host::Kernel;
use super::layers::{LayerId, Layers, Refusal};
use crate::net::policy::{HostRule, NetMode};
use crate::profile::Resolved;
use crate::sandbox::seccomp::SocketPolicy;
use serde::Serialize;

/// Port the proxy listens on inside a fresh network namespace (free there by construction).
pub const PROXY_PORT_IN_NS: u16 = 3128;

/// Network part of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct NetPlan {
    /// The mode in force.
    pub mode: NetMode,
    /// How it is enforced.
    pub enforcement: String,
    /// Allowed hosts (allowlist mode).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Local services reachable.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub local: Vec<String>,
    /// Loopback ports the box may listen on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub listen: Vec<u16>,
    /// The proxy's address as the box sees it (allowlist mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// The proxy's port on the host's loopback (allowlist mode without a network namespace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_proxy_port: Option<u16>,
    /// What this enforcement cannot stop.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<String>,
    /// Without a network namespace, TCP connects are made by the supervisor's connect broker
    /// (`net::broker`); Landlock then allows no TCP connect of the box's own.
    pub connect_broker: bool,
    /// Which sockets seccomp lets the box create.
    pub sockets: SocketPolicy,
    /// How the box's name lookups are answered.
    pub dns: Dns,
}

/// Where the stub resolver listens inside the box's network namespace (its own loopback): the
/// first of these whose port 53 no listed local service takes.
pub const RESOLVER_ADDRESSES: [std::net::Ipv4Addr; 3] = [
    std::net::Ipv4Addr::new(127, 0, 0, 1),
    std::net::Ipv4Addr::new(127, 0, 0, 53),
    std::net::Ipv4Addr::new(127, 53, 0, 1),
];

/// How the box's name lookups are answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Dns {
    /// A stub resolver in the box's network namespace answers every name at once with
    /// NXDOMAIN, and the summary names what was asked (names the allowlist admits aside: the
    /// proxy resolves those).
    Stub {
        /// Its address inside the namespace.
        address: std::net::SocketAddr,
        /// Where the box's private resolv.conf pointing at it is bound (the host's
        /// `/etc/resolv.conf`, or its target); none: the host has none, and the C library's
        /// default server, 127.0.0.1, is the stub.
        #[serde(skip_serializing_if = "Option::is_none")]
        resolv_conf: Option<std::path::PathBuf>,
    },
    /// The host's resolvers: the network is unrestricted.
    Host,
    /// No network namespace: lookups fail at once (the box may not create UDP sockets), and
    /// the names asked cannot be recorded.
    Unrecorded,
    /// The box listens on port 53 itself (`network.listen`), or local services take it on
    /// every address the stub could use: no stub, the host's resolv.conf as without one.
    PortTaken,
}

impl Dns {
    /// Decide from the mode, the namespace layer, where the host's resolv.conf is, the local
    /// services forwarded into the namespace and the ports the box listens on.
    pub fn decide(
        mode: NetMode,
        netns: bool,
        resolv_conf: Option<&std::path::Path>,
        local: &[std::net::SocketAddr],
        listen: &[u16],
    ) -> Dns {
        let free = RESOLVER_ADDRESSES
            .iter()
            .map(|ip| std::net::SocketAddr::from((*ip, 53)))
            .find(|a| !local.contains(a));
        match (mode, netns, free) {
            (NetMode::Unrestricted, _, _) => Dns::Host,
            (_, false, _) => Dns::Unrecorded,
            (_, true, Some(address)) if !listen.contains(&53) => Dns::Stub {
                address,
                resolv_conf: resolv_conf.map(std::path::Path::to_path_buf),
            },
            (_, true, _) => Dns::PortTaken,
        }
    }

    /// The private resolv.conf of a box with the stub at `at`.
    pub fn resolv_conf(mode: NetMode, at: std::net::IpAddr) -> String {
        let why = if mode == NetMode::Allowlist {
            "allowed hosts are reached through the proxy (HTTPS_PROXY), which resolves them"
        } else {
            "the network is off"
        };
        format!(
            "# agentbox: {why}; this resolver answers every name with NXDOMAIN at once, and \
             agentbox names them when the run ends.\nnameserver {at}\noptions attempts:1 timeout:1\n"
        )
    }
}

/// Set in the box when the network is off: no retry can succeed, and package managers'
/// back-off between retries is what made a failed `npm install` take 70 s.
pub const OFFLINE_ENV: &[(&str, &str)] = &[
    ("npm_config_fetch_retries", "0"),
    ("PIP_RETRIES", "0"),
    ("CARGO_NET_RETRY", "0"),
];

/// Parsed network policy.
#[derive(Debug, Clone, Default)]
pub struct NetRules {
    /// Hosts reachable through the proxy.
    pub hosts: Vec<HostRule>,
    /// Local services on the host's loopback.
    pub local: Vec<std::net::SocketAddr>,
}

/// Parse `network.allow`, `--allow-host` and `network.local`.
pub fn net_rules(p: &crate::profile::Profile, cli_hosts: &[String]) -> Result<NetRules, String> {
    let mut r = NetRules::default();
    let from = |i: usize| {
        if i < p.network.allow.len() {
            "network.allow"
        } else {
            "--allow-host"
        }
    };
    for (i, h) in p.network.allow.iter().chain(cli_hosts).enumerate() {
        // A token is never a host name (`ghp_...` is a valid label): refuse it, unquoted.
        if let Some(f) = crate::detect::Engine::builtin().find(h.as_bytes()).first() {
            return Err(format!(
                "{}: an entry looks like a secret ({}), not a host; the value is not shown",
                from(i),
                f.rule_id
            ));
        }
        let q = crate::scrub::quote(h);
        let rule: HostRule = h.parse().map_err(|e| format!("{} {q}: {e}", from(i)))?;
        r.hosts.push(rule);
    }
    for l in &p.network.local {
        let q = crate::scrub::quote(l);
        let a: std::net::SocketAddr = l
            .parse()
            .map_err(|_| format!("network.local {q}: expected 127.0.0.1:PORT or [::1]:PORT"))?;
        if !a.ip().is_loopback() {
            return Err(format!(
                "network.local {q}: only services on the host's loopback can be listed"
            ));
        }
        r.local.push(a);
    }
    Ok(r)
}

/// The mode in force: the one set by the most derived profile that sets one, unless a more
/// derived profile adds hosts or services below it (`extends: read-only` plus `network.allow`
/// means allowlist, not an inherited `off`); `--allow-host` always means allowlist.
pub fn effective_mode(resolved: &Resolved, cli_hosts: &[String]) -> NetMode {
    let p = &resolved.profile;
    let layers = &resolved.layers;
    let mode_at = layers.iter().position(|l| l.network.mode.is_some());
    let hosts_at = layers
        .iter()
        .position(|l| !l.network.allow.is_empty() || !l.network.local.is_empty());
    let effective = match (mode_at, hosts_at) {
        (Some(m), Some(h)) if h < m && layers[m].network.mode == Some(NetMode::Off) => None,
        (Some(m), _) => layers[m].network.mode,
        (None, _) => None,
    };
    match effective {
        Some(NetMode::Unrestricted) => NetMode::Unrestricted,
        _ if !cli_hosts.is_empty() => NetMode::Allowlist,
        None if !p.network.allow.is_empty() || !p.network.local.is_empty() => NetMode::Allowlist,
        None | Some(NetMode::Off) => NetMode::Off,
        Some(NetMode::Allowlist) => NetMode::Allowlist,
    }
}

/// What the network decision gives the rest of the plan.
pub struct NetDecision {
    /// The network part of the plan.
    pub plan: NetPlan,
    /// Variables for the box (the proxy's address, NO_PROXY).
    pub env: Vec<(String, String)>,
    /// The parsed rules.
    pub rules: NetRules,
}

/// Decide the network: mode, enforcement, the `network` layer, the proxy's variables.
pub fn plan(
    resolved: &Resolved,
    kernel: &Kernel,
    euid_root: bool,
    cli_hosts: &[String],
    host_proxy: Option<&(u16, String)>,
    use_ns: bool,
    layers: &mut Layers,
) -> Result<NetDecision, String> {
    let p = &resolved.profile;
    let rules = net_rules(p, cli_hosts)?;
    let mode = effective_mode(resolved, cli_hosts);
    // Without a network namespace, TCP sockets exist in allowlist mode and for listed local
    // services; each connect is then made by the supervisor, to an address it chose, because
    // Landlock's TCP rules name ports, not addresses.
    let tcp_fallback = !use_ns
        && mode != NetMode::Unrestricted
        && (mode == NetMode::Allowlist || !rules.local.is_empty());
    let broker = tcp_fallback && kernel.seccomp && kernel.seccomp_notify;
    let enforcement = enforcement(mode, use_ns, tcp_fallback, broker, kernel);
    let ok = match (mode, use_ns) {
        (NetMode::Unrestricted, _) | (_, true) => true,
        (_, false) => kernel.seccomp && (!tcp_fallback || kernel.seccomp_notify),
    };
    layers.push(
        LayerId::Network,
        ok,
        format!("{}: {enforcement}", mode_name(mode)),
        why_not(mode, kernel),
        mode != NetMode::Unrestricted,
    );
    let mut limits = limits(mode, use_ns, tcp_fallback, broker, kernel, euid_root);
    let (proxy, env) = if mode == NetMode::Allowlist {
        let (proxy, env) = proxy_env(&rules, use_ns, host_proxy);
        if !use_ns {
            if kernel.landlock_abi < 4 && !layers.is_optional(LayerId::Network) {
                layers.refusals.push(Refusal::new(
                    LayerId::Network,
                    format!(
                        "allowlist without a network namespace needs Landlock ABI 4 (TCP ports), this kernel has {}",
                        kernel.landlock_abi
                    ),
                ));
            }
            limits.push("without a network namespace, the proxy port is reachable by other local processes (they need the per-run credential)".into());
        }
        (Some(proxy), env)
    } else if mode == NetMode::Off {
        (
            None,
            OFFLINE_ENV
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    } else {
        (None, Vec::new())
    };
    let sockets = match (mode, use_ns) {
        (NetMode::Unrestricted, _) | (_, true) => SocketPolicy::Contained,
        (NetMode::Off, false) if rules.local.is_empty() => SocketPolicy::UnixOnly,
        (_, false) => SocketPolicy::UnixAndTcp,
    };
    Ok(NetDecision {
        plan: NetPlan {
            mode,
            enforcement,
            allow: rules.hosts.iter().map(|h| h.to_string()).collect(),
            local: p.network.local.clone(),
            listen: p.network.listen.clone(),
            proxy,
            host_proxy_port: host_proxy.filter(|_| !use_ns).map(|x| x.0),
            limits,
            connect_broker: broker,
            sockets,
            dns: Dns::decide(mode, use_ns, None, &rules.local, &p.network.listen),
        },
        env,
        rules,
    })
}

/// The mode as written in profiles.
pub fn mode_name(m: NetMode) -> &'static str {
    match m {
        NetMode::Off => "off",
        NetMode::Allowlist => "allowlist",
        NetMode::Unrestricted => "unrestricted",
    }
}

fn enforcement(mode: NetMode, use_ns: bool, tcp: bool, broker: bool, kernel: &Kernel) -> String {
    let targets = if mode == NetMode::Allowlist {
        "the proxy at 127.0.0.1:PORT (per-run credential) or a listed local service at its address"
    } else {
        "a listed local service at its address"
    };
    match (mode, use_ns) {
        (NetMode::Unrestricted, _) => "none: the network is unrestricted".into(),
        (NetMode::Off, true) => "network namespace with only loopback".into(),
        (NetMode::Off, false) if !tcp => "seccomp: only AF_UNIX sockets".into(),
        (_, true) => "network namespace; proxy is the only way out".into(),
        (_, false) if broker => format!(
            "seccomp: AF_UNIX and TCP sockets only, no TCP Fast Open; connect broker (seccomp \
             user notification): agentbox itself connects the box's TCP sockets, only to \
             {targets}; any other address refused (EACCES){}",
            if kernel.landlock_abi >= 4 {
                "; Landlock refuses every TCP connect of the box's own"
            } else {
                ""
            }
        ),
        (_, false) => format!(
            "seccomp + Landlock TCP ports only (no connect broker): {}",
            if mode == NetMode::Allowlist {
                "the proxy's port and listed ports, on any address; proxy with a per-run credential"
            } else {
                "listed ports, on any address"
            }
        ),
    }
}

fn why_not(mode: NetMode, kernel: &Kernel) -> String {
    let m = mode_name(mode);
    if kernel.seccomp {
        format!(
            "{m}: without a network namespace every TCP connect must go through agentbox's \
             connect broker, which needs seccomp user notification and pidfd_getfd on the box's \
             processes (Linux 5.6+, kernel.yama.ptrace_scope <= 1 or CAP_SYS_PTRACE): {}",
            kernel
                .seccomp_notify_reason
                .as_deref()
                .unwrap_or("unavailable")
        )
    } else {
        format!("{m}: no network namespace and no seccomp to enforce it")
    }
}

fn limits(
    mode: NetMode,
    use_ns: bool,
    tcp: bool,
    broker: bool,
    kernel: &Kernel,
    euid_root: bool,
) -> Vec<String> {
    let mut limits = Vec::new();
    if tcp && broker {
        if !euid_root {
            limits.push("a box process that makes itself non-dumpable (PR_SET_DUMPABLE 0) gets no TCP connection: the connect broker may not take its socket".into());
        }
        if kernel.landlock_abi < 4 {
            limits.push(format!("without Landlock ABI 4 (this kernel has {}), a connect on a descriptor swapped for a TCP socket after the broker's check is not refused", kernel.landlock_abi));
        }
    } else if tcp {
        limits.push("no connect broker: Landlock filters TCP by port only, so the proxy's port and listed local ports are reachable on any address, past the proxy".into());
    }
    if mode == NetMode::Off && !use_ns && !kernel.seccomp {
        limits.push("no network namespace and no seccomp: nothing stops the network".into());
    }

    limits
}

/// The proxy's address as the box sees it, and the variables pointing the box's tools there.
fn proxy_env(
    rules: &NetRules,
    use_ns: bool,
    host_proxy: Option<&(u16, String)>,
) -> (String, Vec<(String, String)>) {
    let url = if use_ns {
        format!("http://127.0.0.1:{PROXY_PORT_IN_NS}")
    } else {
        match host_proxy {
            Some((port, token)) => format!("http://agentbox:{token}@127.0.0.1:{port}"),
            None => "http://agentbox:<per-run credential>@127.0.0.1:<port>".into(),
        }
    };
    // Shown without the credential.
    let shown = url
        .split('@')
        .next_back()
        .map(|h| format!("http://{}", h.trim_start_matches("http://")))
        .unwrap_or_default();
    // Box-local traffic (test servers inside the box) goes direct; a loopback host the
    // allowlist names on purpose goes through the proxy, so it leaves NO_PROXY.
    let named = |h: &str| {
        rules
            .hosts
            .iter()
            .any(|r| r.pattern.trim_matches(['[', ']']) == h)
    };
    let mut no_proxy: Vec<String> = ["localhost", "127.0.0.1", "::1"]
        .into_iter()
        .filter(|h| !named(h))
        .map(String::from)
        .collect();
    for l in &rules.local {
        no_proxy.push(l.ip().to_string());
    }
    no_proxy.dedup();
    let mut env = Vec::new();
    for k in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "npm_config_proxy",
        "npm_config_https_proxy",
    ] {
        env.push((k.into(), url.clone()));
    }
    env.push(("NO_PROXY".into(), no_proxy.join(",")));
    env.push(("no_proxy".into(), no_proxy.join(",")));
    env.push(("NODE_USE_ENV_PROXY".into(), "1".into()));
    (shown, env)
}
