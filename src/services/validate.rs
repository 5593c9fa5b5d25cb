//! Field rules shared by the services. Each returns `ServiceError::Invalid` naming the field.

use super::ServiceError;

type Result<T> = std::result::Result<T, ServiceError>;

/// A required text field, trimmed, 1..=max characters, no control characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ServiceError::invalid(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(ServiceError::invalid(field, format!("must be at most {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(ServiceError::invalid(field, "must not contain control characters"));
    }
    Ok(v.to_string())
}

/// An optional text field: empty means none.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(field, v, max).map(Some),
    }
}

/// Usernames: 1-64 of letters, digits and `._@-`.
pub fn username(value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() || v.len() > 64 {
        return Err(ServiceError::invalid("username", "must be 1 to 64 characters"));
    }
    if !v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-')) {
        return Err(ServiceError::invalid("username", "may contain only letters, digits and . _ @ -"));
    }
    Ok(v.to_string())
}

/// Passwords: 8 to 1024 bytes (argon2 takes any bytes; the upper bound stops abuse).
pub fn password(field: &str, value: &str) -> Result<()> {
    if value.chars().count() < 8 {
        return Err(ServiceError::invalid(field, "must be at least 8 characters"));
    }
    if value.len() > 1024 {
        return Err(ServiceError::invalid(field, "must be at most 1024 bytes"));
    }
    Ok(())
}

/// A loose e-mail check: one `@` with text on both sides, no spaces.
pub fn email(value: Option<&str>) -> Result<Option<String>> {
    let Some(v) = optional_text("email", value, 255)? else { return Ok(None) };
    match v.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') && !v.contains(char::is_whitespace) => {
            Ok(Some(v))
        }
        _ => Err(ServiceError::invalid("email", "is not an e-mail address")),
    }
}

/// Extensions: 2 to 20 digits.
pub fn extension(value: Option<&str>) -> Result<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if (2..=20).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(v.to_string())),
        Some(_) => Err(ServiceError::invalid("extension", "must be 2 to 20 digits")),
    }
}

/// Caller ids / DIDs: up to 32 of digits and a leading `+`.
pub fn did(field: &str, value: Option<&str>) -> Result<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => {
            let digits = v.strip_prefix('+').unwrap_or(v);
            if digits.is_empty() || digits.len() > 31 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ServiceError::invalid(field, "must be digits with an optional leading +"));
            }
            Ok(Some(v.to_string()))
        }
    }
}

/// Tenant slugs: 2-30 of lowercase letters, digits and `-`, starting with a letter (the
/// tenant's Asterisk contexts `<slug>-agents` must fit Asterisk's 40 characters).
pub fn slug(value: &str) -> Result<String> {
    let v = value.trim();
    let ok = (2..=30).contains(&v.len())
        && v.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        return Err(ServiceError::invalid(
            "slug",
            "must be 2 to 30 lowercase letters, digits or -, starting with a letter",
        ));
    }
    Ok(v.to_string())
}

/// An IANA time zone name.
pub fn timezone(value: &str) -> Result<String> {
    let v = value.trim();
    v.parse::<chrono_tz::Tz>()
        .map_err(|_| ServiceError::invalid("timezone", "is not an IANA time zone (e.g. Africa/Nairobi)"))?;
    Ok(v.to_string())
}

/// Asterisk name prefixes: up to 30 of lowercase letters, digits, `-` and `_` (safe in
/// endpoint, queue and context names, and short enough for Asterisk's 40-character names).
/// A tenant's Asterisk name prefix: empty, or a lowercase letter first and `-` or `_` last
/// (so that no prefix plus a name equals another tenant's plain extension or name).
pub fn name_prefix(value: &str) -> Result<String> {
    let v = value.trim();
    let ok = v.is_empty()
        || (v.len() <= 30
            && v.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && v.ends_with(['-', '_'])
            && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'));
    if !ok {
        return Err(ServiceError::invalid(
            "name_prefix",
            "must be empty, or up to 30 lowercase letters, digits, - or _, starting with a letter and ending with - or _",
        ));
    }
    Ok(v.to_string())
}

/// Host names (tenant domains, AMI hosts).
pub fn hostname(field: &str, value: &str) -> Result<String> {
    let v = value.trim().to_ascii_lowercase();
    let ok = !v.is_empty()
        && v.len() <= 253
        && v.split('.').all(|label| {
            !label.is_empty() && label.len() <= 63 && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    let ip = v.parse::<std::net::IpAddr>().is_ok();
    if !ok && !ip {
        return Err(ServiceError::invalid(field, "is not a host name"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(r: Result<impl std::fmt::Debug>) -> String {
        match r {
            Err(ServiceError::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn each_rule_names_its_field() {
        assert_eq!(field_of(username("bad name")), "username");
        assert_eq!(field_of(username(&"a".repeat(65))), "username");
        assert_eq!(field_of(password("password", "short")), "password");
        assert_eq!(field_of(email(Some("nope"))), "email");
        assert_eq!(field_of(extension(Some("12a"))), "extension");
        assert_eq!(field_of(slug("Acme")), "slug");
        assert_eq!(field_of(timezone("Mars/Base")), "timezone");
        assert_eq!(field_of(name_prefix("a b")), "name_prefix");
        assert_eq!(field_of(hostname("host", "bad host")), "host");
        assert_eq!(field_of(did("callerid", Some("+12ab"))), "callerid");
    }

    #[test]
    fn good_values_pass_trimmed() {
        assert_eq!(username(" alice.b@x ").expect("ok"), "alice.b@x");
        assert_eq!(extension(Some("1001")).expect("ok").as_deref(), Some("1001"));
        assert_eq!(extension(Some("")).expect("ok"), None);
        assert_eq!(timezone("Africa/Nairobi").expect("ok"), "Africa/Nairobi");
        assert_eq!(hostname("h", "PBX.example.com").expect("ok"), "pbx.example.com");
        assert_eq!(hostname("h", "10.0.0.5").expect("ok"), "10.0.0.5");
        assert_eq!(did("d", Some("+254700123456")).expect("ok").as_deref(), Some("+254700123456"));
        assert_eq!(name_prefix("").expect("ok"), "");
    }
}
