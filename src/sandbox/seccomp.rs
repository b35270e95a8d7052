//! Seccomp layer: a deny list of system calls, kept as a data table ([`DENY_TABLE`]), compiled
//! with seccompiler into classic BPF before fork and installed in the child last before exec.
//!
//! Everything not in the table is allowed: the layer removes what escapes the sandbox or widens
//! the authority of the process tree (other processes' memory, kernel keyrings, mounts, new
//! namespaces, terminal injection, sockets outside the network policy, foreign syscall ABIs),
//! and nothing that stays inside it (threads, signals, pipes, unix sockets, epoll, inotify,
//! memfd, pidfd_open, setsid, ...). Denied calls return `EPERM`, except `clone3`, which returns
//! `ENOSYS` so that glibc falls back to `clone`, whose flags a filter can inspect.
//!
//! Compatibility: x86_64 and aarch64. A syscall made through another ABI of the same kernel
//! (i386 `int 0x80` or x32 on x86_64, arm32 on aarch64) kills the process: the table only knows
//! native numbers, so such a call would otherwise bypass every rule.
//!
//! Argument checks compare the low 32 bits of `int` arguments only (`SeccompCmpArgLen::Dword`),
//! as the kernel itself truncates them: a 64-bit comparison could be dodged by setting high bits
//! (CVE-2019-10063 for the ioctl request of TIOCSTI).

use std::collections::BTreeMap;
use std::fmt;
use std::io;

use anyhow::Context as _;
use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("the seccomp layer has syscall tables for x86_64 and aarch64 only");

/// Which sockets the sandboxed processes may create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SocketPolicy {
    /// Network off without a network namespace: AF_UNIX, plus AF_NETLINK for NETLINK_ROUTE only.
    UnixOnly,
    /// Allowlist mode without a network namespace: UnixOnly plus AF_INET/AF_INET6 TCP streams.
    UnixAndTcp,
    /// A network namespace already contains the network (or the network is unrestricted).
    Contained,
}

/// What the seccomp layer must enforce, as decided by the plan.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeccompSpec {
    /// Socket families, types and protocols allowed.
    pub sockets: SocketPolicy,
    /// Allow new namespaces, mounts and setns, for nested sandboxes (e.g. an agent's own bwrap).
    pub allow_user_namespaces: bool,
}

/// Compiled filter, built before fork so that installing it allocates nothing.
#[derive(Clone)]
pub struct Filter {
    /// One BPF program per distinct errno; the kernel runs them all and keeps the strictest.
    programs: Vec<BpfProgram>,
    /// Human lines for the plan.
    summary: Vec<String>,
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lens: Vec<usize> = self.programs.iter().map(Vec::len).collect();
        f.debug_struct("Filter")
            .field("instructions", &lens)
            .field("summary", &self.summary)
            .finish()
    }
}

impl Filter {
    /// Install on the calling thread (child, after fork, no_new_privs set); allocation-free.
    pub fn apply(&self) -> io::Result<()> {
        // On error the first programs may be installed already: the caller must not exec.
        for program in &self.programs {
            // seccompiler sets no_new_privs again (harmless) and calls seccomp(2) with a
            // sock_fprog on the stack: no allocation, safe after fork in a threaded parent.
            seccompiler::apply_filter(program).map_err(|e| match e {
                seccompiler::Error::Prctl(e) | seccompiler::Error::Seccomp(e) => e,
                // Only EmptyFilter is possible here, and build() never makes an empty program.
                _ => io::Error::from(io::ErrorKind::InvalidInput),
            })?;
        }
        Ok(())
    }

    /// Human lines for the plan: what is denied and why.
    pub fn summary(&self) -> Vec<String> {
        self.summary.clone()
    }
}

/// Compile the deny table for `spec` on the native architecture.
pub fn build(spec: &SeccompSpec) -> anyhow::Result<Filter> {
    // Per errno: syscall number -> rules. `None` means every call of that syscall.
    let mut by_errno: BTreeMap<i32, BTreeMap<i64, Option<Vec<SeccompRule>>>> = BTreeMap::new();
    let mut summary = vec![FOREIGN_ABI_SUMMARY.to_string()];

    for row in DENY_TABLE.iter().filter(|row| row.applies(spec)) {
        let rules = row
            .when
            .rules(spec.sockets)
            .with_context(|| format!("seccomp rule for {}", row.names()))?;
        if matches!(&rules, Some(r) if r.is_empty()) {
            // A conditional row with no condition left denies nothing; installing it as an
            // empty rule list would deny every call instead.
            continue;
        }
        let chains = by_errno.entry(row.errno).or_default();
        for call in row.calls {
            let chain = chains.entry(call.nr).or_insert_with(|| Some(Vec::new()));
            match (chain.as_mut(), &rules) {
                // An unconditional row wins over conditional ones for the same syscall.
                (_, None) => *chain = None,
                (None, Some(_)) => {}
                (Some(existing), Some(more)) => existing.extend(more.iter().cloned()),
            }
        }
        summary.push(row.summary_line(spec.sockets));
    }

    let mut programs = Vec::with_capacity(by_errno.len());
    for (errno, chains) in by_errno {
        let rules = chains
            .into_iter()
            .map(|(nr, chain)| (nr, chain.unwrap_or_default()))
            .collect();
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(errno.unsigned_abs()),
            NATIVE_ARCH,
        )
        .context("seccomp filter")?;
        let compiled: BpfProgram = filter.try_into().context("compiling seccomp filter")?;
        let mut program = foreign_abi_guard();
        program.extend(compiled);
        programs.push(program);
    }

    tracing::debug!(
        programs = programs.len(),
        instructions = programs.iter().map(Vec::len).sum::<usize>(),
        "seccomp filter compiled"
    );
    Ok(Filter { programs, summary })
}

#[cfg(target_arch = "x86_64")]
const NATIVE_ARCH: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const NATIVE_ARCH: TargetArch = TargetArch::aarch64;

/// x32 syscalls reach the kernel with the x86_64 audit arch and this bit set in their number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const FOREIGN_ABI_SUMMARY: &str =
    "foreign syscall ABIs (i386 int 0x80 and x32 on x86_64, arm32 on aarch64): process killed";

/// BPF prefix of every program: a syscall number with the x32 bit kills the process.
///
/// seccompiler's own prologue kills on a foreign audit arch (i386, arm32), but x32 calls carry
/// the native arch and would match no rule (their numbers are offset), so fall through to Allow.
/// No supported architecture has native numbers this high, so the check is unconditional.
fn foreign_abi_guard() -> BpfProgram {
    // Classic BPF opcodes (linux/bpf_common.h).
    // BPF_LD (0x00) | BPF_W (0x00) | BPF_ABS (0x20)
    const LD_W_ABS: u16 = 0x20;
    // BPF_JMP (0x05) | BPF_JGE (0x30) | BPF_K (0x00)
    const JMP_JGE_K: u16 = 0x35;
    // BPF_RET (0x06) | BPF_K (0x00)
    const RET_K: u16 = 0x06;
    // Offset of `nr` in struct seccomp_data.
    const NR_OFFSET: u32 = 0;
    vec![
        sock_filter {
            code: LD_W_ABS,
            jt: 0,
            jf: 0,
            k: NR_OFFSET,
        },
        // nr >= X32_SYSCALL_BIT: fall into the kill; otherwise skip it.
        sock_filter {
            code: JMP_JGE_K,
            jt: 0,
            jf: 1,
            k: X32_SYSCALL_BIT,
        },
        sock_filter {
            code: RET_K,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_KILL_PROCESS,
        },
    ]
}

/// A system call by name and by its number on the build architecture.
#[derive(Debug, Clone, Copy)]
struct Call {
    /// libc's constant name, `SYS_<name>`.
    sys: &'static str,
    nr: i64,
}

impl Call {
    fn name(&self) -> &'static str {
        self.sys.strip_prefix("SYS_").unwrap_or(self.sys)
    }
}

/// `call!(SYS_ptrace)`: the number comes from libc's table for the build architecture, so a
/// syscall missing there is a compile error on that architecture, not a silent gap.
macro_rules! call {
    ($sys:ident) => {
        Call {
            sys: stringify!($sys),
            nr: libc::$sys,
        }
    };
}

/// When a row applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Always.
    Always,
    /// Dropped when nested sandboxes are allowed (`allow_user_namespaces`).
    UnlessNesting,
    /// Only where TCP sockets exist without a network namespace ([`SocketPolicy::UnixAndTcp`]),
    /// the one policy where a connect that skips `connect(2)` escapes the network layer.
    TcpFallback,
}

/// Which invocations of a row's syscalls are denied.
#[derive(Debug, Clone, Copy)]
enum When {
    /// Every call.
    Always,
    /// ioctl(2) whose request (argument 1) is one of these on its low 32 bits.
    IoctlRequest {
        label: &'static str,
        requests: &'static [u32],
    },
    /// Calls with any of `flags` set in argument `arg` (low 32 bits).
    AnyFlag {
        label: &'static str,
        arg: u8,
        flags: &'static [u32],
    },
    /// socket(2) calls outside the [`SocketPolicy`].
    SocketOutsidePolicy,
    /// socketpair(2) with a family other than AF_UNIX.
    PairNotUnix,
}

/// One row of the deny table.
#[derive(Debug, Clone, Copy)]
struct Deny {
    calls: &'static [Call],
    when: When,
    gate: Gate,
    errno: i32,
    why: &'static str,
}

impl Deny {
    fn applies(&self, spec: &SeccompSpec) -> bool {
        match self.gate {
            Gate::Always => true,
            Gate::UnlessNesting => !spec.allow_user_namespaces,
            Gate::TcpFallback => spec.sockets == SocketPolicy::UnixAndTcp,
        }
    }

    fn names(&self) -> String {
        let names: Vec<&str> = self.calls.iter().map(Call::name).collect();
        names.join(", ")
    }

    fn summary_line(&self, sockets: SocketPolicy) -> String {
        let what = match self.when {
            When::Always => self.names(),
            When::IoctlRequest { label, .. } | When::AnyFlag { label, .. } => label.to_string(),
            When::SocketOutsidePolicy => sockets.describe(),
            When::PairNotUnix => "socketpair: only AF_UNIX".to_string(),
        };
        format!("{what} ({}): {}", errno_name(self.errno), self.why)
    }
}

fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::ENOSYS => "ENOSYS",
        _ => "errno",
    }
}

// ---------------------------------------------------------------------------------------------
// The deny table.
// ---------------------------------------------------------------------------------------------

const EPERM: i32 = libc::EPERM;

/// Namespace flags of clone(2) (CLONE_NEWTIME is not among them: 0x80 is the exit signal there).
const CLONE_NS_FLAGS: &[u32] = &[
    libc::CLONE_NEWNS as u32,
    libc::CLONE_NEWCGROUP as u32,
    libc::CLONE_NEWUTS as u32,
    libc::CLONE_NEWIPC as u32,
    libc::CLONE_NEWUSER as u32,
    libc::CLONE_NEWPID as u32,
    libc::CLONE_NEWNET as u32,
];
/// Namespace flags of unshare(2).
const UNSHARE_NS_FLAGS: &[u32] = &[
    libc::CLONE_NEWNS as u32,
    libc::CLONE_NEWCGROUP as u32,
    libc::CLONE_NEWUTS as u32,
    libc::CLONE_NEWIPC as u32,
    libc::CLONE_NEWUSER as u32,
    libc::CLONE_NEWPID as u32,
    libc::CLONE_NEWNET as u32,
    libc::CLONE_NEWTIME as u32,
];

/// The deny list. Order is the order of the plan summary.
const DENY_TABLE: &[Deny] = &[
    Deny {
        calls: &[
            call!(SYS_ptrace),
            call!(SYS_process_vm_readv),
            call!(SYS_process_vm_writev),
            call!(SYS_pidfd_getfd),
        ],
        when: When::Always,
        gate: Gate::Always,
        errno: EPERM,
        why: "reading, writing or steering other processes (memory, registers, descriptors); \
              pidfd_getfd is a descriptor theft with ptrace's access check",
    },
    Deny {
        calls: &[
            call!(SYS_io_uring_setup),
            call!(SYS_io_uring_enter),
            call!(SYS_io_uring_register),
        ],
        when: When::Always,
        gate: Gate::Always,
        errno: EPERM,
        why: "io_uring performs I/O the seccomp filter never sees; runtimes fall back to threads",
    },
    Deny {
        calls: &[
            call!(SYS_keyctl),
            call!(SYS_add_key),
            call!(SYS_request_key),
        ],
        when: When::Always,
        gate: Gate::Always,
        errno: EPERM,
        why: "kernel keyrings are not namespaced: the user and session keyrings hold the \
              person's credentials",
    },
    Deny {
        calls: &[
            call!(SYS_bpf),
            call!(SYS_perf_event_open),
            call!(SYS_userfaultfd),
        ],
        when: When::Always,
        gate: Gate::Always,
        errno: EPERM,
        why: "kernel programmability and tracing of the host; userfaultfd is an exploit primitive",
    },
    Deny {
        calls: &[
            call!(SYS_kexec_load),
            call!(SYS_kexec_file_load),
            call!(SYS_init_module),
            call!(SYS_finit_module),
            call!(SYS_delete_module),
        ],
        when: When::Always,
        gate: Gate::Always,
        errno: EPERM,
        why: "replacing or extending the running kernel",
    },
    Deny {
        calls: HOST_ADMIN,
        when: When::Always,
        gate: Gate::Always,
        errno: EPERM,
        why: "host-wide administration no agent does; the kernel wants capabilities the sandbox \
              drops, this holds if one survives",
    },
    Deny {
        calls: &[call!(SYS_open_by_handle_at)],
        when: When::Always,
        gate: Gate::Always,
        errno: EPERM,
        why: "opens files by handle, without a path (the 'shocker' container escape); \
              name_to_handle_at alone grants nothing and stays allowed",
    },
    Deny {
        calls: &[call!(SYS_ioctl)],
        when: When::IoctlRequest {
            label: "ioctl TIOCSTI/TIOCLINUX",
            requests: &[libc::TIOCSTI as u32, libc::TIOCLINUX as u32],
        },
        gate: Gate::Always,
        errno: EPERM,
        why: "typing into the terminal the sandbox shares with the person (CVE-2017-5226, \
              CVE-2019-10063), without setsid breaking job control",
    },
    Deny {
        calls: &[call!(SYS_socket)],
        when: When::SocketOutsidePolicy,
        gate: Gate::Always,
        errno: EPERM,
        why: "network policy for a sandbox without its own network namespace, and families a \
              namespace does not confine",
    },
    Deny {
        calls: &[call!(SYS_sendto), call!(SYS_sendmmsg)],
        when: When::AnyFlag {
            label: "sendto/sendmmsg with MSG_FASTOPEN",
            arg: 3,
            flags: &[libc::MSG_FASTOPEN as u32],
        },
        gate: Gate::TcpFallback,
        errno: EPERM,
        why: "TCP Fast Open connects from inside sendto, past Landlock's connect hook and the \
              connect broker (landlock-lsm/linux#41); TCP_FASTOPEN_CONNECT goes through \
              connect(2), where the broker picks the address, and stays allowed",
    },
    Deny {
        calls: &[call!(SYS_sendmsg)],
        when: When::AnyFlag {
            label: "sendmsg with MSG_FASTOPEN",
            arg: 2,
            flags: &[libc::MSG_FASTOPEN as u32],
        },
        gate: Gate::TcpFallback,
        errno: EPERM,
        why: "TCP Fast Open, as for sendto (the kernel takes sendmsg's flags from this \
              argument, never from the msghdr in memory)",
    },
    Deny {
        calls: &[call!(SYS_socketpair)],
        when: When::PairNotUnix,
        gate: Gate::Always,
        errno: EPERM,
        why: "only AF_UNIX implements socketpair in practice; others are denied as in socket",
    },
    Deny {
        calls: &[
            call!(SYS_mount),
            call!(SYS_umount2),
            call!(SYS_pivot_root),
            call!(SYS_chroot),
            call!(SYS_move_mount),
            call!(SYS_open_tree),
            call!(SYS_fsopen),
            call!(SYS_fsmount),
            call!(SYS_fspick),
            call!(SYS_mount_setattr),
        ],
        when: When::Always,
        gate: Gate::UnlessNesting,
        errno: EPERM,
        why: "changing the filesystem view; allowed for nested sandboxes, where only a mount \
              namespace of the agent's own user namespace can be changed",
    },
    Deny {
        calls: &[call!(SYS_setns)],
        when: When::Always,
        gate: Gate::UnlessNesting,
        errno: EPERM,
        why: "joining other namespaces; allowed for nested sandboxes (bwrap --userns, rootless \
              podman), where only namespaces the agent created can be joined",
    },
    Deny {
        calls: &[call!(SYS_unshare)],
        when: When::AnyFlag {
            label: "unshare with CLONE_NEW*",
            arg: 0,
            flags: UNSHARE_NS_FLAGS,
        },
        gate: Gate::UnlessNesting,
        errno: EPERM,
        why: "new namespaces: a user namespace regains every capability inside it and opens \
              kernel surface meant for root",
    },
    Deny {
        calls: &[call!(SYS_clone)],
        when: When::AnyFlag {
            label: "clone with CLONE_NEW*",
            arg: 0,
            flags: CLONE_NS_FLAGS,
        },
        gate: Gate::UnlessNesting,
        errno: EPERM,
        why: "new namespaces, as for unshare",
    },
    Deny {
        calls: &[call!(SYS_clone3)],
        when: When::Always,
        gate: Gate::UnlessNesting,
        errno: libc::ENOSYS,
        why: "its flags sit in memory a filter cannot read; ENOSYS makes glibc, Go and others \
              fall back to clone, whose flags are checked",
    },
];

/// Host-wide administration calls. Per-arch: x86_64 keeps a few legacy calls aarch64 never had.
const HOST_ADMIN: &[Call] = &[
    call!(SYS_acct),
    call!(SYS_swapon),
    call!(SYS_swapoff),
    call!(SYS_reboot),
    call!(SYS_settimeofday),
    call!(SYS_clock_settime),
    call!(SYS_syslog),
    call!(SYS_quotactl),
    call!(SYS_quotactl_fd),
    call!(SYS_vhangup),
    call!(SYS_lookup_dcookie),
    call!(SYS_nfsservctl),
    #[cfg(target_arch = "x86_64")]
    call!(SYS_uselib),
    #[cfg(target_arch = "x86_64")]
    call!(SYS_iopl),
    #[cfg(target_arch = "x86_64")]
    call!(SYS_ioperm),
];

// ---------------------------------------------------------------------------------------------
// Argument conditions.
// ---------------------------------------------------------------------------------------------

const AF_UNIX: u32 = libc::AF_UNIX as u32;
const AF_NETLINK: u32 = libc::AF_NETLINK as u32;
const AF_INET: u32 = libc::AF_INET as u32;
const AF_INET6: u32 = libc::AF_INET6 as u32;
const NETLINK_ROUTE: u32 = libc::NETLINK_ROUTE as u32;
const IPPROTO_TCP: u32 = libc::IPPROTO_TCP as u32;

/// The socket(2) `type` values of a TCP stream: SOCK_STREAM with or without the two flags the
/// kernel accepts there (any other bit is EINVAL), so the type is matched whole, never masked.
const STREAM_TYPES: &[u32] = &[
    libc::SOCK_STREAM as u32,
    (libc::SOCK_STREAM | libc::SOCK_NONBLOCK) as u32,
    (libc::SOCK_STREAM | libc::SOCK_CLOEXEC) as u32,
    (libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) as u32,
];

/// Families denied even under [`SocketPolicy::Contained`], with the reason.
///
/// AF_PACKET and SOCK_RAW stay allowed there: they only see the interfaces of the sandbox's own
/// network namespace and need CAP_NET_RAW, which the sandbox holds only in a user namespace it
/// created itself.
const UNCONTAINED_FAMILIES: &[(u32, &str)] = &[
    // The hypervisor/host channel: not a network interface, no namespace confines it.
    (libc::AF_VSOCK as u32, "AF_VSOCK"),
    // Host radios and devices, not namespaced.
    (libc::AF_BLUETOOTH as u32, "AF_BLUETOOTH"),
    (libc::AF_NFC as u32, "AF_NFC"),
    // s390 hypervisor channel, like vsock.
    (libc::AF_IUCV as u32, "AF_IUCV"),
    // Qualcomm modem IPC router (linux/socket.h: 42), bound to the initial namespace.
    (42, "AF_QIPCRTR"),
    // The kernel crypto API confines nothing to escape from, but no agent tool uses it (OpenSSL,
    // Node and Python do crypto in user space) and it is a recurring source of kernel bugs
    // reachable without privilege (e.g. CVE-2019-8912).
    (libc::AF_ALG as u32, "AF_ALG"),
];

impl SocketPolicy {
    /// One line for the plan: what socket(2) may create.
    fn describe(self) -> String {
        match self {
            SocketPolicy::UnixOnly => {
                "socket: only AF_UNIX, and AF_NETLINK with NETLINK_ROUTE (interface and address \
                 queries)"
                    .to_string()
            }
            SocketPolicy::UnixAndTcp => "socket: only AF_UNIX, AF_NETLINK with NETLINK_ROUTE, and \
                 AF_INET/AF_INET6 SOCK_STREAM with protocol 0 or IPPROTO_TCP (no UDP, raw, \
                 packet, MPTCP, SCTP)"
                .to_string(),
            SocketPolicy::Contained => {
                let names: Vec<&str> = UNCONTAINED_FAMILIES.iter().map(|(_, n)| *n).collect();
                format!("socket: any family except {}", names.join(", "))
            }
        }
    }
}

/// One comparison on the low 32 bits of a syscall argument.
type Cond = (u8, SeccompCmpOp, u32);

/// A rule that matches when all `conds` hold.
fn rule(conds: &[Cond]) -> anyhow::Result<SeccompRule> {
    let conds = conds
        .iter()
        .map(|(arg, op, value)| {
            SeccompCondition::new(*arg, SeccompCmpArgLen::Dword, op.clone(), u64::from(*value))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SeccompRule::new(conds)?)
}

impl When {
    /// seccompiler rules (any rule matching denies the call); `None` denies every call.
    fn rules(&self, sockets: SocketPolicy) -> anyhow::Result<Option<Vec<SeccompRule>>> {
        use SeccompCmpOp::{Eq, MaskedEq, Ne};
        let rules = match *self {
            When::Always => return Ok(None),
            When::IoctlRequest { requests, .. } => requests
                .iter()
                .map(|&request| rule(&[(1, Eq, request)]))
                .collect::<anyhow::Result<_>>()?,
            When::AnyFlag { arg, flags, .. } => flags
                .iter()
                .map(|&flag| rule(&[(arg, MaskedEq(u64::from(flag)), flag)]))
                .collect::<anyhow::Result<_>>()?,
            When::PairNotUnix => vec![rule(&[(0, Ne, AF_UNIX)])?],
            When::SocketOutsidePolicy => socket_rules(sockets)?,
        };
        Ok(Some(rules))
    }
}

/// Rules matching the socket(2) calls that `policy` denies (arg 0 family, 1 type, 2 protocol).
fn socket_rules(policy: SocketPolicy) -> anyhow::Result<Vec<SeccompRule>> {
    use SeccompCmpOp::{Eq, Ne};
    // Netlink for anything but routing queries: sock_diag lists every socket on the host, audit
    // and uevent are host-wide too. NETLINK_ROUTE reads interfaces and addresses (getifaddrs,
    // if_nameindex, glibc's AI_ADDRCONFIG, Node's os.networkInterfaces()); changing them needs
    // CAP_NET_ADMIN, which would allow the same through an ioctl on any socket anyway.
    let netlink_not_route = rule(&[(0, Eq, AF_NETLINK), (2, Ne, NETLINK_ROUTE)])?;
    match policy {
        SocketPolicy::UnixOnly => Ok(vec![
            rule(&[(0, Ne, AF_UNIX), (0, Ne, AF_NETLINK)])?,
            netlink_not_route,
        ]),
        SocketPolicy::UnixAndTcp => {
            let mut rules = vec![
                rule(&[
                    (0, Ne, AF_UNIX),
                    (0, Ne, AF_NETLINK),
                    (0, Ne, AF_INET),
                    (0, Ne, AF_INET6),
                ])?,
                netlink_not_route,
            ];
            for family in [AF_INET, AF_INET6] {
                // Not a stream (UDP, raw, SCTP seqpacket, ...).
                let mut not_stream: Vec<Cond> = vec![(0, Eq, family)];
                not_stream.extend(STREAM_TYPES.iter().map(|&t| (1, Ne, t)));
                rules.push(rule(&not_stream)?);
                // A stream of another protocol: MPTCP (262) and SCTP (132) pass Landlock's TCP
                // port rules, so only plain TCP is let through.
                rules.push(rule(&[(0, Eq, family), (2, Ne, 0), (2, Ne, IPPROTO_TCP)])?);
            }
            Ok(rules)
        }
        SocketPolicy::Contained => UNCONTAINED_FAMILIES
            .iter()
            .map(|&(family, _)| rule(&[(0, Eq, family)]))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    //! Against the real kernel: each probe runs in a real process, once with the filter and once
    //! without, so that a test fails when the layer is off (as root, where the kernel itself would
    //! not say EPERM).

    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Output, Stdio};

    fn spec(sockets: SocketPolicy, allow_user_namespaces: bool) -> SeccompSpec {
        SeccompSpec {
            sockets,
            allow_user_namespaces,
        }
    }

    fn filter(sockets: SocketPolicy, allow_user_namespaces: bool) -> Filter {
        build(&spec(sockets, allow_user_namespaces)).expect("build filter")
    }

    fn is_root() -> bool {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }

    /// Runs `program args` with no_new_privs and, if given, the filter installed before exec.
    fn run(filter: Option<&Filter>, program: &str, args: &[&str]) -> Output {
        // Cloned here, in the parent: nothing may allocate between fork and exec.
        let filter = filter.cloned();
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null());
        // SAFETY: the closure runs in the child between fork and exec of a multi-threaded test
        // harness; it only calls prctl(2) and Filter::apply, which neither allocate nor lock.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                match &filter {
                    Some(f) => f.apply(),
                    None => Ok(()),
                }
            });
        }
        cmd.output()
            .unwrap_or_else(|e| panic!("spawning {program}: {e}"))
    }

    /// Python helpers shared by the probes. `report(key, fn)` runs `fn` in a forked child (so a
    /// call that succeeds, such as unshare or ptrace, cannot change the probing process) and
    /// prints `key=OK`, `key=<ERRNO>` or `key=SIG<n>` when the child was killed.
    const PRELUDE: &str = r#"
import ctypes, errno, os, socket, sys, tempfile
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
MASK = 0xFFFFFFFFFFFFFFFF
def sc(nr, *args):
    conv = [ctypes.c_ulong(a & MASK) if isinstance(a, int) else a for a in args]
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *conv)
    return (r, ctypes.get_errno() if r == -1 else 0)
def name(e):
    return "OK" if e == 0 else errno.errorcode.get(e, str(e))
def isolated(fn):
    pid = os.fork()
    if pid == 0:
        try:
            r, e = fn()
        except OSError as ex:
            e = ex.errno or 252
        except BaseException:
            e = 254
        os._exit(min(e, 253))
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "SIG%d" % os.WTERMSIG(status)
    return name(os.WEXITSTATUS(status))
def report(key, fn):
    print("%s=%s" % (key, isolated(fn)), flush=True)
def sock(key, *args):
    def f():
        socket.socket(*args).close()
        return (0, 0)
    report(key, f)
"#;

    /// `NR = {...}`: the numbers of every syscall of the table on this architecture.
    fn nr_table() -> String {
        let mut entries: Vec<String> = DENY_TABLE
            .iter()
            .flat_map(|row| row.calls.iter())
            .map(|c| format!("{:?}: {}", c.name(), c.nr))
            .collect();
        entries.push(format!("\"getpid\": {}", libc::SYS_getpid));
        entries.push(format!(
            "\"name_to_handle_at\": {}",
            libc::SYS_name_to_handle_at
        ));
        format!("NR = {{{}}}", entries.join(", "))
    }

    /// Runs a python probe script; returns its `key=value` lines.
    fn python(filter: Option<&Filter>, body: &str) -> BTreeMap<String, String> {
        let script = format!("{PRELUDE}\n{}\n{body}\nprint('DONE=1')\n", nr_table());
        let out = run(filter, "python3", &["-c", &script]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if std::env::var_os("AGENTBOX_SECCOMP_TEST_DUMP").is_some() {
            eprintln!("--- filter: {}\n{stdout}", filter.is_some());
        }
        let results: BTreeMap<String, String> = stdout
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(
            results.contains_key("DONE"),
            "probe did not finish: {:?}\nstdout: {stdout}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        results
    }

    fn get<'a>(results: &'a BTreeMap<String, String>, key: &str) -> &'a str {
        results.get(key).map(String::as_str).unwrap_or("<missing>")
    }

    /// `keys` get `expected` with the filter, and (as root) something else without it.
    fn assert_blocked(
        on: &BTreeMap<String, String>,
        off: &BTreeMap<String, String>,
        expected: &str,
        keys: &[&str],
    ) {
        for key in keys {
            assert_eq!(get(on, key), expected, "{key} with the filter");
            if is_root() {
                assert_ne!(get(off, key), expected, "{key} without the filter");
            }
        }
    }

    /// `keys` behave the same with and without the filter.
    fn assert_unchanged(
        on: &BTreeMap<String, String>,
        off: &BTreeMap<String, String>,
        keys: &[&str],
    ) {
        for key in keys {
            assert_eq!(get(on, key), get(off, key), "{key} changed by the filter");
            assert_ne!(get(on, key), "<missing>", "{key} not probed");
        }
    }

    // -----------------------------------------------------------------------------------------
    // Without the kernel.
    // -----------------------------------------------------------------------------------------

    const ALL_SPECS: [(SocketPolicy, bool); 6] = [
        (SocketPolicy::UnixOnly, false),
        (SocketPolicy::UnixOnly, true),
        (SocketPolicy::UnixAndTcp, false),
        (SocketPolicy::UnixAndTcp, true),
        (SocketPolicy::Contained, false),
        (SocketPolicy::Contained, true),
    ];

    #[test]
    fn table_rows_are_complete_and_disjoint() {
        let mut seen = BTreeMap::new();
        for row in DENY_TABLE {
            assert!(!row.calls.is_empty());
            assert!(!row.why.trim().is_empty(), "{} has no reason", row.names());
            assert!(matches!(row.errno, libc::EPERM | libc::ENOSYS));
            for call in row.calls {
                assert!(call.sys.starts_with("SYS_"));
                // One row per syscall: merging an unconditional and a conditional row would
                // silently depend on build()'s merge rule.
                assert!(
                    seen.insert(call.nr, call.name()).is_none(),
                    "{} twice",
                    call.name()
                );
            }
            for policy in [
                SocketPolicy::UnixOnly,
                SocketPolicy::UnixAndTcp,
                SocketPolicy::Contained,
            ] {
                let rules = row.when.rules(policy).expect("rules");
                assert!(
                    !matches!(rules, Some(r) if r.is_empty()),
                    "{} empty",
                    row.names()
                );
            }
        }
    }

    #[test]
    fn builds_for_every_spec_with_a_summary() {
        for (sockets, nesting) in ALL_SPECS {
            let f = filter(sockets, nesting);
            // clone3's ENOSYS needs a program of its own, unless nesting allows clone3.
            assert_eq!(f.programs.len(), if nesting { 1 } else { 2 });
            for program in &f.programs {
                assert!(program.len() < 4096, "{} instructions", program.len());
                assert_eq!(program[..3], foreign_abi_guard()[..]);
            }
            let summary = f.summary();
            assert_eq!(summary[0], FOREIGN_ABI_SUMMARY);
            assert!(summary
                .iter()
                .any(|l| l.starts_with("ptrace, process_vm_readv")));
            assert!(summary
                .iter()
                .any(|l| l.starts_with("ioctl TIOCSTI/TIOCLINUX")));
            assert!(summary.iter().any(|l| l.starts_with("socket: ")));
            assert_eq!(summary.iter().any(|l| l.starts_with("mount, ")), !nesting);
            assert_eq!(
                summary.iter().any(|l| l.starts_with("clone3 (ENOSYS)")),
                !nesting
            );
        }
        let unix_only = filter(SocketPolicy::UnixOnly, false).summary();
        assert!(unix_only
            .iter()
            .any(|l| l.starts_with("socket: only AF_UNIX, and AF_NETLINK")));
        let contained = filter(SocketPolicy::Contained, false).summary();
        assert!(contained
            .iter()
            .any(|l| l.starts_with("socket: any family except AF_VSOCK")));
    }

    // -----------------------------------------------------------------------------------------
    // Against the kernel.
    // -----------------------------------------------------------------------------------------

    /// A probe with harmless arguments for every unconditional row: as root without the filter
    /// each fails otherwise than EPERM (ENOENT on a missing path, EBADF, EINVAL...) or succeeds
    /// without effect outside the forked child.
    const UNCONDITIONAL_PROBES: &str = r#"
NX = b"/nonexistent-agentbox"
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
def vm(nr):
    src = ctypes.create_string_buffer(b"agentbox", 8)
    dst = ctypes.create_string_buffer(8)
    local = iovec(ctypes.cast(dst, ctypes.c_void_p), 8)
    remote = iovec(ctypes.cast(src, ctypes.c_void_p), 8)
    return sc(nr, os.getpid(), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
def vhangup():
    os.setsid()  # no controlling terminal left to hang up
    return sc(NR["vhangup"])
P = {
    # PTRACE_TRACEME: the probing python becomes the tracer of a child that exits at once.
    "ptrace": lambda: sc(NR["ptrace"], 0, 0, 0, 0),
    "process_vm_readv": lambda: vm(NR["process_vm_readv"]),
    "process_vm_writev": lambda: vm(NR["process_vm_writev"]),
    "pidfd_getfd": lambda: sc(NR["pidfd_getfd"], os.pidfd_open(os.getpid()), 0, 0),
    "io_uring_setup": lambda: sc(NR["io_uring_setup"], 1, ctypes.create_string_buffer(120)),
    "io_uring_enter": lambda: sc(NR["io_uring_enter"], -1, 0, 0, 0, None, 0),
    "io_uring_register": lambda: sc(NR["io_uring_register"], -1, 0, None, 0),
    # KEYCTL_GET_KEYRING_ID of KEY_SPEC_USER_KEYRING
    "keyctl": lambda: sc(NR["keyctl"], 0, -4, 0),
    "add_key": lambda: sc(NR["add_key"], b"agentbox-no-such-type", b"d", None, 0, -2),
    "request_key": lambda: sc(NR["request_key"], b"user", b"agentbox-no-such-key", None, 0),
    "bpf": lambda: sc(NR["bpf"], 0xFFFF, None, 0),
    "perf_event_open": lambda: sc(NR["perf_event_open"], None, 0, -1, -1, 0),
    "userfaultfd": lambda: sc(NR["userfaultfd"], os.O_CLOEXEC),
    "kexec_load": lambda: sc(NR["kexec_load"], 0, 0, None, 0xFFFF0000),
    "kexec_file_load": lambda: sc(NR["kexec_file_load"], -1, -1, 0, None, 0),
    "init_module": lambda: sc(NR["init_module"], None, 0, b""),
    "finit_module": lambda: sc(NR["finit_module"], -1, b"", 0),
    "delete_module": lambda: sc(NR["delete_module"], b"agentbox_no_such_module", os.O_NONBLOCK),
    "acct": lambda: sc(NR["acct"], NX + b"/x"),
    "swapon": lambda: sc(NR["swapon"], NX, 0),
    "swapoff": lambda: sc(NR["swapoff"], NX),
    "reboot": lambda: sc(NR["reboot"], 0, 0, 0, None),  # bad magic: EINVAL
    "settimeofday": lambda: sc(NR["settimeofday"], None, None),  # no-op
    "clock_settime": lambda: sc(NR["clock_settime"], 0, None),
    "syslog": lambda: sc(NR["syslog"], 10, None, 0),  # SYSLOG_ACTION_SIZE_BUFFER
    "quotactl": lambda: sc(NR["quotactl"], 0, None, 0, None),
    "quotactl_fd": lambda: sc(NR["quotactl_fd"], -1, 0, 0, None),
    "vhangup": vhangup,
    "lookup_dcookie": lambda: sc(NR["lookup_dcookie"], 0, None, 0),
    "nfsservctl": lambda: sc(NR["nfsservctl"], 0, None, None),
    "uselib": lambda: sc(NR["uselib"], None),
    "iopl": lambda: sc(NR["iopl"], 0),
    "ioperm": lambda: sc(NR["ioperm"], 0, 0, 0),
    "open_by_handle_at": lambda: sc(NR["open_by_handle_at"], -100, None, 0),
    "mount": lambda: sc(NR["mount"], b"none", NX, b"tmpfs", 0, None),
    "umount2": lambda: sc(NR["umount2"], NX, 0),
    "pivot_root": lambda: sc(NR["pivot_root"], NX, NX),
    "chroot": lambda: sc(NR["chroot"], NX),
    "move_mount": lambda: sc(NR["move_mount"], -100, NX, -100, NX, 0),
    "open_tree": lambda: sc(NR["open_tree"], -100, NX, 0),
    "fsopen": lambda: sc(NR["fsopen"], b"agentbox-no-such-fs", 0),
    "fsmount": lambda: sc(NR["fsmount"], -1, 0, 0),
    "fspick": lambda: sc(NR["fspick"], -100, NX, 0),
    "mount_setattr": lambda: sc(NR["mount_setattr"], -100, NX, 0, None, 0),
    "setns": lambda: sc(NR["setns"], -1, 0),
    # NULL args of size 0: EINVAL from the kernel, ENOSYS from the filter.
    "clone3": lambda: sc(NR["clone3"], None, 0),
}
for key in NAMES:
    if key in P:
        report(key, P[key])
    else:
        print("%s=NOPROBE" % key)
"#;

    #[test]
    fn every_unconditional_row_is_denied_only_by_the_filter() {
        let rows: Vec<&Deny> = DENY_TABLE
            .iter()
            .filter(|r| matches!(r.when, When::Always))
            .collect();
        let names: Vec<String> = rows
            .iter()
            .flat_map(|r| r.calls.iter())
            .map(|c| format!("{:?}", c.name()))
            .collect();
        let body = format!("NAMES = [{}]\n{UNCONDITIONAL_PROBES}", names.join(", "));
        let off = python(None, &body);
        let on = python(Some(&filter(SocketPolicy::UnixOnly, false)), &body);
        let nested = python(Some(&filter(SocketPolicy::UnixOnly, true)), &body);
        for row in rows {
            let expected = errno_name(row.errno);
            for call in row.calls {
                let key = call.name();
                assert_ne!(get(&on, key), "NOPROBE", "{key} has no probe");
                assert_blocked(&on, &off, expected, &[key]);
                match row.gate {
                    Gate::Always => assert_eq!(get(&nested, key), expected, "{key} nested"),
                    Gate::UnlessNesting => assert_unchanged(&nested, &off, &[key]),
                    Gate::TcpFallback => panic!("{key}: probed with UnixOnly, where it is off"),
                }
            }
        }
        // The probes that succeed without the filter show it is the filter that blocks.
        if is_root() {
            for key in [
                "ptrace",
                "process_vm_readv",
                "io_uring_setup",
                "keyctl",
                "userfaultfd",
            ] {
                assert_eq!(get(&off, key), "OK", "{key} without the filter");
            }
        }
    }

    const NAMESPACE_PROBES: &str = r#"
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWTIME = 0x20000, 0x10000000, 0x40000000, 0x80
SIGCHLD = 17
def raw_clone(flags):
    r, e = sc(NR["clone"], flags, 0, 0, 0, 0)
    if r == 0:
        os._exit(0)
    if r > 0:
        os.waitpid(r, 0)
        return (0, 0)
    return (r, e)
report("unshare_user", lambda: sc(NR["unshare"], CLONE_NEWUSER))
report("unshare_mount", lambda: sc(NR["unshare"], CLONE_NEWNS))
report("unshare_net", lambda: sc(NR["unshare"], CLONE_NEWNET))
report("unshare_time", lambda: sc(NR["unshare"], CLONE_NEWTIME))
report("unshare_user_mount", lambda: sc(NR["unshare"], CLONE_NEWUSER | CLONE_NEWNS))
report("unshare_files", lambda: sc(NR["unshare"], 0x400))  # CLONE_FILES: no namespace
report("clone_user", lambda: raw_clone(CLONE_NEWUSER | SIGCHLD))
report("clone_plain", lambda: raw_clone(SIGCHLD))
"#;

    #[test]
    fn namespaces_are_denied_unless_nesting_is_allowed() {
        let off = python(None, NAMESPACE_PROBES);
        let on = python(
            Some(&filter(SocketPolicy::UnixOnly, false)),
            NAMESPACE_PROBES,
        );
        let nested = python(
            Some(&filter(SocketPolicy::UnixOnly, true)),
            NAMESPACE_PROBES,
        );
        let denied = [
            "unshare_user",
            "unshare_mount",
            "unshare_net",
            "unshare_time",
            "unshare_user_mount",
            "clone_user",
        ];
        assert_blocked(&on, &off, "EPERM", &denied);
        assert_unchanged(&on, &off, &["unshare_files", "clone_plain"]);
        assert_eq!(get(&on, "clone_plain"), "OK");
        assert_unchanged(&nested, &off, &denied);
        assert_eq!(get(&nested, "unshare_user"), "OK");

        // util-linux, as an agent's tool would use it.
        let unprivileged = filter(SocketPolicy::UnixOnly, false);
        let nesting = filter(SocketPolicy::UnixOnly, true);
        assert!(!run(Some(&unprivileged), "unshare", &["-U", "true"])
            .status
            .success());
        assert!(run(None, "unshare", &["-U", "true"]).status.success());
        assert!(run(Some(&nesting), "unshare", &["-U", "true"])
            .status
            .success());
        // A nested sandbox also mounts inside its own user and mount namespaces.
        let out = run(
            Some(&nesting),
            "unshare",
            &["-Urm", "mount", "-t", "tmpfs", "none", "/mnt"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    const TTY_PROBES: &str = r#"
master, slave = os.openpty()
def ioc(request):
    c = ctypes.c_char(b"x")
    return sc(NR["ioctl"], slave, request, ctypes.byref(c))
report("tiocsti", lambda: ioc(0x5412))
# The kernel truncates the request to 32 bits: a 64-bit comparison would let this through.
report("tiocsti_high", lambda: ioc(0x100005412))
report("tioclinux", lambda: ioc(0x541C))
report("tioclinux_high", lambda: ioc(0xFFFFFFFF0000541C))
report("tiocgwinsz", lambda: sc(NR["ioctl"], slave, 0x5413, ctypes.create_string_buffer(8)))
"#;

    #[test]
    fn terminal_injection_is_denied_on_the_low_32_bits() {
        let off = python(None, TTY_PROBES);
        let on = python(Some(&filter(SocketPolicy::Contained, true)), TTY_PROBES);
        let keys = ["tiocsti", "tiocsti_high", "tioclinux", "tioclinux_high"];
        assert_blocked(&on, &off, "EPERM", &keys);
        if is_root() {
            // Root may inject into any terminal, through the high-bit variant too.
            assert_eq!(get(&off, "tiocsti"), "OK");
            assert_eq!(get(&off, "tiocsti_high"), "OK");
        }
        assert_unchanged(&on, &off, &["tiocgwinsz"]);
        assert_eq!(get(&on, "tiocgwinsz"), "OK");
    }

    const SOCKET_PROBES: &str = r#"
S = socket
sock("unix_stream", S.AF_UNIX, S.SOCK_STREAM, 0)
sock("unix_dgram", S.AF_UNIX, S.SOCK_DGRAM, 0)
sock("unix_seqpacket", S.AF_UNIX, S.SOCK_SEQPACKET, 0)
sock("netlink_route", S.AF_NETLINK, S.SOCK_RAW, 0)
sock("netlink_sock_diag", S.AF_NETLINK, S.SOCK_RAW, 4)
sock("inet_stream", S.AF_INET, S.SOCK_STREAM, 0)
sock("inet_stream_tcp", S.AF_INET, S.SOCK_STREAM, 6)
sock("inet6_stream", S.AF_INET6, S.SOCK_STREAM, 0)
sock("inet6_stream_tcp", S.AF_INET6, S.SOCK_STREAM, 6)
sock("inet_stream_flags", S.AF_INET, S.SOCK_STREAM | S.SOCK_NONBLOCK | S.SOCK_CLOEXEC, 0)
# python adds SOCK_CLOEXEC itself: these go through the raw syscall without it.
report("inet_stream_bare", lambda: sc(NR["socket"], S.AF_INET, S.SOCK_STREAM, 0))
report("inet_stream_nonblock", lambda: sc(NR["socket"], S.AF_INET, S.SOCK_STREAM | S.SOCK_NONBLOCK, 0))
sock("inet_dgram", S.AF_INET, S.SOCK_DGRAM, 0)
sock("inet6_dgram", S.AF_INET6, S.SOCK_DGRAM, 0)
sock("inet_mptcp", S.AF_INET, S.SOCK_STREAM, 262)
sock("inet6_mptcp", S.AF_INET6, S.SOCK_STREAM, 262)
sock("inet_sctp_stream", S.AF_INET, S.SOCK_STREAM, 132)
sock("inet_sctp_seqpacket", S.AF_INET, S.SOCK_SEQPACKET, 132)
sock("inet_raw", S.AF_INET, S.SOCK_RAW, 1)
sock("packet", S.AF_PACKET, S.SOCK_RAW, 0)
sock("vsock", S.AF_VSOCK, S.SOCK_STREAM, 0)
sock("alg", S.AF_ALG, S.SOCK_SEQPACKET, 0)
sock("bluetooth", 31, S.SOCK_STREAM, 0)
# The kernel reads family as an int: high bits must not change the verdict.
report("inet_dgram_high", lambda: sc(NR["socket"], (1 << 32) | S.AF_INET, S.SOCK_DGRAM, 0))
report("vsock_high", lambda: sc(NR["socket"], (1 << 32) | S.AF_VSOCK, S.SOCK_STREAM, 0))
fds = (ctypes.c_int * 2)()
report("socketpair_unix", lambda: sc(NR["socketpair"], S.AF_UNIX, S.SOCK_STREAM, 0, fds))
report("socketpair_inet", lambda: sc(NR["socketpair"], S.AF_INET, S.SOCK_STREAM, 0, fds))
def echo(family, address):
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.bind(address)
    srv.listen(1)
    cli = socket.socket(family, socket.SOCK_STREAM)
    cli.connect(srv.getsockname())
    conn, _ = srv.accept()
    cli.sendall(b"ping")
    ok = conn.recv(4) == b"ping"
    for s in (conn, cli, srv):
        s.close()
    return (0, 0) if ok else (-1, 201)
def unix_echo():
    d = tempfile.mkdtemp()
    try:
        return echo(S.AF_UNIX, os.path.join(d, "s"))
    finally:
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))
        os.rmdir(d)
report("unix_echo", unix_echo)
report("tcp_echo", lambda: echo(S.AF_INET, ("127.0.0.1", 0)))
report("if_nameindex", lambda: (socket.if_nameindex(), (0, 0))[1])
"#;

    #[test]
    fn sockets_follow_the_policy() {
        let off = python(None, SOCKET_PROBES);
        let always_denied = ["vsock", "vsock_high", "alg", "bluetooth", "socketpair_inet"];
        let local = [
            "unix_stream",
            "unix_dgram",
            "unix_seqpacket",
            "netlink_route",
            "socketpair_unix",
            "unix_echo",
            "if_nameindex",
        ];
        let tcp = [
            "inet_stream",
            "inet_stream_tcp",
            "inet6_stream",
            "inet6_stream_tcp",
            "inet_stream_flags",
            "inet_stream_bare",
            "inet_stream_nonblock",
            "tcp_echo",
        ];
        let other_inet = [
            "inet_dgram",
            "inet6_dgram",
            "inet_dgram_high",
            "inet_mptcp",
            "inet6_mptcp",
            "inet_sctp_stream",
            "inet_sctp_seqpacket",
            "inet_raw",
        ];
        let other = ["packet", "netlink_sock_diag"];
        assert_eq!(get(&off, "unix_echo"), "OK");
        assert_eq!(get(&off, "tcp_echo"), "OK");

        let on = python(Some(&filter(SocketPolicy::UnixOnly, false)), SOCKET_PROBES);
        assert_blocked(&on, &off, "EPERM", &always_denied);
        assert_blocked(&on, &off, "EPERM", &tcp);
        assert_blocked(&on, &off, "EPERM", &other_inet);
        assert_blocked(&on, &off, "EPERM", &other);
        assert_unchanged(&on, &off, &local);

        let on = python(
            Some(&filter(SocketPolicy::UnixAndTcp, false)),
            SOCKET_PROBES,
        );
        assert_blocked(&on, &off, "EPERM", &always_denied);
        assert_blocked(&on, &off, "EPERM", &other_inet);
        assert_blocked(&on, &off, "EPERM", &other);
        assert_unchanged(&on, &off, &local);
        assert_unchanged(&on, &off, &tcp);

        let on = python(Some(&filter(SocketPolicy::Contained, false)), SOCKET_PROBES);
        assert_blocked(&on, &off, "EPERM", &always_denied);
        assert_unchanged(&on, &off, &local);
        assert_unchanged(&on, &off, &tcp);
        assert_unchanged(&on, &off, &other_inet);
        assert_unchanged(&on, &off, &other);
        assert_eq!(get(&on, "inet6_dgram"), get(&off, "inet6_dgram"));
    }

    /// TCP Fast Open to a loopback listener: `key=OK` when the data went out (the connection was
    /// made inside the send call), else the errno. `<key>_accepted=1` when the listener saw it.
    const FAST_OPEN_PROBES: &str = r#"
import struct
MSG_FASTOPEN = 0x20000000
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
class msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint), ("iov", ctypes.c_void_p),
                ("iovlen", ctypes.c_size_t), ("control", ctypes.c_void_p),
                ("controllen", ctypes.c_size_t), ("flags", ctypes.c_int)]
class mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", msghdr), ("len", ctypes.c_uint)]
def fast_open(key, send):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(0.5)
    port = srv.getsockname()[1]
    addr = struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + socket.inet_aton("127.0.0.1") + bytes(8)
    def f():
        c = socket.socket()
        c.settimeout(2)
        r, e = send(c, addr, port)
        c.close()
        return (r, e)
    report(key, f)
    try:
        srv.accept()[0].close()
        print("%s_accepted=1" % key, flush=True)
    except OSError:
        print("%s_accepted=0" % key, flush=True)
    srv.close()
buf = ctypes.create_string_buffer(b"x", 1)
def raw_sendto(flags):
    def send(c, addr, port):
        a = ctypes.create_string_buffer(addr, len(addr))
        return sc(NR["sendto"], c.fileno(), buf, 1, flags, a, len(addr))
    return send
def py_sendmsg(c, addr, port):
    c.sendmsg([b"x"], [], MSG_FASTOPEN, ("127.0.0.1", port))
    return (0, 0)
def raw_sendmmsg(c, addr, port):
    a = ctypes.create_string_buffer(addr, len(addr))
    io = iovec(ctypes.cast(buf, ctypes.c_void_p), 1)
    m = mmsghdr(msghdr(ctypes.cast(a, ctypes.c_void_p), len(addr), ctypes.cast(ctypes.pointer(io), ctypes.c_void_p), 1, None, 0, 0), 0)
    return sc(NR["sendmmsg"], c.fileno(), ctypes.byref(m), 1, MSG_FASTOPEN)
fast_open("sendto", raw_sendto(MSG_FASTOPEN))
# The kernel reads flags as an int: high bits must not change the verdict.
fast_open("sendto_high", raw_sendto((1 << 32) | MSG_FASTOPEN))
fast_open("sendmsg", py_sendmsg)
fast_open("sendmmsg", raw_sendmmsg)
def plain(c, addr, port):
    c.connect(("127.0.0.1", port))
    return sc(NR["sendto"], c.fileno(), buf, 1, 0, None, 0)
fast_open("plain_send", plain)
"#;

    #[test]
    fn tcp_fast_open_is_denied_where_tcp_has_no_namespace() {
        let off = python(None, FAST_OPEN_PROBES);
        let keys = ["sendto", "sendto_high", "sendmsg", "sendmmsg"];
        for key in keys {
            // The hole itself: without the filter the send connects (net.ipv4.tcp_fastopen's
            // client bit is on by default; EINPROGRESS on python's timeout socket).
            if matches!(get(&off, key), "OK" | "EINPROGRESS") {
                assert_eq!(get(&off, &format!("{key}_accepted")), "1", "{key}");
            }
        }
        let on = python(
            Some(&filter(SocketPolicy::UnixAndTcp, false)),
            FAST_OPEN_PROBES,
        );
        assert_blocked(&on, &off, "EPERM", &keys);
        for key in keys {
            assert_eq!(get(&on, &format!("{key}_accepted")), "0", "{key} connected");
        }
        assert_unchanged(&on, &off, &["plain_send", "plain_send_accepted"]);
        assert_eq!(get(&on, "plain_send"), "OK");
        // With a network namespace (or no TCP at all) Fast Open is nobody's way out.
        let contained = python(
            Some(&filter(SocketPolicy::Contained, false)),
            FAST_OPEN_PROBES,
        );
        assert_unchanged(&contained, &off, &keys);
        let summary = filter(SocketPolicy::UnixAndTcp, false).summary();
        assert!(summary
            .iter()
            .any(|l| l.starts_with("sendto/sendmmsg with MSG_FASTOPEN (EPERM)")));
        assert!(!filter(SocketPolicy::Contained, false)
            .summary()
            .iter()
            .any(|l| l.contains("MSG_FASTOPEN")));
    }

    const FOREIGN_ABI_PROBES: &str = r#"
import mmap, platform
report("x32_getpid", lambda: sc(0x40000000 | NR["getpid"]))
def int80():
    m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    # mov eax, 20 (getpid in the i386 table); int 0x80; ret
    m.write(bytes([0xB8, 0x14, 0, 0, 0, 0xCD, 0x80, 0xC3]))
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    pid = ctypes.CFUNCTYPE(ctypes.c_int)(addr)()
    return (0, 0) if pid == os.getpid() else (-1, 200)
if platform.machine() == "x86_64":
    report("int80_getpid", int80)
"#;

    #[test]
    fn foreign_syscall_abis_kill_the_process() {
        let off = python(None, FOREIGN_ABI_PROBES);
        let on = python(
            Some(&filter(SocketPolicy::Contained, true)),
            FOREIGN_ABI_PROBES,
        );
        let sigsys = format!("SIG{}", libc::SIGSYS);
        assert_eq!(get(&on, "x32_getpid"), sigsys);
        // ENOSYS here (no x32 support in the kernel), or a pid where x32 is built in.
        assert_ne!(get(&off, "x32_getpid"), sigsys);
        if cfg!(target_arch = "x86_64") {
            assert_eq!(get(&on, "int80_getpid"), sigsys);
            // Where the kernel has IA32 emulation, the call works without the filter.
            assert_ne!(get(&off, "int80_getpid"), sigsys);
        }
    }

    const RUNTIME_PROBES: &str = r#"
import asyncio, multiprocessing, select, signal, subprocess, threading
def check(key, fn):
    try:
        print("%s=%s" % (key, "OK" if fn() else "BAD"), flush=True)
    except Exception as ex:
        print("%s=%r" % (key, ex), flush=True)
async def amain():
    await asyncio.sleep(0.01)
    p = await asyncio.create_subprocess_exec("sh", "-c", "echo hi", stdout=asyncio.subprocess.PIPE)
    out, _ = await p.communicate()
    return out == b"hi\n"
check("asyncio", lambda: asyncio.run(amain()))
def pool(method):
    with multiprocessing.get_context(method).Pool(2) as p:
        return p.map(abs, [-1, -2, -3]) == [1, 2, 3]
for method in ("fork", "forkserver", "spawn"):
    check("pool_" + method, lambda: pool(method))
def threads():
    out = []
    ts = [threading.Thread(target=out.append, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sorted(out) == [0, 1, 2, 3]
check("threads", threads)
check("fork", lambda: isolated(lambda: (0, 0)) == "OK")
check("pipe_shell", lambda: subprocess.run(["sh", "-c", "echo hi | cat"], capture_output=True).stdout == b"hi\n")
def posix_spawn():
    pid = os.posix_spawn("/bin/sh", ["sh", "-c", "exit 0"], os.environ)
    return os.waitpid(pid, 0)[1] == 0
check("posix_spawn", posix_spawn)
check("setsid", lambda: subprocess.run(["sh", "-c", "exit 0"], start_new_session=True).returncode == 0)
check("pidfd_open", lambda: os.pidfd_open(os.getpid()) >= 0)
check("memfd_create", lambda: os.memfd_create("agentbox") >= 0)
def inotify():
    fd = libc.inotify_init1(0)
    return fd >= 0 and libc.inotify_add_watch(fd, tempfile.gettempdir().encode(), 0x100) >= 0
check("inotify", inotify)
check("pdeathsig", lambda: libc.prctl(1, signal.SIGTERM, 0, 0, 0) == 0)
check("epoll", lambda: select.epoll() is not None)
check("eventfd", lambda: os.eventfd(0) >= 0)
def signals():
    got = []
    signal.signal(signal.SIGUSR1, lambda *a: got.append(1))
    os.kill(os.getpid(), signal.SIGUSR1)
    return got == [1]
check("signals", signals)
check("socketpair", lambda: len(socket.socketpair()) == 2)
check("personality_query", lambda: libc.personality(0xFFFFFFFF) >= 0)
def name_to_handle_at():
    handle = ctypes.create_string_buffer(8 + 128)
    ctypes.c_uint.from_buffer(handle).value = 128  # handle_bytes
    mount_id = ctypes.c_int()
    return sc(NR["name_to_handle_at"], -100, b"/", handle, ctypes.byref(mount_id), 0)[0] == 0
check("name_to_handle_at", name_to_handle_at)
"#;

    const NODE_PROBE: &str = r#"
const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const net = require('net');
const path = require('path');
const { Worker } = require('worker_threads');
if (cp.execSync('echo hi | cat').toString() !== 'hi\n') throw new Error('execSync');
if (cp.spawnSync('sh', ['-c', 'exit 3']).status !== 3) throw new Error('spawnSync');
os.networkInterfaces();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentbox-'));
fs.watch(dir).close();
fs.promises.readFile(__filename === '[eval]' ? '/proc/self/status' : __filename).then(() => {
  new Worker('require("worker_threads").parentPort.postMessage(42)', { eval: true }).on('message', (m) => {
    const sock = path.join(dir, 's');
    const srv = net.createServer((c) => c.end('pong')).listen(sock, () => {
      net.connect(sock).on('data', (d) => {
        console.log('node=' + (m === 42 && d.toString() === 'pong' ? 'OK' : 'BAD'));
        srv.close();
        fs.rmSync(dir, { recursive: true });
      });
    });
  });
});
"#;

    #[test]
    fn agent_runtimes_keep_working() {
        // The strictest spec: no sockets but local ones, no namespaces, clone3 -> ENOSYS.
        let strict = filter(SocketPolicy::UnixOnly, false);
        let on = python(Some(&strict), RUNTIME_PROBES);
        let keys = [
            "asyncio",
            "pool_fork",
            "pool_forkserver",
            "pool_spawn",
            "threads",
            "fork",
            "pipe_shell",
            "posix_spawn",
            "setsid",
            "pidfd_open",
            "memfd_create",
            "inotify",
            "pdeathsig",
            "epoll",
            "eventfd",
            "signals",
            "socketpair",
            "personality_query",
            "name_to_handle_at",
        ];
        for key in keys {
            assert_eq!(get(&on, key), "OK", "{key} under the filter");
        }
        // One line per check, plus DONE: no check went unasserted.
        assert_eq!(on.len(), keys.len() + 1, "{on:?}");

        let out = run(Some(&strict), "sh", &["-c", "echo hi | cat"]);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");

        let has_node = Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if has_node {
            let out = run(Some(&strict), "node", &["-e", NODE_PROBE]);
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                "node=OK",
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
