use super::*;
use std::collections::BTreeMap;

fn inputs<'a>(
    flags: &'a [String],
    allow: &'a Allowlist,
    var: &'a dyn Fn(&str) -> Option<String>,
    vars: &'a Vars,
) -> CredInputs<'a> {
    CredInputs {
        flags,
        allow_env: &[],
        allow,
        mode: NetMode::Allowlist,
        var,
        vars,
        tmpdir: Path::new("/tmp"),
        caller_ca: Some(PathBuf::from("/test/ca.pem")),
        system_ca: Some(PathBuf::from("/etc/ssl/certs/ca-certificates.crt")),
    }
}

fn allow(hosts: &[&str]) -> Allowlist {
    Allowlist::new(hosts.iter().map(|h| h.parse().unwrap()).collect())
}

fn declared(
    name: &str,
    hosts: &[&str],
    when: Option<CredentialWhen>,
) -> BTreeMap<String, Credential> {
    [(
        name.to_string(),
        Credential {
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            when,
            ..Default::default()
        },
    )]
    .into()
}

const KEY: &str = "sk-ant-api03-0123456789abcdefghij";

#[test]
fn injected_with_its_shape_hosts_and_interception() {
    let a = allow(&["api.anthropic.com:443", "127.0.0.1:8080"]);
    let var = |n: &str| (n == "ANTHROPIC_API_KEY").then(|| KEY.to_string());
    let vars = Vars::default();
    let flags = vec!["ANTHROPIC_API_KEY=http://127.0.0.1:8080".to_string()];
    let p = plan(
        &declared(
            "ANTHROPIC_API_KEY",
            &["api.anthropic.com"],
            Some(CredentialWhen::IfSet),
        ),
        &inputs(&flags, &a, &var, &vars),
    )
    .unwrap();
    let c = &p.credentials[0];
    assert_eq!(c.state, CredState::Injected);
    assert_eq!(c.placeholder.prefix, "sk-ant-api03-");
    let hosts: Vec<String> = c.hosts.iter().map(|h| h.to_string()).collect();
    assert_eq!(hosts, ["api.anthropic.com", "http://127.0.0.1:8080"]);
    let i = p.interception.as_ref().unwrap();
    assert_eq!(i.hosts, ["api.anthropic.com"]);
    assert_eq!(i.ca_bundle, Path::new("/tmp/agentbox-ca.pem"));
    let env = p.env(None);
    assert!(env
        .iter()
        .any(|(k, v)| k == "NODE_EXTRA_CA_CERTS" && v == "/tmp/agentbox-ca.pem"));
    assert_eq!(env.len(), TRUST_VARS.len());
    let st = p.status();
    assert_eq!(
        st,
        ["ANTHROPIC_API_KEY: placeholder, injected for api.anthropic.com, http://127.0.0.1:8080"]
    );
    // The plan holds no value.
    assert!(!serde_json::to_string(&p).unwrap().contains(KEY));
}

#[test]
fn absent_if_set_is_reported_required_refuses() {
    let a = allow(&["api.anthropic.com:443"]);
    let var = |_: &str| None;
    let vars = Vars::default();
    let p = plan(
        &declared(
            "CLAUDE_CODE_OAUTH_TOKEN",
            &["api.anthropic.com"],
            Some(CredentialWhen::IfSet),
        ),
        &inputs(&[], &a, &var, &vars),
    )
    .unwrap();
    assert!(matches!(p.credentials[0].state, CredState::Absent(_)));
    assert!(p.interception.is_none());
    let e = plan(
        &declared("MY_KEY", &["api.anthropic.com"], None),
        &inputs(&[], &a, &var, &vars),
    )
    .unwrap_err();
    assert!(matches!(e, CredError::Missing { .. }), "{e}");
}

#[test]
fn hosts_must_be_allowed_and_named() {
    let a = allow(&["api.example.com:443"]);
    let var = |_: &str| Some("x".repeat(40));
    let vars = Vars::default();
    let flags = vec!["MY_KEY=other.example.com".to_string()];
    let e = plan(&BTreeMap::new(), &inputs(&flags, &a, &var, &vars)).unwrap_err();
    assert_eq!(
        e,
        CredError::HostNotAllowed {
            name: "MY_KEY".into(),
            host: "other.example.com:443".into()
        }
    );
    assert!(e.to_string().contains("--allow-host other.example.com:443"));
    let flags = vec!["MY_KEY".to_string()];
    assert!(matches!(
        plan(&BTreeMap::new(), &inputs(&flags, &a, &var, &vars)).unwrap_err(),
        CredError::Undeclared(_)
    ));
    let flags = vec!["MY_KEY=*.example.com".to_string()];
    assert!(matches!(
        plan(&BTreeMap::new(), &inputs(&flags, &a, &var, &vars)).unwrap_err(),
        CredError::BadHost { .. }
    ));
    let short = |_: &str| Some("short".to_string());
    let flags = vec!["MY_KEY=api.example.com".to_string()];
    assert!(matches!(
        plan(&BTreeMap::new(), &inputs(&flags, &a, &short, &vars)).unwrap_err(),
        CredError::TooShort(_)
    ));
}

#[test]
fn named_only_when_named_and_git_helper() {
    let a = allow(&["github.com:443"]);
    let var = |_: &str| Some(format!("ghp_{}", "a".repeat(36)));
    let vars = Vars::default();
    let mut d = declared("GH_TOKEN", &["github.com"], Some(CredentialWhen::Named));
    d.get_mut("GH_TOKEN").unwrap().git = Some(true);
    let p = plan(&d, &inputs(&[], &a, &var, &vars)).unwrap();
    assert_eq!(p.credentials[0].state, CredState::NotNamed);
    assert!(p.env(None).is_empty() && p.status().is_empty());
    let flags = vec!["GH_TOKEN".to_string()];
    let p = plan(&d, &inputs(&flags, &a, &var, &vars)).unwrap();
    assert_eq!(p.credentials[0].state, CredState::Injected);
    let env = p.env(Some("1"));
    let get = |k: &str| env.iter().find(|x| x.0 == k).map(|x| x.1.clone());
    assert_eq!(get("GIT_CONFIG_COUNT").as_deref(), Some("3"));
    assert_eq!(
        get("GIT_CONFIG_KEY_1").as_deref(),
        Some("credential.https://github.com.helper")
    );
    assert_eq!(get("GIT_CONFIG_VALUE_1").as_deref(), Some(""));
    assert!(get("GIT_CONFIG_VALUE_2").unwrap().contains("\"$GH_TOKEN\""));
}
