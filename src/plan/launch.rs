//! The launch spec: every decision the sandbox applies (mounts and their keep-list, private
//! tmpfs mounts, Landlock rules, ABI and ports, the seccomp spec, listeners inside the network
//! namespace, the bounding set), made here from the rest of the plan, so `--dry-run --json`
//! prints exactly what is applied.

use super::fs::{Grant, Origin, Rule};
use super::layers::LayerId;
use super::Plan;
use crate::net::policy::NetMode;
use crate::sandbox::seccomp::SeccompSpec;
use crate::sandbox::spec::{LandlockAbi, LandlockOpts, LandlockRule, LandlockSpec, NsSpec};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// What the sandbox applies.
#[derive(Debug, Clone, Serialize)]
pub struct LaunchPlan {
    /// The namespace layer's mounts, when it applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<NsSpec>,
    /// The Landlock layer, when it applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landlock: Option<LandlockSpec>,
    /// The seccomp layer, when it applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<SeccompSpec>,
    /// Addresses listened on inside the box's network namespace (the proxy first, then the
    /// listed local services), whose sockets go to the supervisor.
    pub listen_inside: Vec<SocketAddr>,
    /// Every capability set, the bounding set included, must come out empty (root, or a user
    /// namespace: agentbox holds CAP_SETPCAP then).
    pub require_empty_bounding: bool,
}

/// Decide the launch spec from the rest of the plan.
pub fn plan(p: &Plan, resolv_conf: Option<&Path>, euid_root: bool) -> LaunchPlan {
    let local: Vec<SocketAddr> = p
        .network
        .local
        .iter()
        .filter_map(|l| l.parse().ok())
        .collect();
    let listen_inside = if p.namespaces.net {
        let proxy = (p.network.mode == NetMode::Allowlist)
            .then(|| SocketAddr::from(([127, 0, 0, 1], super::net::PROXY_PORT_IN_NS)));
        proxy.into_iter().chain(local.iter().copied()).collect()
    } else {
        vec![]
    };
    LaunchPlan {
        namespaces: p.namespaces.enabled.then(|| namespaces(p, resolv_conf)),
        landlock: p.applied(LayerId::Landlock).then(|| landlock(p, &local)),
        seccomp: p.applied(LayerId::Seccomp).then(|| p.seccomp.clone()),
        listen_inside,
        // Matches the plan's capabilities layer text.
        require_empty_bounding: p.namespaces.enabled || euid_root,
    }
}

/// The mounts of the namespace layer.
fn namespaces(p: &Plan, resolv_conf: Option<&Path>) -> NsSpec {
    let in_tmp = p.tmpdir == Path::new("/tmp");
    NsSpec {
        net: p.namespaces.net,
        masked: p.namespaces.masked.clone(),
        private_writable: if in_tmp {
            vec![PathBuf::from("/tmp"), PathBuf::from("/dev/shm")]
        } else {
            vec![PathBuf::from("/dev/shm")]
        },
        // Only with Landlock, which then refuses every write there.
        landlock_guarded: if p.applied(LayerId::Landlock) {
            p.namespaces.masked.clone()
        } else {
            vec![]
        },
        extra_tmpfs: if in_tmp {
            vec![]
        } else {
            vec![p.tmpdir.clone()]
        },
        hidden: p.filesystem.hidden.clone(),
        read_only: p
            .filesystem
            .protect
            .iter()
            .chain(&p.filesystem.toolchains_read_only)
            .cloned()
            .collect(),
        pinned: pinned_dirs(&p.filesystem.protect, &p.workspace),
        private_pts: p
            .filesystem
            .rules
            .iter()
            .any(|r| r.path == Path::new("/dev/pts")),
        keep: keep_list(p, resolv_conf),
        skeleton: p.namespaces.skeleton.clone(),
        shadows: p.git.views.clone(),
    }
}

/// Paths under a masked tree that must stay visible: what a rule grants there (a workspace in
/// /tmp, toolchains in the masked home) and /etc/resolv.conf's target (often in /run).
fn keep_list(p: &Plan, resolv_conf: Option<&Path>) -> Vec<PathBuf> {
    let mut keep: Vec<PathBuf> = resolv_conf.map(Path::to_path_buf).into_iter().collect();
    for r in &p.filesystem.rules {
        if !matches!(r.origin, Origin::Split { .. }) {
            keep.push(r.path.clone());
        }
    }
    keep.push(p.workspace.clone());
    let masked = &p.namespaces.masked;
    keep.retain(|k| masked.iter().any(|m| k.starts_with(m) && k != m));
    keep.sort();
    keep.dedup();
    // A path inside another kept path comes along with it.
    let all = keep.clone();
    keep.retain(|k| !all.iter().any(|o| o != k && k.starts_with(o)));
    keep
}

/// The directories between the workspace and each protected path (`.git` for `.git/hooks`):
/// a mount point cannot be renamed, so the read-only mounts below cannot be swapped away.
fn pinned_dirs(protect: &[PathBuf], workspace: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for p in protect {
        let Ok(rel) = p.strip_prefix(workspace) else {
            continue;
        };
        let mut cur = workspace.to_path_buf();
        let comps: Vec<_> = rel.components().collect();
        for c in comps.iter().take(comps.len().saturating_sub(1)) {
            cur.push(c);
            if !out.contains(&cur) {
                out.push(cur.clone());
            }
        }
    }
    out
}

/// The Landlock layer: the plan's rules (plus the private /dev/shm the namespace layer makes),
/// scopes, and the TCP ports without a network namespace.
fn landlock(p: &Plan, local: &[SocketAddr]) -> LandlockSpec {
    let mut rules: Vec<Rule> = p.filesystem.rules.clone();
    if p.namespaces.enabled {
        rules.push(Rule {
            path: PathBuf::from("/dev/shm"),
            access: Grant::Write,
            origin: Origin::PrivateShm,
        });
    }
    let fallback_net = !p.namespaces.enabled
        && p.network.mode != NetMode::Unrestricted
        && p.kernel.landlock_abi >= 4;
    LandlockSpec {
        rules: rules
            .into_iter()
            .map(|r| LandlockRule {
                nofollow: matches!(r.origin, Origin::Split { .. }),
                path: r.path,
                access: r.access,
            })
            .collect(),
        abi: LandlockAbi(p.kernel.landlock_abi.clamp(0, 255) as u8),
        opts: LandlockOpts {
            scopes: p.applied(LayerId::LandlockScopes),
            // Without a network namespace Landlock restricts TCP to the proxy and the listed
            // services (ports only); `off` then allows no TCP at all. With the connect broker
            // it allows no TCP connect at all: the broker makes them.
            net_connect: fallback_net.then(|| {
                if p.network.connect_broker {
                    return vec![];
                }
                let mut ports: Vec<u16> = p.network.host_proxy_port.into_iter().collect();
                ports.extend(local.iter().map(|a| a.port()));
                ports
            }),
            net_bind: p.network.listen.clone(),
        },
    }
}
