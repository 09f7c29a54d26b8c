//! `elements-gateway config check`: the effective settings by both names with where each was
//! set (secrets as `<set>`), and `serve`'s one-line errors.

use crate::common::process::gateway_command;

/// The rows of the settings table `config check` prints first, each split into its columns.
fn table_rows(printed: &str) -> Vec<Vec<&str>> {
    printed
        .lines()
        .skip(1)
        .take_while(|line| !line.is_empty())
        .map(|line| {
            line.split("  ")
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .collect()
        })
        .collect()
}

#[test]
fn config_check_prints_the_effective_settings_and_fails_as_serve_would() {
    let file = std::env::temp_dir().join(format!("check-{}.toml", std::process::id()));
    std::fs::write(&file, "[limits]\ndepth = 12\n").unwrap();
    let run = |extra: &[(&str, &str)]| {
        let mut command = gateway_command();
        command
            .args(["config", "check", "--config"])
            .arg(&file)
            .env("GATEWAY_UPSTREAM_TOKEN", "app-token-never-shown")
            .env("GATEWAY_JWT_SECRET", "caller-secret-never-shown-0123456789");
        for (name, value) in extra {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    let ok = run(&[("GATEWAY_CACHE_TTL_SECS", "90")]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let printed = String::from_utf8(ok.stdout).unwrap();
    for secret in ["app-token-never-shown", "caller-secret-never-shown"] {
        assert!(!printed.contains(secret), "{printed}");
    }
    let rows = table_rows(&printed);
    assert_eq!(rows.len(), elements_gateway::VARIABLES.len(), "{printed}");
    let file_source = format!("set in {}", file.display());
    for expected in [
        [
            "GATEWAY_UPSTREAM_TOKEN ([upstream] token)",
            "<set>",
            "set in the environment",
        ],
        [
            "GATEWAY_CACHE_TTL_SECS ([cache] ttl_secs)",
            "90",
            "set in the environment",
        ],
        ["GATEWAY_LIMITS_DEPTH ([limits] depth)", "12", &file_source],
        [
            "GATEWAY_UPSTREAM_PAGE_SIZE ([upstream] page_size)",
            "100",
            "default",
        ],
        ["GATEWAY_JWT_ISSUER ([jwt] issuer)", "none", "default"],
        // The scopes it will ask the identity service for: the four read permissions.
        [
            "GATEWAY_UPSTREAM_SCOPE ([upstream] scope)",
            "elements.license.read.all elements.customers.read.all elements.jobs.read.all elements.cbprotected.read.all",
            "default",
        ],
    ] {
        assert!(
            rows.contains(&expected.to_vec()),
            "{expected:?} in {printed}"
        );
    }

    let missing_key = run(&[("GATEWAY_JWT_PUBLIC_KEY_FILE", "/no/such/key.pem")]);
    assert!(!missing_key.status.success());
    let line = String::from_utf8(missing_key.stderr).unwrap();
    assert!(
        line.starts_with("error: GATEWAY_JWT_PUBLIC_KEY_FILE"),
        "{line}"
    );
    assert_eq!(line.trim_end().lines().count(), 1, "one line: {line}");

    let manifest = std::env::temp_dir().join(format!("check-{}.json", std::process::id()));
    std::fs::write(
        &manifest,
        serde_json::json!({ "0".repeat(64): "{ __typename }" }).to_string(),
    )
    .unwrap();
    let bad = run(&[(
        "GATEWAY_PERSISTED_DOCUMENTS_FILE",
        manifest.to_str().unwrap(),
    )]);
    assert!(!bad.status.success());
    let line = String::from_utf8(bad.stderr).unwrap();
    assert!(
        line.contains("GATEWAY_PERSISTED_DOCUMENTS_FILE") && line.contains("not the SHA-256"),
        "{line}"
    );
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(&manifest);
}
