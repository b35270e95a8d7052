//! Credentials on command lines, read the way each command reads its arguments: curl's
//! `-u user:pass`, mysql's `-pPASS` (attached only: `-p NAME` names a database), `sshpass -p`,
//! `docker login -p`, `redis-cli -a`, `ldapsearch -w`, `openssl -passin pass:X`, `sqlplus
//! user/pass@db`, `htpasswd -b file user pass`, `npm config set //host/:_authToken X`...
//! A flag is only read for the command that has it: `mkdir -p`, `ssh -p 22`, `git log -p` or
//! `docker run -p 8080:80` are not passwords. The arguments are split as a shell would
//! (quotes, escapes, `\` line continuations), and only the password part is reported.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::keys::{classify_key, KeyClass};
use super::value::{plausible, Written};
use super::Scope;

/// What a flag's value holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Val {
    /// `user<sep>password`: the part after the first separator.
    UserPass(u8),
    /// The whole value.
    Secret,
    /// openssl's `pass:PASSWORD` (`env:`, `file:`, `fd:` and `stdin` name where it is).
    OpensslPass,
    /// An SNMP community: a password unless it is the default `public` or `private`.
    Community,
}

/// How the value is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// Attached (`-pX`, `--flag=X`) or as the next word.
    Any,
    /// Only attached: mysql's `-p` alone prompts, and the next word is the database.
    AttachedOnly,
}

/// A flag: its short letter (0 for none) and long spellings (with their dashes).
struct Flag {
    short: u8,
    long: &'static [&'static str],
    val: Val,
    form: Form,
}

/// Positional arguments that hold a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Positional {
    None,
    /// htpasswd's batch mode (`-b`): the last argument.
    LastInBatch,
    /// sqlplus `user/password@connect`.
    SqlPlus,
    /// `config set KEY VALUE` or `KEY=VALUE` (npm, yarn, pnpm; `aws configure set`).
    ConfigSet,
    /// rabbitmqctl `add_user NAME PASSWORD`, `change_password NAME PASSWORD`.
    SubcommandSecond,
    /// Windows `net use [DEV:] \\host\share PASSWORD`.
    NetUse,
    /// MinIO's `mc alias set ALIAS URL ACCESS_KEY SECRET_KEY` (`mc config host add` before).
    McAlias,
    /// `NAME VALUE` pairs whose name is a secret's (`setx DEPLOY_TOKEN v`, rclone's
    /// `config create REMOTE TYPE secret_access_key v`).
    NamedPairs,
    /// PowerShell's `ConvertTo-SecureString "v" -AsPlainText`: the first argument.
    PlainText,
    /// Scoped auth settings (poetry, composer): `http-basic.NAME USER PASSWORD`, and
    /// `pypi-token.NAME TOKEN`, `github-oauth.HOST TOKEN` and their like.
    ScopedAuth,
    /// The argument after one of these words (`wandb login KEY`, ngrok's `config
    /// add-authtoken TOKEN`, `teamviewer passwd PW`, db2's `using PW`).
    After(&'static [&'static str]),
    /// unixODBC's `isql DSN USER PASSWORD` (Sybase's `isql -U -P` has flags instead).
    Isql,
    /// The second argument (`wpa_passphrase SSID PASSPHRASE`).
    Second,
    /// `reg add KEY /v NAME /d DATA`: the data of a value whose name is a secret's.
    RegAdd,
    /// The second argument after one of these words (`confluent api-key store KEY SECRET`).
    SecondAfter(&'static [&'static str]),
    /// `pulumi config set [--secret] KEY VALUE`: the value of a secret (`--secret`, or a key
    /// whose name is a secret's).
    PulumiConfigSet,
}

/// A command, the flags that carry credentials, and those that do only after `login`.
struct Cmd {
    names: &'static [&'static str],
    flags: &'static [Flag],
    login_flags: &'static [Flag],
    positional: Positional,
}

const fn flag(short: u8, long: &'static [&'static str], val: Val) -> Flag {
    Flag {
        short,
        long,
        val,
        form: Form::Any,
    }
}

const S: Val = Val::Secret;
const PASSWORD: &[Flag] = &[flag(b'p', &["--password"], S)];
const NONE: &[Flag] = &[];

const COMMANDS: &[Cmd] = &[
    Cmd {
        names: &["curl"],
        flags: &[
            flag(b'u', &["--user"], Val::UserPass(b':')),
            flag(b'U', &["--proxy-user"], Val::UserPass(b':')),
            flag(0, &["--oauth2-bearer", "--pass", "--proxy-pass"], S),
            flag(0, &["--tlspassword", "--proxy-tlspassword"], S),
        ],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["wget"],
        flags: &[flag(
            0,
            &[
                "--password",
                "--http-password",
                "--ftp-password",
                "--proxy-password",
            ],
            S,
        )],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &[
            "mysql",
            "mysqldump",
            "mysqladmin",
            "mysqlimport",
            "mysqlshow",
            "mysqlcheck",
            "mysqlslap",
            "mysqlpump",
            "mysqlsh",
            "mariadb",
            "mariadb-dump",
            "mariadb-admin",
        ],
        flags: &[
            Flag {
                short: b'p',
                long: &[],
                val: S,
                form: Form::AttachedOnly,
            },
            Flag {
                short: 0,
                long: &["--password"],
                val: S,
                form: Form::AttachedOnly,
            },
        ],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &[
            "mongo",
            "mongosh",
            "mongodump",
            "mongorestore",
            "mongoexport",
            "mongoimport",
            "mongostat",
            "mongotop",
        ],
        flags: PASSWORD,
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["redis-cli", "valkey-cli"],
        flags: &[flag(b'a', &["--pass"], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["sshpass"],
        flags: &[flag(b'p', &[], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &[
            "docker", "podman", "nerdctl", "buildah", "helm", "oras", "regctl", "crane",
        ],
        flags: &[flag(0, &["--password"], S)],
        login_flags: PASSWORD,
        positional: Positional::None,
    },
    Cmd {
        names: &["skopeo"],
        flags: &[
            flag(
                0,
                &["--creds", "--src-creds", "--dest-creds"],
                Val::UserPass(b':'),
            ),
            flag(0, &["--password"], S),
        ],
        login_flags: PASSWORD,
        positional: Positional::None,
    },
    Cmd {
        names: &["http", "https", "xh", "xhs"],
        flags: &[flag(b'a', &["--auth"], Val::UserPass(b':'))],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["lftp"],
        flags: &[flag(b'u', &[], Val::UserPass(b','))],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["smbclient", "rpcclient", "smbget", "smbcacls"],
        flags: &[
            flag(b'U', &["--user"], Val::UserPass(b'%')),
            flag(0, &["--password"], S),
        ],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &[
            "ldapsearch",
            "ldapadd",
            "ldapmodify",
            "ldapdelete",
            "ldapwhoami",
            "ldappasswd",
            "ldapcompare",
            "ldapmodrdn",
        ],
        flags: &[flag(b'w', &[], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["sqlcmd", "bcp"],
        flags: &[flag(b'P', &[], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["openssl"],
        flags: &[
            flag(0, &["-passin", "-passout", "-pass"], Val::OpensslPass),
            flag(b'k', &[], S),
        ],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["keytool", "jarsigner"],
        flags: &[flag(
            0,
            &[
                "-storepass",
                "-keypass",
                "-srcstorepass",
                "-deststorepass",
                "-srckeypass",
                "-destkeypass",
            ],
            S,
        )],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["kubectl", "oc"],
        flags: &[flag(0, &["--token", "--password"], S)],
        login_flags: PASSWORD,
        positional: Positional::None,
    },
    Cmd {
        names: &["az"],
        flags: NONE,
        login_flags: PASSWORD,
        positional: Positional::None,
    },
    Cmd {
        names: &["svn"],
        flags: &[flag(0, &["--password"], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["ssh-keygen"],
        flags: &[flag(b'N', &[], S), flag(b'P', &[], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["gpg", "gpg2"],
        flags: &[flag(0, &["--passphrase"], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["7z", "7za", "7zr"],
        flags: &[Flag {
            short: b'p',
            long: &[],
            val: S,
            form: Form::AttachedOnly,
        }],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["zip", "unzip"],
        flags: &[flag(b'P', &[], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["influx"],
        flags: &[flag(0, &["-password"], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["sqlplus"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::SqlPlus,
    },
    Cmd {
        names: &["htpasswd"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::LastInBatch,
    },
    Cmd {
        names: &["ipmitool"],
        flags: &[flag(b'P', &[], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        // FreeRDP's Windows-style options: `/p:PASSWORD`.
        names: &[
            "xfreerdp",
            "wlfreerdp",
            "sdl-freerdp",
            "sdl-freerdp3",
            "xfreerdp3",
        ],
        flags: &[flag(0, &["/p:", "/password:"], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["net"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::NetUse,
    },
    Cmd {
        names: &["mc"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::McAlias,
    },
    Cmd {
        names: &["npm", "yarn", "pnpm", "aws", "atlas"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::ConfigSet,
    },
    Cmd {
        names: &["cqlsh"],
        flags: &[flag(b'p', &["--password"], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        // Sysinternals' PsExec (`-u USER -p PASSWORD`).
        names: &["psexec", "PsExec", "psexec64", "PsExec64"],
        flags: &[flag(b'p', &[], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["anaconda"],
        flags: &[flag(b't', &["--token"], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["wandb"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::After(&["login"]),
    },
    Cmd {
        names: &["setx", "rclone"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::NamedPairs,
    },
    Cmd {
        names: &["ConvertTo-SecureString"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::PlainText,
    },
    Cmd {
        // Only as the reader of a piped password (`echo PW | sudo -S`): see [`piped`].
        names: &["sudo"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["ncftp", "ncftpput", "ncftpget", "ncftpls", "rdesktop"],
        flags: &[flag(b'p', &[], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["mosquitto_pub", "mosquitto_sub", "mosquitto_rr"],
        flags: &[flag(b'P', &["--pw"], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["redis-server", "valkey-server"],
        flags: &[flag(0, &["--requirepass", "--masterauth"], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        // containerd's `ctr images pull --user USER:PASSWORD`.
        names: &["ctr"],
        flags: &[flag(b'u', &["--user"], Val::UserPass(b':'))],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        // lftp's `open -u USER,PASSWORD HOST`, typed at its prompt or in `-e '...'`.
        names: &["open"],
        flags: &[flag(b'u', &[], Val::UserPass(b','))],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["poetry", "composer"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::ScopedAuth,
    },
    Cmd {
        names: &["ngrok"],
        flags: &[flag(0, &["--authtoken"], S)],
        login_flags: NONE,
        positional: Positional::After(&["add-authtoken", "authtoken"]),
    },
    Cmd {
        names: &["cypher-shell", "rabbitmqadmin"],
        flags: PASSWORD,
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        // Dell iDRAC's `racadm -r HOST -u USER -p PASSWORD`.
        names: &["racadm"],
        flags: &[flag(b'p', &[], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        // `conan remote login REMOTE USER -p PASSWORD` (`-pr` elsewhere is a profile).
        names: &["conan"],
        flags: NONE,
        login_flags: PASSWORD,
        positional: Positional::None,
    },
    Cmd {
        // VS Code extension registries: `vsce publish -p PAT`, `ovsx publish -p TOKEN`.
        names: &["vsce", "ovsx"],
        flags: &[flag(b'p', &["--pat"], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["choco", "choco.exe"],
        flags: &[flag(b'k', &["--key", "--api-key", "--apikey"], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["codecov", "codecovcli"],
        flags: &[flag(b't', &["--token"], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        // net-snmp: `-A` and `-X` are the v3 pass phrases, `-c` the v1/v2c community.
        names: &[
            "snmpwalk",
            "snmpbulkwalk",
            "snmpget",
            "snmpgetnext",
            "snmpbulkget",
            "snmpset",
            "snmptable",
            "snmptrap",
            "snmpinform",
        ],
        flags: &[
            flag(b'A', &[], S),
            flag(b'X', &[], S),
            flag(b'c', &[], Val::Community),
        ],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["etcdctl"],
        flags: &[
            flag(0, &["--user"], Val::UserPass(b':')),
            flag(0, &["--password"], S),
        ],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["teamviewer"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::After(&["passwd"]),
    },
    Cmd {
        // `db2 connect to DB user NAME using PASSWORD`.
        names: &["db2"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::After(&["using"]),
    },
    Cmd {
        // Tencent Cloud's `tccli configure set secretKey V`.
        names: &["tccli"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::NamedPairs,
    },
    Cmd {
        // Only as readers of a piped password (`echo PW | anydesk --set-password`).
        names: &["anydesk", "openconnect"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        // Oracle's tools take `user/password@db` (rman after `target` or `catalog`).
        names: &["rman", "expdp", "impdp", "sqlldr", "dgmgrl"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::SqlPlus,
    },
    Cmd {
        names: &["isql"],
        flags: &[flag(b'P', &[], S)],
        login_flags: NONE,
        positional: Positional::Isql,
    },
    Cmd {
        names: &["wpa_passphrase"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::Second,
    },
    Cmd {
        // Windows: `cmdkey /pass:PW`, `schtasks /rp PW`, `winrs -p:PW`, `reg add ... /d PW`.
        names: &["cmdkey", "cmdkey.exe"],
        flags: &[flag(0, &["/pass:"], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["schtasks", "schtasks.exe"],
        flags: &[flag(0, &["/rp", "/p"], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["winrs", "winrs.exe"],
        flags: &[flag(0, &["-p:", "-password:", "/p:", "/password:"], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["reg", "reg.exe"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::RegAdd,
    },
    Cmd {
        names: &["rabbitmqctl"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::SubcommandSecond,
    },
    Cmd {
        // Apple's `xcrun altool -u ID -p PASSWORD` and `xcrun notarytool --password`.
        names: &["xcrun"],
        flags: PASSWORD,
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        // Windows' `signtool sign /f cert.pfx /p PASSWORD`.
        names: &["signtool", "signtool.exe"],
        flags: &[flag(0, &["/p"], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["confluent"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::SecondAfter(&["store"]),
    },
    Cmd {
        names: &["pulumi"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::PulumiConfigSet,
    },
    Cmd {
        // macOS's keychain: `security add-generic-password -a ACCOUNT -s SERVICE -w PASSWORD`.
        names: &["security"],
        flags: &[flag(b'w', &[], S)],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        names: &["neo4j-admin"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::After(&["set-initial-password"]),
    },
    Cmd {
        // sqlmap's `--auth-cred=USER:PASSWORD`.
        names: &["sqlmap"],
        flags: &[flag(0, &["--auth-cred"], Val::UserPass(b':'))],
        login_flags: NONE,
        positional: Positional::None,
    },
    Cmd {
        // DVC's `remote modify [--local] NAME password VALUE`, NetworkManager's `nmcli dev
        // wifi connect SSID password VALUE`.
        names: &["dvc", "nmcli"],
        flags: NONE,
        login_flags: NONE,
        positional: Positional::NamedPairs,
    },
];

/// Engine keywords: the command names, or for names under three bytes (and `http`, which is
/// in every URL) the name with the words that make it matter.
pub(crate) fn keywords() -> Vec<String> {
    let mut out = Vec::new();
    for c in COMMANDS {
        for n in c.names {
            match *n {
                "az" | "oc" => out.push(format!("{n} login")),
                "http" | "https" | "xh" | "xhs" => {
                    out.push(format!("{n} -a"));
                    out.push(format!("{n} --auth"));
                }
                "7z" => out.push("7z ".into()),
                "ctr" => out.push("ctr ".into()),
                "open" => out.push("open -u ".into()),
                "net" => {
                    out.push("net use ".into());
                    out.push("net user ".into());
                }
                "reg" | "reg.exe" => out.push(format!("{n} add ")),
                // `db2` is in many hashes and ids.
                "db2" => out.push("db2 connect ".into()),
                "mc" => {
                    out.push("mc alias ".into());
                    out.push("mc config ".into());
                }
                // `security` is in every apt log.
                "security" => out.push("security add-".into()),
                _ => out.push(n.to_string()),
            }
        }
    }
    out
}

/// Command names and, for each, its entry in [`COMMANDS`].
fn names() -> &'static (AhoCorasick, Vec<usize>) {
    static N: OnceLock<(AhoCorasick, Vec<usize>)> = OnceLock::new();
    N.get_or_init(|| {
        let mut pats = Vec::new();
        let mut cmd = Vec::new();
        for (i, c) in COMMANDS.iter().enumerate() {
            for n in c.names {
                pats.push(*n);
                cmd.push(i);
            }
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&pats)
            .expect("static command names");
        (ac, cmd)
    })
}

/// One argument after shell quoting: its bytes, and where each came from in the haystack.
struct Word {
    text: Vec<u8>,
    pos: Vec<usize>,
}

/// Bytes past the window a continued (`\`) command line may be read.
const CONTINUATION: usize = 4096;
/// Most arguments read for one command.
const MAX_WORDS: usize = 256;

/// Reports the credentials of every known command in the window.
pub(crate) fn scan(s: &Scope, emit: &mut dyn FnMut(usize, usize)) {
    let (ac, cmd_of) = names();
    // A command is looked at where the keyword pass found its keyword (the name, or the name
    // and what must follow it, `az login`), not again in the whole window.
    let (from, to) = s.keywords.unwrap_or((s.start, s.end));
    for m in ac.find_iter(&s.hay[from..to]) {
        let (a, b) = (from + m.start(), from + m.end());
        let before_ok = a == 0
            || b" \t\n;|&(`\"'=/$+@{".contains(&s.hay[a - 1])
            || (a >= 2 && &s.hay[a - 2..a] == b"\\\"");
        if !before_ok || !s.hay.get(b).is_some_and(|c| matches!(c, b' ' | b'\t')) {
            continue;
        }
        let limit = s.hay.len().min(s.end + CONTINUATION);
        let cmd = &COMMANDS[cmd_of[m.pattern().as_usize()]];
        // Most command names in logs come with nothing that could carry a credential (`npm
        // http fetch GET ...`): splitting the arguments costs more than looking for a flag.
        if !may_carry(cmd, command_text(s.hay, b, limit)) {
            continue;
        }
        let args = words(s.hay, b, limit);
        if cmd.positional == Positional::NetUse {
            net_use(s.hay, &args, emit);
        }
        if reads_password_from_stdin(&args) {
            piped(s.hay, a, emit);
        }
        evaluate(cmd, &args, emit);
    }
}

/// The bytes from `i` to the end of the command's line, `\` continuations included (a
/// superset of what [`words`] reads: it also stops at `|`, `;` and the like).
fn command_text(hay: &[u8], i: usize, limit: usize) -> &[u8] {
    let mut end = i;
    while end < limit {
        match crate::detect::bytes::find(b'\n', &hay[end..limit]) {
            None => return &hay[i..limit],
            Some(p) => {
                end += p;
                let continued = end > i
                    && (hay[end - 1] == b'\\'
                        || (hay[end - 1] == b'\r' && end - 1 > i && hay[end - 2] == b'\\'));
                if !continued {
                    return &hay[i..end];
                }
                end += 1;
            }
        }
    }
    &hay[i..limit]
}

/// Whether the arguments in `text` can hold a credential of `cmd`: a word that starts with
/// `-` (every flag, and htpasswd's batch mode), or what a positional form needs.
fn may_carry(cmd: &Cmd, text: &[u8]) -> bool {
    let flag_word = || {
        text.iter().enumerate().any(|(k, &c)| {
            c == b'-'
                && (k == 0
                    || matches!(
                        text[k - 1],
                        b' ' | b'\t' | b'\r' | b'\'' | b'"' | b'\\' | b'\n'
                    ))
        })
    };
    let has = |w: &[u8]| text.windows(w.len()).any(|x| x == w);
    let slash_flag = || {
        cmd.flags.iter().flat_map(|f| f.long.iter()).any(|l| {
            // Windows' options are read in any case (`/RP`, `/rp`).
            let l = l.as_bytes();
            l.starts_with(b"/") && text.windows(l.len()).any(|x| x.eq_ignore_ascii_case(l))
        })
    };
    if slash_flag() {
        return true;
    }
    let positional = match cmd.positional {
        Positional::None => false,
        Positional::LastInBatch => false,
        Positional::SqlPlus => text.contains(&b'/'),
        Positional::ConfigSet => has(b"set"),
        Positional::SubcommandSecond => has(b"add_user") || has(b"change_password"),
        Positional::NetUse => has(b"use ") || has(b"user "),
        Positional::McAlias => has(b"alias") || has(b"host"),
        Positional::NamedPairs => true,
        Positional::PlainText => false,
        // Every scoped setting (`http-basic.HOST`, `pypi-token.NAME`) has a dot.
        Positional::ScopedAuth => text.contains(&b'.'),
        Positional::After(words) => words.iter().any(|w| has(w.as_bytes())),
        Positional::Isql | Positional::Second => true,
        Positional::RegAdd => has(b"/d"),
        Positional::SecondAfter(words) => words.iter().any(|w| has(w.as_bytes())),
        Positional::PulumiConfigSet => has(b"config") && has(b"set"),
    };
    positional || flag_word()
}

/// Splits arguments from `i` as a shell does, up to the end of the command (`|`, `;`, `&`,
/// `)`, a backquote, a redirection, or the end of a line that is not continued).
fn words(hay: &[u8], mut i: usize, limit: usize) -> Vec<Word> {
    let mut out = Vec::new();
    while out.len() < MAX_WORDS {
        while i < limit && matches!(hay[i], b' ' | b'\t' | b'\r') {
            i += 1;
        }
        if i + 1 < limit && hay[i] == b'\\' && matches!(hay[i + 1], b'\n' | b'\r') {
            i += if hay.get(i + 1) == Some(&b'\r') { 3 } else { 2 };
            continue;
        }
        // A `#` word is not taken for a comment: logs print argv joined by spaces, unquoted.
        if i >= limit || b"\n|;&)`<>".contains(&hay[i]) {
            break;
        }
        let mut w = Word {
            text: Vec::new(),
            pos: Vec::new(),
        };
        i = word(hay, i, limit, &mut w);
        out.push(w);
    }
    out
}

/// Reads one word from `i`; returns where it ends.
fn word(hay: &[u8], mut i: usize, limit: usize, w: &mut Word) -> usize {
    let push = |w: &mut Word, at: usize| {
        w.text.push(hay[at]);
        w.pos.push(at);
    };
    while i < limit {
        match hay[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b'|' | b';' | b'&' | b')' | b'`' | b'<' | b'>' => break,
            b'\'' => {
                i += 1;
                while i < limit && hay[i] != b'\'' && hay[i] != b'\n' {
                    push(w, i);
                    i += 1;
                }
                i += 1;
            }
            b'"' => {
                i += 1;
                while i < limit && hay[i] != b'"' && hay[i] != b'\n' {
                    if hay[i] == b'\\' && i + 1 < limit && b"\"\\$`".contains(&hay[i + 1]) {
                        i += 1;
                    }
                    push(w, i);
                    i += 1;
                }
                i += 1;
            }
            b'\\' if i + 1 < limit && hay[i + 1] != b'\n' => {
                push(w, i + 1);
                i += 2;
            }
            _ => {
                push(w, i);
                i += 1;
            }
        }
    }
    i.min(limit)
}

/// Checks a credential (`from` is the first byte of it in `w`) and reports its span.
fn report(w: &Word, from: usize, val: Val, emit: &mut dyn FnMut(usize, usize)) {
    let text = &w.text[from..];
    let secret_from = match val {
        Val::Secret => 0,
        Val::UserPass(sep) => {
            if crate::detect::allow::globally_allowed(text) {
                return;
            }
            match text.iter().position(|&b| b == sep) {
                Some(p) => p + 1,
                None => return, // no password given: the command prompts for it
            }
        }
        Val::OpensslPass => match text.strip_prefix(b"pass:") {
            Some(_) => 5,
            None => return,
        },
        Val::Community => {
            if text.eq_ignore_ascii_case(b"public") || text.eq_ignore_ascii_case(b"private") {
                return;
            }
            0
        }
    };
    let secret = &text[secret_from..];
    let how = Written {
        quoted: true,
        ended: true,
        certain: true,
    };
    if !plausible(secret, KeyClass::Password, how) {
        return;
    }
    let (a, b) = (from + secret_from, w.text.len() - 1);
    emit(w.pos[a], w.pos[b] + 1);
}

/// Finds the credential flags of `cmd` in its arguments.
fn evaluate(cmd: &Cmd, args: &[Word], emit: &mut dyn FnMut(usize, usize)) {
    let mut login = false;
    let mut i = 0;
    while i < args.len() {
        let w = &args[i].text;
        if w == b"login" {
            login = true;
        }
        let sets: &[&[Flag]] = if login {
            &[cmd.flags, cmd.login_flags]
        } else {
            &[cmd.flags]
        };
        // Every flag here takes a value, so the next word is it, even when it starts with `-`.
        let next = args.get(i + 1);
        let mut took_next = false;
        for f in sets.iter().flat_map(|s| s.iter()) {
            if let Some((from, uses_next)) = flag_value(f, w, next.is_some()) {
                match (uses_next, next) {
                    (true, Some(n)) => {
                        report(n, 0, f.val, emit);
                        took_next = true;
                    }
                    (false, _) => report(&args[i], from, f.val, emit),
                    _ => {}
                }
                break;
            }
        }
        i += if took_next { 2 } else { 1 };
    }
    positional(cmd.positional, args, emit);
}

/// Whether `w` is flag `f`: `Some((offset of an attached value, false))` or
/// `Some((0, true))` when the value is the next word.
fn flag_value(f: &Flag, w: &[u8], has_next: bool) -> Option<(usize, bool)> {
    for long in f.long {
        let l = long.as_bytes();
        // `/p:VALUE`: a Windows-style option, its value attached after the colon.
        if l.ends_with(b":") {
            if w.len() > l.len() && w[..l.len()].eq_ignore_ascii_case(l) {
                return Some((l.len(), false));
            }
            continue;
        }
        if w == l || (l.starts_with(b"/") && w.eq_ignore_ascii_case(l)) {
            return (f.form == Form::Any && has_next).then_some((0, true));
        }
        if w.len() > l.len() + 1 && w.starts_with(l) && w[l.len()] == b'=' {
            return Some((l.len() + 1, false));
        }
    }
    if f.short == 0 || w.len() < 2 || w[0] != b'-' || w[1] == b'-' {
        return None;
    }
    if w[1] == f.short {
        if w.len() > 2 {
            return Some((2, false));
        }
        return (f.form == Form::Any && has_next).then_some((0, true));
    }
    // A cluster of letter flags ending in this one (`-sSfu user:pass`).
    let cluster = &w[1..];
    let last = *cluster.last()?;
    (f.form == Form::Any
        && last == f.short
        && has_next
        && cluster.iter().all(u8::is_ascii_alphabetic))
    .then_some((0, true))
}

/// Passwords given as positional arguments.
fn positional(p: Positional, args: &[Word], emit: &mut dyn FnMut(usize, usize)) {
    let plain: Vec<&Word> = args.iter().filter(|w| !w.text.starts_with(b"-")).collect();
    match p {
        Positional::None => {}
        Positional::LastInBatch => {
            let batch = args.iter().any(|w| {
                w.text.len() > 1
                    && w.text[0] == b'-'
                    && w.text[1..].iter().all(u8::is_ascii_alphabetic)
                    && w.text.contains(&b'b')
            });
            let n = if args.iter().any(|w| w.text == b"-n" || w.text == b"-nb") {
                2
            } else {
                3
            };
            if batch && plain.len() >= n {
                report(plain[plain.len() - 1], 0, Val::Secret, emit);
            }
        }
        Positional::SqlPlus => sql_plus(&plain, emit),
        Positional::ConfigSet => config_set(&plain, emit),
        // Read by [`net_use`], which needs the raw text.
        Positional::NetUse => {}
        Positional::McAlias => {
            let at = plain.windows(2).position(|p| {
                matches!(
                    (&p[0].text[..], &p[1].text[..]),
                    (b"alias", b"set") | (b"host", b"add")
                )
            });
            // ALIAS, URL, ACCESS_KEY, then the secret key.
            if let Some(sk) = at.and_then(|a| plain.get(a + 5)) {
                report(sk, 0, Val::Secret, emit);
            }
        }
        Positional::NamedPairs => {
            for pair in plain.windows(2) {
                if classify_key(&pair[0].text).is_some() {
                    report(pair[1], 0, Val::Secret, emit);
                }
            }
        }
        Positional::PlainText => {
            let plaintext = args
                .iter()
                .any(|w| w.text.eq_ignore_ascii_case(b"-AsPlainText"));
            if let Some(v) = plain.first().filter(|_| plaintext) {
                report(v, 0, Val::Secret, emit);
            }
        }
        Positional::ScopedAuth => scoped_auth(&plain, emit),
        Positional::After(words) => {
            let at = plain
                .iter()
                .position(|w| words.iter().any(|k| w.text == k.as_bytes()));
            if let Some(pw) = at.and_then(|a| plain.get(a + 1)) {
                report(pw, 0, Val::Secret, emit);
            }
        }
        Positional::Isql => {
            let sybase = args.iter().any(|w| {
                w.text.len() >= 2 && w.text[0] == b'-' && matches!(w.text[1], b'U' | b'S' | b'P')
            });
            if let Some(pw) = plain.get(2).filter(|_| !sybase) {
                report(pw, 0, Val::Secret, emit);
            }
        }
        Positional::Second => {
            if let Some(pw) = plain.get(1) {
                report(pw, 0, Val::Secret, emit);
            }
        }
        Positional::RegAdd => reg_add(&plain, args, emit),
        Positional::SecondAfter(words) => {
            let at = plain
                .iter()
                .position(|w| words.iter().any(|k| w.text == k.as_bytes()));
            if let Some(v) = at.and_then(|a| plain.get(a + 2)) {
                report(v, 0, Val::Secret, emit);
            }
        }
        Positional::PulumiConfigSet => {
            let secret = args.iter().any(|w| w.text == b"--secret");
            let at = plain
                .windows(2)
                .position(|p| p[0].text == b"config" && p[1].text == b"set");
            if let Some((k, v)) = at.and_then(|a| Some((plain.get(a + 2)?, plain.get(a + 3)?))) {
                if secret || classify_key(&k.text).is_some() {
                    report(v, 0, Val::Secret, emit);
                }
            }
        }
        Positional::SubcommandSecond => {
            let at = plain
                .iter()
                .position(|w| w.text == b"add_user" || w.text == b"change_password");
            if let Some(pw) = at.and_then(|a| plain.get(a + 2)) {
                report(pw, 0, Val::Secret, emit);
            }
        }
    }
}

/// `user/password@connect` (sqlplus and Oracle's other tools): the first argument, or
/// (rman) the one after `target`, `catalog` or `auxiliary`.
fn sql_plus(plain: &[&Word], emit: &mut dyn FnMut(usize, usize)) {
    // The first argument, or (rman) the one after `target`, `catalog` or `auxiliary`.
    let after = plain.windows(2).filter_map(|p| {
        matches!(&p[0].text[..], b"target" | b"catalog" | b"auxiliary").then_some(p[1])
    });
    for w in plain
        .first()
        .copied()
        .into_iter()
        .chain(after)
        .filter(|w| !w.text.starts_with(b"/"))
    {
        let end = w
            .text
            .iter()
            .position(|&b| b == b'@')
            .unwrap_or(w.text.len());
        if let Some(slash) = w.text[..end].iter().position(|&b| b == b'/') {
            let pw = Word {
                text: w.text[..end].to_vec(),
                pos: w.pos[..end].to_vec(),
            };
            report(&pw, slash + 1, Val::Secret, emit);
        }
    }
}

/// Scoped auth settings (poetry, composer): `http-basic.NAME USER PASSWORD`, and
/// `pypi-token.NAME TOKEN` and their like.
fn scoped_auth(plain: &[&Word], emit: &mut dyn FnMut(usize, usize)) {
    for (k, w) in plain.iter().enumerate() {
        let t = &w.text[..];
        let skip = if t.starts_with(b"http-basic.") {
            2
        } else if [
            &b"pypi-token."[..],
            b"github-oauth.",
            b"gitlab-token.",
            b"gitlab-oauth.",
            b"bearer.",
        ]
        .iter()
        .any(|p| t.starts_with(p))
        {
            1
        } else {
            continue;
        };
        if let Some(v) = plain.get(k + skip) {
            report(v, 0, Val::Secret, emit);
        }
    }
}

/// `reg add KEY /v NAME /d DATA`: the data, when NAME is a secret's.
fn reg_add(plain: &[&Word], args: &[Word], emit: &mut dyn FnMut(usize, usize)) {
    let named = args
        .windows(2)
        .any(|p| p[0].text.eq_ignore_ascii_case(b"/v") && classify_key(&p[1].text).is_some());
    let data = args
        .windows(2)
        .find(|p| p[0].text.eq_ignore_ascii_case(b"/d"))
        .map(|p| &p[1]);
    if let Some(d) = data.filter(|_| {
        named
            && plain
                .first()
                .is_some_and(|w| w.text.eq_ignore_ascii_case(b"add"))
    }) {
        report(d, 0, Val::Secret, emit);
    }
}

/// Whether the command reads its password from standard input (`sudo -S`, `docker login
/// --password-stdin`).
fn reads_password_from_stdin(args: &[Word]) -> bool {
    args.iter().any(|w| {
        let t = &w.text[..];
        t == b"--password-stdin"
            || t == b"--stdin"
            || t == b"--passwd-on-stdin"
            || t == b"--set-password"
            || (t.len() > 1
                && t[0] == b'-'
                && t[1..].iter().all(u8::is_ascii_alphabetic)
                && t[1..].contains(&b'S'))
    })
}

/// The password piped into the command that starts at `at`: `echo [-n] PW | CMD` or
/// `printf '%s' PW | CMD`, on the same line.
fn piped(hay: &[u8], at: usize, emit: &mut dyn FnMut(usize, usize)) {
    let before = &hay[..at];
    let Some(bar) = before.iter().rposition(|&b| !matches!(b, b' ' | b'\t')) else {
        return;
    };
    if before[bar] != b'|' || (bar > 0 && before[bar - 1] == b'|') {
        return;
    }
    let line = before[..bar]
        .iter()
        .rposition(|&b| matches!(b, b'\n' | b';' | b'&' | b'(' | b'`' | b'|'))
        .map_or(0, |p| p + 1);
    let args = words(hay, line, bar);
    let mut rest = args.iter().skip_while(|w| w.text.is_empty());
    let echoed: Vec<&Word> = match rest.next().map(|w| &w.text[..]) {
        Some(b"echo") => rest.filter(|w| !w.text.starts_with(b"-")).collect(),
        // The format first, then the value (`printf '%s\n' PW`).
        Some(b"printf") => rest.skip(1).collect(),
        _ => return,
    };
    if let [pw] = echoed[..] {
        report(pw, 0, Val::Secret, emit);
    }
}

/// `net use [DEV:] \\host\share PASSWORD [/user:NAME]`: the word after the share (`*`
/// prompts; `/options` are no password).
fn net_use(hay: &[u8], args: &[Word], emit: &mut dyn FnMut(usize, usize)) {
    let plain: Vec<&Word> = args
        .iter()
        .filter(|w| !w.text.starts_with(b"/") && !w.text.starts_with(b"-"))
        .collect();
    // The share as written starts with a backslash, which quoting or a JSON view's
    // unescaping may have taken out of the word's text: look at the raw bytes.
    let share = |w: &Word| {
        w.pos
            .first()
            .is_some_and(|&p| hay[p] == b'\\' || (p > 0 && hay[p - 1] == b'\\'))
    };
    // `net user NAME PASSWORD` only with a `/option` (`/add`, `/domain`): `net user count
    // rose` is prose.
    let options = args.iter().any(|w| w.text.starts_with(b"/"));
    let pw = match plain.first().map(|w| &w.text[..]) {
        Some(b"use") => plain
            .iter()
            .position(|w| share(w))
            .and_then(|share| plain.get(share + 1)),
        Some(b"user") if options => plain.get(2),
        _ => None,
    };
    if let Some(pw) = pw.filter(|w| w.text != b"*") {
        report(pw, 0, Val::Secret, emit);
    }
}

/// `config set KEY VALUE`, `config set KEY=VALUE`, `configure set KEY VALUE`.
fn config_set(plain: &[&Word], emit: &mut dyn FnMut(usize, usize)) {
    let Some(at) = plain
        .windows(2)
        .position(|p| matches!(&p[0].text[..], b"config" | b"configure") && p[1].text == b"set")
    else {
        return;
    };
    let Some(k) = plain.get(at + 2) else { return };
    let (key, value, from): (&[u8], &Word, usize) = match k.text.iter().position(|&b| b == b'=') {
        Some(eq) => (&k.text[..eq], k, eq + 1),
        None => match plain.get(at + 3) {
            Some(v) => (&k.text[..], v, 0),
            None => return,
        },
    };
    // `//registry.npmjs.org/:_authToken`: the name is after the last `:` or `/`.
    let name = key
        .rsplit(|&b| b == b':' || b == b'/')
        .next()
        .unwrap_or(key);
    if classify_key(name).is_some() {
        report(value, from, Val::Secret, emit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<String> {
        let hay = text.as_bytes();
        let mut out = Vec::new();
        let s = Scope {
            hay,
            start: 0,
            end: hay.len(),
            keywords: None,
        };
        scan(&s, &mut |a, b| out.push(text[a..b].to_string()));
        out
    }

    const PW: &str = "Xk93-pQ7zLm2";

    #[test]
    fn credentials_in_command_lines() {
        for line in [
            format!("curl -u deploy:{PW} https://x"),
            format!("curl --user 'ops:{PW}' https://x"),
            format!("curl --user=ops:{PW} https://x"),
            format!("curl -sSfu ops:{PW} -T f https://x"),
            format!("curl -uops:{PW} https://x"),
            format!("curl -u \":{PW}\" https://x"),
            format!("curl --user kevin:'{PW}' -iX PATCH"),
            format!("curl -X POST \\\n  -H 'a: b' \\\n  -u dev:{PW}"),
            format!("mysql \\\r\n  -p{PW} appdb"),
            format!("npm config \\\n set //registry.internal/:_authToken {PW}"),
            format!("mysql -h db -u app -p{PW} appdb"),
            format!("mysql -uroot -p'{PW}' -e 'show databases'"),
            format!("mysqldump --user=backup --password={PW} --all-databases"),
            format!("docker login -u ci -p {PW} registry.internal"),
            format!("docker login registry.internal --password {PW}"),
            format!("sshpass -p '{PW}' ssh deploy@10.0.0.12"),
            format!("redis-cli -h cache -a {PW} ping"),
            format!("ldapsearch -x -D cn=admin -w {PW} -b dc=x"),
            format!("openssl pkcs12 -export -passout pass:{PW}"),
            format!("keytool -importkeystore -srcstorepass {PW}"),
            format!("sqlplus system/{PW}@//db:1521/ORCL"),
            format!("htpasswd -b -c /etc/nginx/.htpasswd admin {PW}"),
            format!("npm config set //registry.npmjs.org/:_authToken {PW}"),
            format!("smbclient //fs/share -U 'CORP/svc%{PW}'"),
            format!("lftp -u deploy,{PW} sftp://files"),
            format!("http -a admin:{PW} POST https://x"),
            format!("+ /usr/bin/curl -u ci:{PW} https://x"),
            format!("{{\"cmd\":\"curl -u deploy:{PW} https://x\"}}"),
            format!("ipmitool -I lanplus -H 10.0.0.50 -U ADMIN -P {PW} chassis power status"),
            format!("xfreerdp /u:Administrator /p:'{PW}' /v:10.0.0.25 /cert:ignore"),
            format!("net use Z: \\\\fs01\\share /user:CORP\\jdoe {PW}"),
            format!("mc alias set minio http://127.0.0.1:9000 minio-ci {PW}"),
            format!("atlas config set private_api_key {PW}"),
            format!("cqlsh cassandra.internal -u cassandra -p {PW}"),
            format!("psexec \\\\srv02 -u CORP\\admin -p {PW} cmd /c ipconfig"),
            format!("anaconda -t {PW} upload dist/acme-2.4.1.tar.bz2"),
            format!("wandb login {PW}"),
            format!("setx DEPLOY_TOKEN {PW}"),
            format!("xcrun altool --upload-app -f App.ipa -u rel@acme.example -p {PW}"),
            format!("signtool sign /f codesign.pfx /p {PW} /fd sha256 Setup.exe"),
            format!("signtool sign /F codesign.pfx /P {PW} Setup.exe"),
            format!("confluent api-key store ABCDEFGH12345678 {PW} --resource lkc-x1"),
            format!("pulumi config set --secret dbPassword {PW}"),
            format!("pulumi config set shop:apiToken {PW}"),
            format!("dvc remote modify --local nas password {PW}"),
            format!("security add-generic-password -a jdoe -s jira -w {PW}"),
            format!("neo4j-admin dbms set-initial-password {PW}"),
            format!("nmcli dev wifi connect \"Office-5G\" password {PW}"),
            format!(
                "sqlmap -u \"https://t.test/?id=1\" --auth-type=Basic --auth-cred=\"tester:{PW}\""
            ),
            format!("schtasks /Create /TN Nightly /TR run.bat /SC DAILY /RU CORP\\svc /RP {PW}"),
            format!("rclone config create s3 s3 provider AWS secret_access_key {PW}"),
            format!("$p = ConvertTo-SecureString \"{PW}\" -AsPlainText -Force"),
            format!("echo '{PW}' | sudo -S systemctl restart nginx"),
            format!("printf '%s\\n' {PW} | docker login -u ci --password-stdin registry"),
            format!("ncftpput -u web -p {PW} ftp.example.org /htdocs index.html"),
            format!("rdesktop -u admin -p {PW} 192.168.10.5"),
            format!("mosquitto_pub -h mqtt -u sensor -P {PW} -t home/temp -m 21.5"),
            format!("redis-server --requirepass {PW}"),
            format!("ctr -n k8s.io images pull --user robot:{PW} registry.example.org/app:2"),
            format!("lftp -e 'set ftp:ssl-allow no; open -u ftpuser,{PW} ftp.example.org'"),
            format!("poetry config http-basic.acme deploy {PW}"),
            format!("poetry config pypi-token.pypi {PW}"),
            format!("composer config --global http-basic.repo.example.org token {PW}"),
            format!("ngrok config add-authtoken {PW}"),
            format!("cypher-shell -a bolt://neo4j:7687 -u neo4j -p {PW} \"MATCH (n) RETURN n\""),
            format!("rabbitmqadmin -H mq -u admin -p {PW} list queues"),
            format!("racadm -r 10.0.9.22 -u root -p {PW} getsysinfo"),
            format!("conan remote login artifactory ci -p {PW}"),
            format!("vsce publish -p {PW}"),
            format!("choco apikey --key {PW} --source https://push.chocolatey.org/"),
            format!("+ codecov -t {PW} -f coverage.xml"),
            format!("snmpwalk -v2c -c {PW} switch01.mgmt ifDescr"),
            format!("etcdctl --endpoints=https://10.0.0.5:2379 --user root:{PW} get /registry"),
            format!("sudo teamviewer passwd {PW}"),
            format!("db2 connect to SAMPLE user db2inst1 using {PW}"),
            format!("tccli configure set secretKey {PW}"),
            format!("echo {PW} | sudo anydesk --set-password"),
            format!("echo '{PW}' | openconnect --user=jdoe --passwd-on-stdin vpn.acme.com"),
            format!("rman target /@PROD catalog rcat/{PW}@RCATDB"),
            format!("expdp system/{PW}@ORCL schemas=hr"),
            format!("isql -v DSN_REPORTING svc_reporting {PW}"),
            format!("wpa_passphrase \"HomeNet\" '{PW}'"),
            format!("net user backupadmin {PW} /add /domain"),
            format!("cmdkey /generic:TERMSRV/ts01 /user:CORP\\jdoe /pass:{PW}"),
            format!("schtasks /create /tn \"Nightly\" /tr C:\\b.cmd /ru CORP\\svc /rp {PW}"),
            format!("winrs -r:web01 -u:CORP\\deploy -p:{PW} ipconfig /all"),
            format!("reg add \"HKLM\\SOFTWARE\\Winlogon\" /v DefaultPassword /t REG_SZ /d {PW} /f"),
        ] {
            assert_eq!(found(&line), [PW], "{line}");
        }
    }

    #[test]
    fn look_alikes_and_placeholders() {
        for line in [
            "mkdir -p /srv/app",
            "ssh -p 2222 deploy@10.0.0.7",
            "pulumi config set aws:region eu-west-1",
            "xcrun simctl list devices",
            "git log -p --stat -3",
            "docker run --rm -p 8080:80 -u 1000:1000 nginx",
            "mysql -p app_db",
            "mysql -u root -p",
            "mysql --password app",
            "curl -u \"$USER:$PASS\" https://x",
            "curl -u admin https://x",
            "curl -u user:password http://localhost",
            "curl -u username:token",
            "curl -i -u 'test:test'",
            "curl --user \"xxx:yyy\"",
            "curl -u <user:password> https://test.com",
            "curl --user neo4j:[PASSWORD] http://x",
            "curl -X POST --user \"$(cat ./login.txt):$(cat ./password.txt)\"",
            "curl -XGET -i -u \"${{ env.ELK_ID }}:${{ build.env.ELK_PASS }}\"",
            "openssl rsa -in key.pem -passin file:/run/secrets/keypass",
            "sshpass -f ~/.ssh/pass ssh host",
            "echo \"$PW\" | docker login -u ci --password-stdin registry",
            "use curl -u to give a user",
            "unzip -o build.zip",
            "ipmitool -I lanplus -H 10.0.0.50 -U ADMIN -P",
            "xfreerdp /u:Administrator /v:10.0.0.25 /cert:ignore",
            "net use Z: \\\\fs01\\share * /user:CORP\\jdoe",
            "net use Z: \\\\fs01\\share /persistent:yes",
            "net user count increased slowly",
            "mc alias list minio",
            "mc alias set minio http://127.0.0.1:9000",
            "atlas config set output jsonTemplate",
            "cqlsh cassandra.internal -u cassandra -p",
            "wandb login",
            "wandb login --relogin",
            "setx PATH \"%PATH%;C:\\tools\"",
            "ConvertTo-SecureString $encrypted -Key $key",
            "echo \"$PW\" | sudo -S true",
            "echo done | sudo tee /etc/motd",
            "cat pw.txt | sudo -S true",
            "open -u https://example.org",
            "ctr images pull registry.example.org/app:2",
            "poetry config virtualenvs.in-project true",
            "ngrok config add-authtoken $NGROK_AUTHTOKEN",
            "snmpwalk -v2c -c public switch01 ifDescr",
            "conan create . -pr default",
            "db2 connect to SAMPLE",
            "isql -U sa -P -S server",
            "net user jdoe",
            "reg add HKCU\\Software\\Acme /v Theme /d dark /f",
            "schtasks /query /fo LIST",
        ] {
            assert!(found(line).is_empty(), "{line}");
        }
    }
}
