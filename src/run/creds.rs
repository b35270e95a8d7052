//! The credentials of a launch, before the fork: their values read into the supervisor's memory,
//! placeholders made and put in the box's environment, the per-run CA made (its key stays in
//! memory) and the box's CA bundle prepared for the child to write into its temp dir.

use std::sync::Arc;

use crate::net::inject::tls::{box_bundle, Interceptor};
use crate::net::inject::Injector;
use crate::plan::env::ChildEnv;
use crate::plan::Plan;

/// What the credentials give the launch.
#[derive(Default)]
pub(super) struct Creds {
    /// For the proxy.
    pub injector: Option<Arc<Injector>>,
    /// `(path as the box sees it, content)`: the CA bundle.
    pub box_files: Vec<(std::path::PathBuf, Vec<u8>)>,
}

/// Reads the values, sets the placeholders, makes the CA. An error refuses the launch.
pub(super) fn prepare(plan: &Plan, env: &mut ChildEnv) -> anyhow::Result<Creds> {
    let cp = &plan.credentials;
    if cp.injected().next().is_none() {
        return Ok(Creds::default());
    }
    let loaded = crate::cred::load(cp, |n| std::env::var_os(n))?;
    let placeholders: Vec<String> = loaded.placeholders.iter().map(|p| p.1.clone()).collect();
    // agentbox's own placeholders are never flagged or masked by the detector.
    crate::detect::allow_exact(&placeholders);
    for (name, p) in &loaded.placeholders {
        env.vars.insert(name.into(), p.into());
    }
    for c in &loaded.creds {
        // The real values are masked exactly in the box's output (`--redact-output`).
        let v = String::from_utf8_lossy(c.real_bytes()).into_owned();
        if !env.removed_values.contains(&v) {
            env.removed_values.push(v);
        }
    }
    let mut out = Creds::default();
    let tls = match &cp.interception {
        Some(i) => {
            let t = Interceptor::new(i.upstream_roots.clone())?;
            let bundle = box_bundle(i.own_trust.as_deref(), &t.ca_pem());
            out.box_files.push((i.ca_bundle.clone(), bundle));
            Some(t)
        }
        None => None,
    };
    out.injector = Some(Arc::new(Injector::new(loaded.creds, tls)));
    Ok(out)
}
