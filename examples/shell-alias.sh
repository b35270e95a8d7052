# shellcheck shell=sh
# agentbox shell functions: `codex`, `claude` and `gemini` run inside agentbox with their presets.
#
# Source this file from ~/.bashrc or ~/.zshrc (bash, zsh, dash and other POSIX shells):
#
#     . /path/to/agentbox/examples/shell-alias.sh
#
# Then `codex ARGS...` runs `agentbox run -p codex -- codex ARGS...` (same for claude and gemini;
# add your own with `myagent() { _agentbox_cage myagent "$@"; }` once a profile of that name
# exists). agentbox resolves `codex` on PATH itself, and a shell function is never on PATH, so
# the function cannot call itself.
#
# Deliberate bypass, loud on stderr, one invocation at a time:
#
#     AGENTBOX_BYPASS=1 codex ARGS...
#     unboxed codex ARGS...
#
# If agentbox is not installed the functions refuse (exit 127) rather than run the agent uncaged.

# An alias of the same name would be expanded inside the definitions below.
unalias codex claude gemini unboxed 2>/dev/null || true

# _agentbox_cage AGENT [ARGS...]: run AGENT under agentbox with the preset of the same name.
_agentbox_cage() {
    if [ "${AGENTBOX_BYPASS:-}" = 1 ]; then
        unboxed "$@"
        return
    fi
    if ! command -v agentbox >/dev/null 2>&1; then
        printf 'agentbox: not installed (not on PATH); refusing to run %s uncaged (AGENTBOX_BYPASS=1 %s ... to run it anyway)\n' "$1" "$1" >&2
        return 127
    fi
    command agentbox run -p "$1" -- "$@"
}

# unboxed COMMAND [ARGS...]: run COMMAND outside agentbox, saying so on stderr.
unboxed() {
    if [ "$#" -eq 0 ]; then
        echo 'usage: unboxed COMMAND [ARGS...]   (runs COMMAND without agentbox)' >&2
        return 2
    fi
    printf 'agentbox: WARNING: running %s WITHOUT agentbox: full access to your files, secrets and network\n' "$1" >&2
    # A subshell, so the bypass does not leak into what the agent starts; without the function
    # of that name, since zsh's `exec` would run it instead of the binary on PATH.
    (
        unset AGENTBOX_BYPASS
        unset -f "$1" 2>/dev/null
        exec "$@"
    )
}

codex() { _agentbox_cage codex "$@"; }
claude() { _agentbox_cage claude "$@"; }
gemini() { _agentbox_cage gemini "$@"; }
