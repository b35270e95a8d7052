//! The protection layers of a launch, by id: whether each applies here, and the refusal when
//! one the profile requires cannot.

use serde::Serialize;

/// A protection layer (also the name used in `sandbox.optional`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayerId {
    /// Secret-like variables removed.
    Environment,
    /// User, mount, pid, ipc and net namespaces.
    Namespaces,
    /// Landlock's filesystem allow-list.
    Landlock,
    /// Landlock's truncate right (ABI 3).
    LandlockTruncate,
    /// Landlock's ioctl right on devices (ABI 5).
    LandlockIoctlDev,
    /// Landlock's scopes: abstract unix sockets and signals (ABI 6).
    LandlockScopes,
    /// The network mode.
    Network,
    /// The seccomp deny list.
    Seccomp,
    /// PR_SET_NO_NEW_PRIVS.
    NoNewPrivs,
    /// Every capability set emptied.
    Capabilities,
}

impl LayerId {
    /// Every layer, in the order they are applied.
    pub const ALL: [LayerId; 10] = [
        LayerId::Environment,
        LayerId::Namespaces,
        LayerId::Landlock,
        LayerId::LandlockTruncate,
        LayerId::LandlockIoctlDev,
        LayerId::LandlockScopes,
        LayerId::Network,
        LayerId::Seccomp,
        LayerId::NoNewPrivs,
        LayerId::Capabilities,
    ];

    /// The id as written in profiles and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            LayerId::Environment => "environment",
            LayerId::Namespaces => "namespaces",
            LayerId::Landlock => "landlock",
            LayerId::LandlockTruncate => "landlock-truncate",
            LayerId::LandlockIoctlDev => "landlock-ioctl-dev",
            LayerId::LandlockScopes => "landlock-scopes",
            LayerId::Network => "network",
            LayerId::Seccomp => "seccomp",
            LayerId::NoNewPrivs => "no-new-privs",
            LayerId::Capabilities => "capabilities",
        }
    }
}

impl std::fmt::Display for LayerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for LayerId {
    type Err = ();
    fn from_str(s: &str) -> Result<LayerId, ()> {
        LayerId::ALL.into_iter().find(|l| l.as_str() == s).ok_or(())
    }
}

/// Landlock features by minimum ABI.
pub const LANDLOCK_FEATURES: &[(LayerId, i32, &str)] = &[
    (LayerId::Landlock, 1, "filesystem access control"),
    (
        LayerId::LandlockTruncate,
        3,
        "truncation of files outside writable trees",
    ),
    (LayerId::LandlockIoctlDev, 5, "ioctl on device files"),
    (
        LayerId::LandlockScopes,
        6,
        "abstract unix sockets and signals to processes outside the box",
    ),
];

/// Whether a layer is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It will be applied.
    Applied,
    /// It will not be applied; the reason says why.
    Skipped,
}

/// One protection layer and whether it applies here.
#[derive(Debug, Clone, Serialize)]
pub struct Layer {
    /// Which layer.
    pub id: LayerId,
    /// Applied or skipped.
    pub status: Status,
    /// What it does here, or why it is skipped.
    pub detail: String,
    /// Whether the profile requires it (a required layer that is skipped refuses the launch).
    pub required: bool,
}

/// A layer the profile requires that this host cannot give: the launch is refused, naming
/// what is missing and the setting that relaxes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The layer that cannot apply.
    pub layer: LayerId,
    /// What this host lacks (a kernel feature, a sysctl, an ABI).
    pub missing: String,
    /// The profile setting that lets the layer go (`--best-effort` lets every layer go).
    pub relax: String,
}

impl Refusal {
    /// A refusal of `layer`, relaxed by listing it in `sandbox.optional`.
    pub fn new(layer: LayerId, missing: String) -> Refusal {
        Refusal {
            layer,
            missing,
            relax: format!("sandbox.optional: [{layer}]"),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}; relax with --best-effort or `{}` in the profile",
            self.layer, self.missing, self.relax
        )
    }
}

/// The layers being decided, with the refusals they cause.
#[derive(Debug, Default)]
pub struct Layers {
    /// Decided so far, in order.
    pub list: Vec<Layer>,
    /// Why the launch would be refused.
    pub refusals: Vec<Refusal>,
    /// Layers the profile or `--best-effort` lets go.
    pub optional: Vec<LayerId>,
}

impl Layers {
    /// Decide a layer: applied when `ok`; a required one that is not refuses the launch,
    /// naming the setting that relaxes it.
    pub fn push(&mut self, id: LayerId, ok: bool, detail: String, why_not: String, required: bool) {
        let required = required && !self.optional.contains(&id);
        if !ok && required {
            self.refusals.push(Refusal::new(id, why_not.clone()));
        }
        self.list.push(Layer {
            id,
            status: if ok { Status::Applied } else { Status::Skipped },
            detail: if ok { detail } else { why_not },
            required,
        });
    }

    /// Is `id` optional here?
    pub fn is_optional(&self, id: LayerId) -> bool {
        self.optional.contains(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_refusals_name_the_fix() {
        for l in LayerId::ALL {
            assert_eq!(l.as_str().parse::<LayerId>(), Ok(l));
        }
        assert!("bogus".parse::<LayerId>().is_err());
        let mut ls = Layers {
            optional: vec![LayerId::Namespaces],
            ..Default::default()
        };
        ls.push(
            LayerId::Namespaces,
            false,
            "x".into(),
            "none here".into(),
            true,
        );
        ls.push(
            LayerId::Seccomp,
            false,
            "x".into(),
            "none here".into(),
            true,
        );
        assert_eq!(ls.refusals.len(), 1);
        assert_eq!(ls.refusals[0].layer, LayerId::Seccomp);
        assert!(ls.refusals[0]
            .to_string()
            .contains("`sandbox.optional: [seccomp]`"));
        assert!(!ls.list[0].required);
    }
}
