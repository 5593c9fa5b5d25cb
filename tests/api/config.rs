use std::process::Command;

fn mayday() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mayday"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MAYDAY_SECRET_KEY", "ab".repeat(32))
        .current_dir(std::env::temp_dir());
    c
}

#[test]
fn production_with_a_short_jwt_secret_exits_2_naming_the_variable() {
    let out =
        mayday().env("MAYDAY_ENV", "production").env("JWT_SECRET", "too-short").arg("serve").output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("JWT_SECRET"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
    assert!(!stderr.contains("too-short"), "the secret is not echoed");
}

#[test]
fn a_bad_value_exits_2_naming_its_variable() {
    for (var, value) in [
        ("TOKEN_LIFETIME", "forever"),
        ("MAYDAY_LISTEN", "nowhere"),
        ("DATABASE_URL", "postgres://x/y"),
        ("LOG_FORMAT", "xml"),
        ("MAYDAY_ENV", "staging"),
    ] {
        let out = mayday().env(var, value).arg("migrate").output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{var}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(var), "{var}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
