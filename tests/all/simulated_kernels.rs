//! Issue 4: the plan on simulated older kernels (Landlock ABI 1-6, no user namespaces): every
//! layer is listed as applied or skipped with its reason; required layers refuse the launch.

use crate::common::*;

fn plan(f: &Fixture, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut args = vec!["run", "--dry-run", "--json"];
    args.extend_from_slice(extra);
    args.extend(["--", "true"]);
    let out = f.agentbox(&args);
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).expect("plan JSON"),
    )
}

fn layer<'a>(v: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id)
        .unwrap()
}

#[test]
fn every_abi_lists_layers_and_refuses_what_it_lacks() {
    let f = Fixture::new(As::Me);
    let features = [
        ("landlock", 1),
        ("landlock-truncate", 3),
        ("landlock-ioctl-dev", 5),
        ("landlock-scopes", 6),
    ];
    for abi in 0..=6 {
        let sim = format!("landlock={abi}");
        let (code, v) = plan(&f, &["--simulate-kernel", &sim]);
        assert!(v["kernel"]["simulated"]
            .as_str()
            .unwrap()
            .contains("SIMULATED"));
        let mut missing = false;
        for (id, min) in features {
            let l = layer(&v, id);
            let applied = l["status"] == "applied";
            assert_eq!(applied, abi >= min, "ABI {abi}: {id}");
            if !applied {
                missing = true;
                assert!(l["detail"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("ABI {min}")));
            }
        }
        if missing {
            assert_eq!(code, Some(125), "ABI {abi} must refuse");
            let r = v["refusals"].as_array().unwrap();
            assert!(r.iter().any(|x| x["relax"]
                .as_str()
                .unwrap()
                .starts_with("sandbox.optional: [")));
        } else {
            assert_eq!(code, Some(0));
        }
        // --best-effort runs and still reports every skip.
        let (code, v) = plan(&f, &["--simulate-kernel", &sim, "--best-effort"]);
        assert_eq!(code, Some(0));
        assert!(v["refusals"].as_array().unwrap().is_empty());
        assert_eq!(
            layer(&v, "landlock-scopes")["status"] == "applied",
            abi >= 6
        );
    }
}

#[test]
fn refused_launch_names_feature_and_setting() {
    let f = Fixture::new(As::Me);
    let out = f.agentbox(&["run", "--simulate-kernel", "landlock=5", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let e = stderr(&out);
    assert!(
        e.contains("landlock-scopes") && e.contains("ABI 6") && e.contains("sandbox.optional"),
        "{e}"
    );
    // The explicit relaxation in a profile works.
    let p = f.dir.path().join("relaxed.yaml");
    std::fs::write(
        &p,
        "extends: default\nsandbox:\n  optional: [landlock-scopes]\n",
    )
    .unwrap();
    let out = f.agentbox(&[
        "run",
        "-p",
        p.to_str().unwrap(),
        "--simulate-kernel",
        "landlock=5",
        "--",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("SKIPPED: landlock-scopes"));
}

#[test]
fn no_user_namespaces_falls_back_and_says_so() {
    for who in who() {
        let f = Fixture::new(who);
        std::fs::write(f.ws.join(".env"), "API=fake-dotenv-secret\n").unwrap();
        let (code, v) = plan(&f, &["--simulate-kernel", "userns=off"]);
        assert_eq!(code, Some(0));
        assert_eq!(layer(&v, "namespaces")["status"], "skipped");
        assert!(v["network"]["enforcement"]
            .as_str()
            .unwrap()
            .contains("seccomp"));
        // Fallbacks enforce: .env hidden by Landlock splitting, network off by seccomp,
        // credentials still unreadable.
        let out = f.agentbox(&[
            "run", "-q", "--simulate-kernel", "userns=off", "--", "sh", "-c",
            "cat .env; cat $HOME/.ssh/id_ed25519; python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)' && echo udp-ok; echo done",
        ]);
        let s = stdout(&out);
        assert!(s.contains("done"), "{}", stderr(&out));
        assert!(
            !s.contains("fake-dotenv-secret") && !s.contains("CREDENTIAL") && !s.contains("udp-ok"),
            "{s}"
        );
        // A plain-profile that requires namespaces refuses.
        let p = f.dir.path().join("strict.yaml");
        std::fs::write(
            &p,
            "extends: read-only\nfilesystem:\n  write: ['${WORKSPACE}']\n",
        )
        .unwrap();
        let out = f.agentbox(&[
            "run",
            "-p",
            p.to_str().unwrap(),
            "--simulate-kernel",
            "userns=off",
            "--",
            "true",
        ]);
        assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
        assert!(stderr(&out).contains("namespaces"));
    }
}

#[test]
fn simulation_is_never_silent() {
    let f = Fixture::new(As::Me);
    let out = f.agentbox(&["run", "--simulate-kernel", "landlock=6", "--", "true"]);
    assert!(
        stderr(&out).contains("SIMULATED KERNEL"),
        "{}",
        stderr(&out)
    );
    let out = f.agentbox(&[
        "run",
        "--dry-run",
        "--simulate-kernel",
        "userns=off",
        "--",
        "true",
    ]);
    assert!(stdout(&out).contains("WARNING:   SIMULATED KERNEL"));
}
