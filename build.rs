//! Records the git revision for `--version` and embeds every `profiles/*.yaml`.
use std::io::Write;

fn main() {
    let rev = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=AGENTBOX_GIT_REV={rev}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    println!("cargo:rerun-if-changed=profiles");

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("profiles/ directory")
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            (p.extension()? == "yaml").then(|| p.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("builtin_profiles.rs");
    let mut f = std::fs::File::create(out).unwrap();
    writeln!(f, "&[").unwrap();
    for n in names {
        println!("cargo:rerun-if-changed=profiles/{n}.yaml");
        writeln!(
            f,
            "    ({n:?}, include_str!({:?})),",
            dir.join(format!("{n}.yaml"))
        )
        .unwrap();
    }
    writeln!(f, "]").unwrap();
}
