//! What the supervisor runs beside the box: the proxy (on the host's loopback without a
//! network namespace, or on the listener made inside the box's), forwards to listed local
//! services, the connect broker, and the output redaction pumps. Threads start only after the
//! fork (the child must not inherit half-held locks).

use crate::net::broker;
use crate::net::proxy::{self, Decision, ProxyConfig, ProxyHandle};
use crate::plan::NetRules;
use std::os::fd::OwnedFd;

/// Everything started for one launch, to be stopped after it.
#[derive(Default)]
pub struct Services {
    rules: NetRules,
    token: Option<String>,
    has_proxy: bool,
    host_listener: Option<std::net::TcpListener>,
    broker_pending: Option<broker::Pending>,
    pump_ends: Option<((OwnedFd, OwnedFd), (OwnedFd, OwnedFd))>,
    removed_values: Vec<String>,
    proxies: Vec<ProxyHandle>,
    forwards: Vec<crate::net::forward::ForwardHandle>,
    broker: Option<broker::Handle>,
    pumps: Vec<std::thread::JoinHandle<()>>,
    dns: Option<crate::net::dns::Handle>,
    inject: Option<std::sync::Arc<crate::net::inject::Injector>>,
}

/// What the services saw, for the report.
pub struct Stopped {
    /// Every proxy decision.
    pub decisions: Vec<Decision>,
    /// Connects the broker refused.
    pub brokered: broker::Stats,
    /// Names the box looked up (not those the allowlist admits).
    pub looked_up: crate::net::dns::Names,
}

impl Services {
    /// Prepare (before fork): nothing runs yet.
    pub fn new(
        rules: NetRules,
        has_proxy: bool,
        host_proxy: Option<(std::net::TcpListener, String)>,
        broker_pending: Option<broker::Pending>,
        redact_output: bool,
        removed_values: Vec<String>,
        inject: Option<std::sync::Arc<crate::net::inject::Injector>>,
    ) -> anyhow::Result<Services> {
        let (host_listener, token) = match host_proxy {
            Some((l, t)) => (Some(l), Some(t)),
            None => (None, None),
        };
        Ok(Services {
            rules,
            token,
            has_proxy,
            host_listener,
            broker_pending,
            pump_ends: if redact_output {
                Some((pipe()?, pipe()?))
            } else {
                None
            },
            removed_values,
            inject,
            ..Default::default()
        })
    }

    /// The write ends the child puts on its stdout and stderr (`--redact-output`).
    pub fn stdio(&self) -> Option<(i32, i32)> {
        use std::os::fd::AsRawFd;
        self.pump_ends
            .as_ref()
            .map(|((_, ow), (_, ew))| (ow.as_raw_fd(), ew.as_raw_fd()))
    }

    fn config(&self, token: Option<String>) -> ProxyConfig {
        let mut cfg =
            ProxyConfig::new(crate::net::policy::Allowlist::new(self.rules.hosts.clone()));
        cfg.token = token;
        cfg.inject = self.inject.clone();
        cfg
    }

    /// Right after fork: start the pumps, the broker and the host-side proxy.
    pub fn after_fork(&mut self) {
        if let Some(t) = self.inject.as_ref().and_then(|i| i.tls()) {
            t.warm();
        }
        if let Some(((or, ow), (er, ew))) = self.pump_ends.take() {
            drop((ow, ew));
            for (r, to_stderr) in [(or, false), (er, true)] {
                let red = crate::redact::Redactor::new(
                    crate::detect::Engine::builtin(),
                    self.removed_values.clone(),
                );
                self.pumps.push(std::thread::spawn(move || {
                    let reader = std::fs::File::from(r);
                    let res = if to_stderr {
                        crate::redact::pump(reader, std::io::stderr(), red)
                    } else {
                        crate::redact::pump(reader, std::io::stdout(), red)
                    };
                    if let Err(e) = res {
                        tracing::debug!("output redaction: {e}");
                    }
                }));
            }
        }
        if let Some(p) = self.broker_pending.take() {
            match p.start() {
                Ok(h) => self.broker = Some(h),
                // The box's listener is then dropped on arrival: its TCP connects fail.
                Err(e) => tracing::error!("connect broker: {e}"),
            }
        }
        if let Some(l) = self.host_listener.take() {
            match proxy::serve(l, self.config(self.token.clone())) {
                Ok(h) => self.proxies.push(h),
                Err(e) => tracing::error!("proxy: {e}"),
            }
        }
    }

    /// Sockets made inside the box's network namespace: the proxy's first (allowlist mode),
    /// then one per listed local service.
    pub fn on_listeners(&mut self, fds: Vec<OwnedFd>) {
        let mut it = fds.into_iter();
        if let Some(fd) = if self.has_proxy { it.next() } else { None } {
            match proxy::serve(std::net::TcpListener::from(fd), self.config(None)) {
                Ok(h) => self.proxies.push(h),
                Err(e) => tracing::error!("proxy: {e}"),
            }
        }
        let targets = self.rules.local.clone();
        for (fd, target) in it.zip(targets) {
            match crate::net::forward::forward(std::net::TcpListener::from(fd), target) {
                Ok(h) => self.forwards.push(h),
                Err(e) => tracing::error!("forward to {target}: {e}"),
            }
        }
    }

    /// The stub resolver's sockets, made inside the box's network namespace (UDP, then TCP).
    pub fn on_resolver(&mut self, fds: Vec<OwnedFd>) {
        let mut it = fds.into_iter();
        let (Some(u), Some(t)) = (it.next(), it.next()) else {
            return;
        };
        // The proxy resolves what the allowlist admits: only other names are worth naming.
        let allow = crate::net::policy::Allowlist::new(self.rules.hosts.clone());
        let skip = Box::new(move |name: &str| allow.knows_host(name));
        match crate::net::dns::serve(u.into(), t.into(), skip) {
            Ok(h) => self.dns = Some(h),
            // The box's lookups then time out instead of failing at once.
            Err(e) => tracing::error!("stub resolver: {e}"),
        }
    }

    /// After the box is gone: stop everything and collect what was seen.
    pub fn stop(self) -> Stopped {
        for p in self.pumps {
            let _ = p.join();
        }
        let brokered = self.broker.map(|b| b.finish()).unwrap_or_default();
        let decisions = self.proxies.into_iter().flat_map(|h| h.finish()).collect();
        for f in self.forwards {
            let st = f.stats();
            tracing::debug!(
                "local service forward: {} connections, {} failed",
                st.connections,
                st.failed
            );
            f.shutdown();
        }
        let looked_up = self.dns.map(|d| d.finish()).unwrap_or_default();
        Stopped {
            decisions,
            brokered,
            looked_up,
        }
    }
}

/// A close-on-exec pipe (read end, write end).
fn pipe() -> anyhow::Result<(OwnedFd, OwnedFd)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0i32; 2];
    // SAFETY: fds is a valid two-element array; both ends are owned right away.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        anyhow::bail!("pipe: {}", std::io::Error::last_os_error());
    }
    // SAFETY: fresh descriptors from pipe2.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}
