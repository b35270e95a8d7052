//! Records the git revision for `--version`; embeds every `profiles/*.yaml` and the detector
//! rules, converted to JSON.
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
    // Embedded YAML is turned into JSON here: parsing it at every launch cost more than a
    // millisecond. The YAML stays the source of truth (and user files stay YAML, with lines).
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let to_json = |src: &std::path::Path, dst: &std::path::Path| {
        let text = std::fs::read_to_string(src).unwrap();
        // The YAML reading of user files (src/yaml.rs): YAML 1.2 booleans, `<<` a plain key,
        // tags and duplicate keys refused.
        let options = serde_saphyr::options! {
            strict_booleans: true,
            merge_keys: serde_saphyr::MergeKeyPolicy::AsOrdinary,
            reject_unsupported_tags: true,
            ignore_binary_tag_for_string: true,
            duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        };
        let v: serde_json::Value = serde_saphyr::from_str_with_options(&text, options)
            .unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        std::fs::write(dst, serde_json::to_string(&v).unwrap()).unwrap();
    };
    let mut f = std::fs::File::create(out_dir.join("builtin_profiles.rs")).unwrap();
    writeln!(f, "&[").unwrap();
    for n in names {
        println!("cargo:rerun-if-changed=profiles/{n}.yaml");
        let dst = out_dir.join(format!("profile-{n}.json"));
        to_json(&dir.join(format!("{n}.yaml")), &dst);
        writeln!(f, "    ({n:?}, include_str!({dst:?})),").unwrap();
    }
    writeln!(f, "]").unwrap();
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/detect/rules.yaml");
    println!("cargo:rerun-if-changed=src/detect/rules.yaml");
    to_json(&rules, &out_dir.join("rules.json"));
}
