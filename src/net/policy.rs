//! Network policy: the mode, the host allowlist and the address rules applied after resolution.
//!
//! Names are matched first (what the agent asked for), addresses second (where the connection
//! would really go). Both must pass; see `crate::net::proxy` for the order of the checks.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// How much network the sandboxed agent gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetMode {
    /// No network at all (empty network namespace).
    Off,
    /// Only hosts on the allowlist, through agentbox's proxy.
    Allowlist,
    /// The host's network, unfiltered.
    Unrestricted,
}

/// Ports admitted by a rule written without a port.
pub const DEFAULT_PORTS: [u16; 2] = [80, 443];

/// One allowlist entry: a host pattern and the ports it admits.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostRule {
    /// Lower-case name without trailing dot (`api.example.com`), a wildcard (`*.example.com`,
    /// subdomains only) or a canonical IP literal without brackets (`::1`, `127.0.0.1`).
    pub pattern: String,
    /// Admitted ports; a rule written without a port gets [`DEFAULT_PORTS`].
    pub ports: Vec<u16>,
}

/// Why a rule string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    msg: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The rule itself is not repeated: it is user input and may be a token pasted in the
        // wrong place (the caller names the entry, see `plan::net_rules`).
        write!(f, "invalid host rule: {}", self.msg)
    }
}

impl std::error::Error for RuleError {}

impl HostRule {
    /// True for `*.example.com` rules; a wildcard never counts as naming a host explicitly.
    pub fn is_wildcard(&self) -> bool {
        self.pattern.starts_with("*.")
    }

    /// `pattern:port` as a person would write it (`[::1]:8080` for IPv6).
    pub fn display_with_port(&self, port: u16) -> String {
        format!("{}:{port}", bracketed(&self.pattern))
    }

    fn admits_name(&self, host: &str) -> bool {
        match self.pattern.strip_prefix('*') {
            // `suffix` keeps its leading dot, so `example.com` itself does not match.
            Some(suffix) => host.len() > suffix.len() && host.ends_with(suffix),
            None => self.pattern == host,
        }
    }
}

impl fmt::Display for HostRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
        write!(f, "{}:{}", bracketed(&self.pattern), ports.join(","))
    }
}

impl FromStr for HostRule {
    type Err = RuleError;

    /// Accepts `HOST`, `HOST:PORT`, `HOST:PORT,PORT`, `*.example.com:8443`, `[::1]`,
    /// `[::1]:8080`, `127.0.0.1:5432`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |msg: String| RuleError { msg };
        let t = s.trim();
        if t.is_empty() {
            return Err(err("empty rule; expected HOST or HOST:PORT".into()));
        }
        if t.contains("://") || t.contains('/') {
            return Err(err(
                "give a host name, not a URL (e.g. api.example.com:443)".into(),
            ));
        }
        let (host, ports) = if let Some(rest) = t.strip_prefix('[') {
            let (inside, after) = rest
                .split_once(']')
                .ok_or_else(|| err("missing ']' after IPv6 address".into()))?;
            if inside.parse::<Ipv6Addr>().is_err() {
                return Err(err("the text inside [...] is not an IPv6 address".into()));
            }
            match after {
                "" => (inside, None),
                _ => match after.strip_prefix(':') {
                    Some(p) => (inside, Some(p)),
                    None => return Err(err("expected ':PORT' after ']'".into())),
                },
            }
        } else if t.matches(':').count() > 1 {
            // A bare "::1:80" is itself a valid IPv6 address: brackets remove the ambiguity.
            return Err(err(
                "write IPv6 addresses in brackets: [ADDRESS] or [ADDRESS]:PORT".into(),
            ));
        } else {
            match t.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (t, None),
            }
        };
        let pattern = normalize_pattern(host).map_err(err)?;
        let ports = match ports {
            None => DEFAULT_PORTS.to_vec(),
            Some(p) => parse_ports(p).map_err(err)?,
        };
        Ok(HostRule { pattern, ports })
    }
}

fn parse_ports(s: &str) -> Result<Vec<u16>, String> {
    if s.trim().is_empty() {
        return Err("missing port after ':'".into());
    }
    let mut out = Vec::new();
    for p in s.split(',') {
        let p = p.trim();
        let n: u16 = match p.parse() {
            Ok(n) => n,
            Err(_) => return Err("a port is not a number in 1-65535".into()),
        };
        if n == 0 {
            return Err("port 0 is not allowed".into());
        }
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

/// Second-level labels under which whole countries register names (`co.uk`, `com.au`): a
/// wildcard right above them admits every company of that country. A heuristic, not the
/// public-suffix list, which we do not ship.
const PUBLIC_SECOND_LEVELS: &[&str] = &[
    "ac", "co", "com", "edu", "gov", "gob", "go", "mil", "ne", "net", "or", "org",
];

fn normalize_pattern(host: &str) -> Result<String, String> {
    if host.is_empty() {
        return Err("empty host".into());
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip.to_string());
    }
    let lower = host.to_ascii_lowercase();
    let lower = lower.strip_suffix('.').unwrap_or(&lower);
    if lower == "*" {
        return Err("'*' would admit every host; list the hosts instead".into());
    }
    if let Some(rest) = lower.strip_prefix("*.") {
        if rest.contains('*') {
            return Err("'*' is only allowed once, as the first label".into());
        }
        validate_name(rest)?;
        let labels: Vec<&str> = rest.split('.').collect();
        if labels.len() < 2 {
            return Err(
                "the wildcard covers a whole top-level domain; name at least two labels after '*.' (e.g. *.example.com)".into()
            );
        }
        if labels.len() == 2 && labels[1].len() == 2 && PUBLIC_SECOND_LEVELS.contains(&labels[0]) {
            return Err(format!(
                "wildcard *.{rest} covers a public registry suffix; name the domain (e.g. *.example.{rest})"
            ));
        }
        return Ok(format!("*.{rest}"));
    }
    if lower.contains('*') {
        return Err("'*' is only allowed as the first label, as in *.example.com".into());
    }
    validate_name(lower)?;
    Ok(lower.to_string())
}

/// Checks a lower-case DNS name (no wildcard, no trailing dot).
fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty host".into());
    }
    if name.len() > 253 {
        return Err("host name longer than 253 characters".into());
    }
    let mut last = "";
    for label in name.split('.') {
        if label.is_empty() {
            return Err("empty label in the host name".into());
        }
        if label.len() > 63 {
            return Err("a label is longer than 63 characters".into());
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!("character {c:?} not allowed in a host name"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label starts or ends with '-'".into());
        }
        last = label;
    }
    // No top-level domain is numeric; such a "name" is an IP address in a form that
    // inet_aton() would accept (`127.1`, `0x7f.1`) and must not slip past the IP checks.
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the name looks like a malformed IP address".into());
    }
    Ok(())
}

/// Canonical form of a requested host (no brackets): lower case, trailing dot removed, IP
/// literals in their standard text form. `None` if it is neither a valid name nor an IP.
pub fn normalize_host(host: &str) -> Option<String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(ip.to_string());
    }
    let lower = host.to_ascii_lowercase();
    let lower = lower.strip_suffix('.').unwrap_or(&lower);
    validate_name(lower).ok()?;
    Some(lower.to_string())
}

fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// The hosts (and ports) the agent may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Allowlist {
    rules: Vec<HostRule>,
}

impl Allowlist {
    /// An allowlist of these rules, in order.
    pub fn new(rules: Vec<HostRule>) -> Self {
        Allowlist { rules }
    }

    /// Which rule admits host:port (case-insensitive, trailing dot ignored; "*.example.com"
    /// matches subdomains only, not example.com itself). A rule naming the exact host wins over
    /// a wildcard, because only an exact rule may open private addresses (see [`check_addr`]).
    pub fn matches(&self, host: &str, port: u16) -> Option<&HostRule> {
        let host = normalize_host(
            host.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(host),
        )?;
        let admits = |r: &&HostRule| r.ports.contains(&port) && r.admits_name(&host);
        self.rules
            .iter()
            .filter(|r| !r.is_wildcard())
            .find(admits)
            .or_else(|| self.rules.iter().filter(|r| r.is_wildcard()).find(admits))
    }

    /// True if some rule names this host on any port (to explain a refusal better).
    pub fn knows_host(&self, host: &str) -> bool {
        match normalize_host(host) {
            Some(h) => self.rules.iter().any(|r| r.admits_name(&h)),
            None => false,
        }
    }
}

/// Kind of address that [`check_addr`] refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddrClass {
    /// Link-local or a cloud metadata endpoint: never reachable.
    LinkLocalMetadata,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// RFC 1918, CGNAT 100.64.0.0/10, unique-local fc00::/7, site-local fec0::/10.
    Private,
    /// 0.0.0.0/8, ::.
    Unspecified,
    /// 224.0.0.0/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// 240.0.0.0/4 and deprecated IPv4-compatible IPv6 (::a.b.c.d).
    Reserved,
}

impl fmt::Display for AddrClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddrClass::LinkLocalMetadata => "link-local/metadata",
            AddrClass::Loopback => "loopback",
            AddrClass::Private => "private",
            AddrClass::Unspecified => "unspecified",
            AddrClass::Multicast => "multicast",
            AddrClass::Broadcast => "broadcast",
            AddrClass::Reserved => "reserved",
        })
    }
}

/// A resolved address the policy refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The address as resolved.
    pub addr: IpAddr,
    /// Why it is special.
    pub class: AddrClass,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "address {} is {}", self.addr, self.class)?;
        if self.class != AddrClass::LinkLocalMetadata {
            f.write_str(" (only a rule naming this exact host admits it)")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refusal {}

/// Address policy after resolution: link-local and cloud metadata (169.254.0.0/16, fe80::/10,
/// fd00:ec2::254, 100.100.100.200) ALWAYS refused; loopback, private (10/8, 172.16/12,
/// 192.168/16, 100.64/10, fc00::/7), unspecified, multicast, broadcast refused unless
/// `explicit` (the matching rule names this exact host, not a wildcard). IPv4-mapped IPv6
/// (and the NAT64 prefix 64:ff9b::/96) is judged as the IPv4 address it carries.
pub fn check_addr(ip: IpAddr, explicit: bool) -> Result<(), Refusal> {
    match classify(ip) {
        None => Ok(()),
        Some(class) if explicit && class != AddrClass::LinkLocalMetadata => Ok(()),
        Some(class) => Err(Refusal { addr: ip, class }),
    }
}

fn classify(ip: IpAddr) -> Option<AddrClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddrClass> {
    let o = ip.octets();
    let class = if (o[0] == 169 && o[1] == 254) || ip == Ipv4Addr::new(100, 100, 100, 200) {
        AddrClass::LinkLocalMetadata
    } else if o[0] == 127 {
        AddrClass::Loopback
    } else if o[0] == 0 {
        AddrClass::Unspecified
    } else if o[0] == 10
        || (o[0] == 172 && (o[1] & 0xf0) == 16)
        || (o[0] == 192 && o[1] == 168)
        || (o[0] == 100 && (o[1] & 0xc0) == 64)
    {
        AddrClass::Private
    } else if ip.is_broadcast() {
        AddrClass::Broadcast
    } else if (o[0] & 0xf0) == 224 {
        AddrClass::Multicast
    } else if (o[0] & 0xf0) == 240 {
        AddrClass::Reserved
    } else {
        return None;
    };
    Some(class)
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddrClass> {
    let s = ip.segments();
    // ::ffff:a.b.c.d reaches the IPv4 host; 64:ff9b::/96 reaches it through a NAT64 gateway.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return classify_v4(v4);
    }
    let class =
        if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) || (s[0] & 0xffc0) == 0xfe80 {
            AddrClass::LinkLocalMetadata
        } else if ip.is_loopback() {
            AddrClass::Loopback
        } else if ip.is_unspecified() {
            AddrClass::Unspecified
        } else if (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfec0 {
            AddrClass::Private
        } else if (s[0] & 0xff00) == 0xff00 {
            AddrClass::Multicast
        } else if s[..6] == [0, 0, 0, 0, 0, 0] {
            AddrClass::Reserved
        } else {
            return None;
        };
    Some(class)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(s: &str) -> HostRule {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn refused(s: &str) -> String {
        match s.parse::<HostRule>() {
            Ok(r) => panic!("{s} accepted as {r:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(rule("api.example.com").ports, vec![80, 443]);
        assert_eq!(rule("API.Example.COM.").pattern, "api.example.com");
        let r = rule("api.example.com:443");
        assert_eq!(
            (r.pattern.as_str(), r.ports.clone()),
            ("api.example.com", vec![443])
        );
        let r = rule("*.example.com:8443");
        assert!(r.is_wildcard());
        assert_eq!(r.ports, vec![8443]);
        let r = rule("[::1]:8080");
        assert_eq!((r.pattern.as_str(), r.ports.clone()), ("::1", vec![8080]));
        assert_eq!(r.to_string(), "[::1]:8080");
        assert_eq!(rule("[0:0::1]").pattern, "::1");
        assert_eq!(rule("[::1]").ports, vec![80, 443]);
        let r = rule("127.0.0.1:5432");
        assert_eq!(
            (r.pattern.as_str(), r.ports.clone()),
            ("127.0.0.1", vec![5432])
        );
        assert_eq!(rule("localhost:80,443,80").ports, vec![80, 443]);
        assert_eq!(
            rule("  my_host-1.internal:1 ").pattern,
            "my_host-1.internal"
        );
    }

    #[test]
    fn refuses_overbroad_and_garbage_rules() {
        assert!(refused("*").contains("every host"));
        assert!(refused("*:443").contains("every host"));
        assert!(refused("*.com").contains("top-level"));
        assert!(refused("*.com:443").contains("top-level"));
        assert!(refused("*.co.uk").contains("public registry"));
        assert!(refused("*.com.au").contains("public registry"));
        assert!(refused("").contains("empty"));
        assert!(refused("   ").contains("empty"));
        assert!(refused("example.com:0").contains("port 0"));
        assert!(refused("example.com:").contains("missing port"));
        assert!(refused("example.com:70000").contains("not a number"));
        assert!(refused("example.com:http").contains("not a number"));
        assert!(refused("https://example.com").contains("URL"));
        assert!(refused("exa mple.com").contains("not allowed"));
        assert!(refused("foo.*.com").contains("first label"));
        assert!(refused("*foo.com").contains("first label"));
        assert!(refused("*.*.example.com").contains("only allowed once"));
        assert!(refused("a..b").contains("empty label"));
        assert!(refused("-a.com").contains("'-'"));
        assert!(refused("::1:80").contains("brackets"));
        assert!(refused("::1").contains("brackets"));
        assert!(refused("[::1").contains("']'"));
        assert!(refused("[::1]80").contains("':PORT'"));
        assert!(refused("[example.com]:80").contains("not an IPv6"));
        assert!(refused("127.1").contains("malformed IP"));
        assert!(refused(&format!("{}.com", "a".repeat(64))).contains("63"));
        // Accepted: two real labels under the wildcard.
        assert_eq!(rule("*.example.co.uk").pattern, "*.example.co.uk");
        assert_eq!(rule("*.github.io").pattern, "*.github.io");
    }

    #[test]
    fn matches_names_ports_and_wildcards() {
        let a = Allowlist::new(vec![
            rule("api.example.com:443"),
            rule("*.example.org"),
            rule("[::1]:8080"),
            rule("127.0.0.1:5432"),
        ]);
        assert!(a.matches("api.example.com", 443).is_some());
        assert!(a.matches("API.EXAMPLE.COM.", 443).is_some());
        assert!(a.matches("api.example.com", 80).is_none());
        assert!(a.matches("other.example.com", 443).is_none());
        assert!(a.matches("x.example.org", 80).is_some());
        assert!(a.matches("a.b.example.org", 443).is_some());
        assert!(a.matches("example.org", 443).is_none());
        assert!(a.matches("badexample.org", 443).is_none());
        assert!(a.matches("::1", 8080).is_some());
        assert!(a.matches("[::1]", 8080).is_some());
        assert!(a.matches("0:0::1", 8080).is_some());
        assert!(a.matches("127.0.0.1", 5432).is_some());
        assert!(a.matches("127.0.0.1", 80).is_none());
        assert!(a.matches("", 80).is_none());
        assert!(a.matches("evil.com\r\n", 80).is_none());
        assert!(a.knows_host("api.example.com"));
        assert!(!a.knows_host("example.net"));
    }

    #[test]
    fn exact_rule_wins_over_wildcard() {
        let a = Allowlist::new(vec![rule("*.example.com"), rule("db.example.com")]);
        let r = a.matches("db.example.com", 443).map(|r| r.pattern.as_str());
        assert_eq!(r, Some("db.example.com"));
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn metadata_and_link_local_always_refused() {
        for a in [
            "169.254.169.254",
            "169.254.0.1",
            "100.100.100.200",
            "fe80::1",
            "febf::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            let e = check_addr(ip(a), true).unwrap_err();
            assert_eq!(e.class, AddrClass::LinkLocalMetadata, "{a}");
            assert!(check_addr(ip(a), false).is_err(), "{a}");
        }
        assert_eq!(
            check_addr(ip("169.254.169.254"), true)
                .unwrap_err()
                .to_string(),
            "address 169.254.169.254 is link-local/metadata"
        );
    }

    #[test]
    fn special_addresses_need_an_explicit_rule() {
        for (a, class) in [
            ("127.0.0.1", AddrClass::Loopback),
            ("127.8.9.10", AddrClass::Loopback),
            ("::1", AddrClass::Loopback),
            ("::ffff:127.0.0.1", AddrClass::Loopback),
            ("10.1.2.3", AddrClass::Private),
            ("172.16.0.1", AddrClass::Private),
            ("172.31.255.255", AddrClass::Private),
            ("192.168.1.1", AddrClass::Private),
            ("100.64.0.1", AddrClass::Private),
            ("100.127.255.255", AddrClass::Private),
            ("fc00::1", AddrClass::Private),
            ("fd12:3456::1", AddrClass::Private),
            ("::ffff:10.0.0.1", AddrClass::Private),
            ("0.0.0.0", AddrClass::Unspecified),
            ("::", AddrClass::Unspecified),
            ("224.0.0.1", AddrClass::Multicast),
            ("ff02::1", AddrClass::Multicast),
            ("255.255.255.255", AddrClass::Broadcast),
            ("240.0.0.1", AddrClass::Reserved),
            ("::7f00:1", AddrClass::Reserved),
        ] {
            assert_eq!(check_addr(ip(a), false).unwrap_err().class, class, "{a}");
            assert!(check_addr(ip(a), true).is_ok(), "{a}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for a in [
            "1.1.1.1",
            "172.32.0.1",
            "172.15.255.255",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(check_addr(ip(a), false).is_ok(), "{a}");
        }
    }

    #[test]
    fn mode_serializes_lowercase() {
        assert_eq!(
            serde_json::to_string(&NetMode::Allowlist).unwrap(),
            "\"allowlist\""
        );
        let m: NetMode = serde_json::from_str("\"off\"").unwrap();
        assert_eq!(m, NetMode::Off);
        let a = Allowlist::new(vec![rule("example.com:443")]);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"[{"pattern":"example.com","ports":[443]}]"#
        );
    }
}
