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
    let json = out_dir.join("rules.json");
    to_json(&rules, &json);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    std::fs::write(out_dir.join("rules.rs"), rules_source(&v)).unwrap();
}

/// Fields a built-in rule may have (src/detect/rules.rs, `RuleSpec`): an unknown one fails the
/// build instead of being dropped.
const RULE_FIELDS: &[&str] = &[
    "id",
    "description",
    "regex",
    "detector",
    "keywords",
    "entropy",
    "secretGroup",
    "allowlist",
    "window",
    "generic",
    "requires",
    "fakes",
    "encoded",
    "examples",
    "negative_examples",
];

/// The built-in rules as a Rust expression of `StaticRule`s (src/detect/rules.rs): decoding
/// JSON at every launch cost ~1.7 M instructions; static data costs nothing. The unit tests
/// parse rules.yaml itself, with every check and line numbers, and compare.
fn rules_source(v: &serde_json::Value) -> String {
    use serde_json::Value;
    use std::fmt::Write as _;
    let strs = |v: Option<&Value>| -> String {
        let items: Vec<String> = v
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|s| format!("{:?}", s.as_str().expect("a string")))
                    .collect()
            })
            .unwrap_or_default();
        format!("&[{}]", items.join(", "))
    };
    let opt_str = |v: Option<&Value>| match v.and_then(Value::as_str) {
        Some(s) => format!("Some({s:?})"),
        None => "None".into(),
    };
    let opt_num = |v: Option<&Value>, float: bool| match v {
        Some(n) if float => format!("Some({:?})", n.as_f64().expect("a number")),
        Some(n) => format!("Some({})", n.as_u64().expect("a whole number")),
        None => "None".into(),
    };
    let mut out = String::from("&[\n");
    for r in v["rules"].as_array().expect("rules: a list") {
        let obj = r.as_object().expect("a rule is a mapping");
        for k in obj.keys() {
            assert!(
                RULE_FIELDS.contains(&k.as_str()),
                "rules.yaml: unknown field {k:?}"
            );
        }
        let allow = r.get("allowlist");
        let requires = match r.get("requires") {
            Some(q) => format!(
                "Some(({:?}, {}, {}))",
                q["anyOf"].as_str().expect("requires.anyOf"),
                q.get("from")
                    .map_or(0, |f| f.as_u64().expect("requires.from")),
                q["within"].as_u64().expect("requires.within")
            ),
            None => "None".into(),
        };
        let fakes = match r.get("fakes").map(|f| f.as_str().expect("fakes: a word")) {
            None | Some("checked") => "Fakes::Checked",
            Some("never") => "Fakes::Never",
            Some(other) => panic!("rules.yaml: fakes: {other:?} is not checked or never"),
        };
        let encoded = match r
            .get("encoded")
            .map(|f| f.as_str().expect("encoded: a word"))
        {
            None | Some("searched") => "Encoded::Searched",
            Some("never") => "Encoded::Never",
            Some(other) => panic!("rules.yaml: encoded: {other:?} is not searched or never"),
        };
        let _ = writeln!(
            out,
            "StaticRule {{ id: {:?}, description: {:?}, regex: {}, detector: {}, keywords: {}, \
             entropy: {}, secret_group: {}, stopwords: {}, allow_regexes: {}, \
             allow_match_regexes: {}, window: {}, generic: {}, requires: {requires}, \
             fakes: {fakes}, encoded: {encoded}, examples: {}, negative_examples: {} }},",
            r["id"].as_str().expect("id"),
            r.get("description").and_then(Value::as_str).unwrap_or(""),
            opt_str(r.get("regex")),
            opt_str(r.get("detector")),
            strs(r.get("keywords")),
            opt_num(r.get("entropy"), true),
            opt_num(r.get("secretGroup"), false),
            strs(allow.and_then(|a| a.get("stopwords"))),
            strs(allow.and_then(|a| a.get("regexes"))),
            strs(allow.and_then(|a| a.get("matchRegexes"))),
            opt_num(r.get("window"), false),
            r.get("generic").and_then(Value::as_bool).unwrap_or(false),
            strs(r.get("examples")),
            strs(r.get("negative_examples")),
        );
    }
    out.push(']');
    out
}
