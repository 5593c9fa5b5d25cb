//! How Mayday names and builds what Asterisk reads: endpoint ids, the tenant's realtime
//! contexts, codecs, and the PJSIP rows of each phone profile (asterisk.md 4.2-4.3).

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::db::asterisk::{Aor, Auth, Endpoint};
use crate::db::models::Tenant;
use crate::services::{ServiceError, ServiceResult};

/// Codecs Mayday lets an admin choose (Asterisk's names).
pub const CODECS: [&str; 11] = ["opus", "ulaw", "alaw", "g722", "g729", "gsm", "ilbc", "speex", "g726", "vp8", "h264"];

/// What a phone is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// A browser (JsSIP, SIP.js): WSS, DTLS-SRTP, ICE, AVPF, rtcp-mux, bundle.
    Webrtc,
    /// A desktop or mobile softphone over UDP.
    Softphone,
    /// A desk phone over UDP.
    Deskphone,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Webrtc => "webrtc",
            Profile::Softphone => "softphone",
            Profile::Deskphone => "deskphone",
        }
    }

    pub fn parse(s: &str) -> Option<Profile> {
        match s {
            "webrtc" => Some(Profile::Webrtc),
            "softphone" => Some(Profile::Softphone),
            "deskphone" => Some(Profile::Deskphone),
            _ => None,
        }
    }

    pub fn default_codecs(self) -> Vec<String> {
        let list: &[&str] = match self {
            Profile::Webrtc => &["opus", "ulaw"],
            Profile::Softphone | Profile::Deskphone => &["ulaw", "alaw", "g722"],
        };
        list.iter().map(|c| c.to_string()).collect()
    }
}

/// The prefix of the tenant's own Asterisk names: its name prefix, or `<slug>-` for a
/// tenant alone on its PBX (its contexts still need a name of their own).
pub fn context_prefix(t: &Tenant) -> String {
    if t.name_prefix.is_empty() {
        format!("{}-", t.slug)
    } else {
        t.name_prefix.clone()
    }
}

/// The tenant's realtime context its agents' calls run in (`MAYDAY_CONTEXT`).
pub fn agents_context(t: &Tenant) -> String {
    format!("{}agents", context_prefix(t))
}

/// An Asterisk object id of the tenant: `<name prefix><name>`.
pub fn object_id(t: &Tenant, name: &str) -> String {
    format!("{}{name}", t.name_prefix)
}

/// A tenant without a name prefix names its Asterisk objects plainly: such a name must not
/// start with another tenant's prefix, or Asterisk and the router would take it for that
/// tenant's (Asterisk's tables are shared by every PBX reading Mayday's database).
pub async fn check_name_is_own(
    conn: &mut crate::db::repos::Conn,
    tenant: &Tenant,
    asterisk_name: &str,
    field: &str,
) -> ServiceResult<()> {
    if !tenant.name_prefix.is_empty() {
        return Ok(());
    }
    let taken = crate::db::repos::tenants::all(conn)
        .await?
        .iter()
        .any(|o| o.id != tenant.id && !o.name_prefix.is_empty() && asterisk_name.starts_with(&o.name_prefix));
    if taken {
        return Err(ServiceError::invalid(field, "starts with another tenant's name prefix"));
    }
    Ok(())
}

/// Validates a codec list (known names, no repeats, at most 8), keeping its order.
pub fn codecs(input: Option<&[String]>, profile: Profile) -> ServiceResult<Vec<String>> {
    let Some(list) = input else { return Ok(profile.default_codecs()) };
    if list.is_empty() || list.len() > 8 {
        return Err(ServiceError::invalid("codecs", "must list 1 to 8 codecs"));
    }
    let mut out: Vec<String> = Vec::new();
    for c in list {
        let c = c.trim().to_ascii_lowercase();
        if !CODECS.contains(&c.as_str()) {
            return Err(ServiceError::invalid("codecs", format!("unknown codec {c:?} (known: {})", CODECS.join(", "))));
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

/// `md5_cred` as Asterisk checks it: hex(md5("username:realm:password")).
pub fn md5_cred(username: &str, realm: &str, password: &str) -> String {
    hex::encode(Md5::digest(format!("{username}:{realm}:{password}").as_bytes()))
}

/// Short-lived TURN credentials of the TURN REST scheme (coturn `use-auth-secret`):
/// username `<expiry unix seconds>:<user>`, credential base64(HMAC-SHA1(secret, username)).
/// The TURN server recomputes the HMAC and refuses the username once the expiry is past.
pub fn turn_credentials(secret: &str, user: &str, expires_at: i64) -> (String, String) {
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    let username = format!("{expires_at}:{user}");
    // HMAC takes keys of any length.
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(username.as_bytes());
    let credential = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (username, credential)
}

/// A generated SIP password: 24 characters, letters and digits.
pub fn generate_secret() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..24).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// An admin-chosen SIP password must be strong: 16+ characters with lower and upper case
/// letters and digits, no spaces or quotes.
pub fn check_secret(field: &str, s: &str) -> ServiceResult<()> {
    let ok = s.len() >= 16
        && s.len() <= 80
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && s.bytes().any(|b| b.is_ascii_uppercase())
        && s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b';' | b'\\'));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            field,
            "must be 16 to 80 characters with lower and upper case letters and digits, no quotes, ; or \\",
        ))
    }
}

/// Values in realtime rows cannot hold `;` (Asterisk splits on it) nor quotes in caller ids.
pub fn clean(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, '"' | ';' | '\\' | '\r' | '\n')).collect()
}

/// `"<name>" <extension>` within `ps_endpoints.callerid`'s 40 characters (the name is cut).
pub fn callerid(name: &str, extension: &str) -> String {
    let room = 40usize.saturating_sub(extension.len() + 5);
    // Bytes, not characters: the column is varchar(40) of utf8mb4 characters, but cutting
    // by bytes keeps any charset within it.
    let mut name: String = clean(name).chars().take(room).collect();
    while name.len() > room {
        name.pop();
    }
    format!("\"{}\" <{extension}>", name.trim_end())
}

/// What an agent's phone rows are built from.
pub struct PhoneSpec<'a> {
    pub tenant: &'a Tenant,
    pub extension: &'a str,
    pub display_name: &'a str,
    pub profile: Profile,
    pub codecs: &'a [String],
    pub secret: &'a str,
    pub realm: &'a str,
    /// The agent's default DID, `${MAYDAY_DID}` in the tenant's dialplan.
    pub default_did: Option<&'a str>,
}

/// A yes/no column value (`ast_bool_values`; Mayday writes `yes`/`no`).
pub fn yes_no(b: bool) -> Option<String> {
    Some(if b { "yes" } else { "no" }.to_string())
}

fn yes() -> Option<String> {
    yes_no(true)
}

fn no() -> Option<String> {
    yes_no(false)
}

/// The `ps_endpoints`, `ps_auths` and `ps_aors` rows of an agent's phone.
pub fn phone_rows(p: &PhoneSpec<'_>) -> (Endpoint, Auth, Aor) {
    let id = object_id(p.tenant, p.extension);
    let mut e = Endpoint {
        id: id.clone(),
        aors: Some(id.clone()),
        auth: Some(id.clone()),
        context: Some("mayday-agents".into()),
        overlap_context: Some("mayday-accept".into()),
        // Realtime splits a value on `;`: each part becomes one set_var (asterisk.md 4.9).
        set_var: Some(match p.default_did {
            Some(did) => format!("MAYDAY_CONTEXT={};MAYDAY_DID={did}", agents_context(p.tenant)),
            None => format!("MAYDAY_CONTEXT={}", agents_context(p.tenant)),
        }),
        tenantid: Some(p.tenant.slug.clone()),
        disallow: Some("all".into()),
        allow: Some(p.codecs.join(",")),
        dtmf_mode: Some("rfc4733".into()),
        direct_media: no(),
        rtp_symmetric: yes(),
        force_rport: yes(),
        rewrite_contact: yes(),
        callerid: Some(callerid(p.display_name, p.extension)),
        ..Endpoint::default()
    };
    let mut aor = Aor {
        id: id.clone(),
        max_contacts: Some(1),
        remove_existing: yes(),
        qualify_frequency: Some(60),
        ..Aor::default()
    };
    match p.profile {
        Profile::Webrtc => {
            e.transport = Some("transport-wss".into());
            e.webrtc = yes();
            e.use_avpf = yes();
            e.ice_support = yes();
            e.media_encryption = Some("dtls".into());
            e.dtls_verify = Some("fingerprint".into());
            e.dtls_setup = Some("actpass".into());
            e.dtls_auto_generate_cert = yes();
            e.rtcp_mux = yes();
            e.bundle = yes();
            e.max_audio_streams = Some(1);
            aor.qualify_frequency = Some(30);
        }
        Profile::Softphone | Profile::Deskphone => {
            e.transport = Some("transport-udp".into());
        }
    }
    let auth = Auth {
        id: id.clone(),
        auth_type: Some("md5".into()),
        md5_cred: Some(md5_cred(&id, p.realm, p.secret)),
        password: None,
        realm: Some(p.realm.to_string()),
        username: Some(id),
    };
    (e, auth, aor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(prefix: &str) -> Tenant {
        Tenant {
            id: 1,
            slug: "acme".into(),
            name: "Acme".into(),
            timezone: "UTC".into(),
            enabled: true,
            pbx_id: None,
            name_prefix: prefix.into(),
            created_at: chrono::NaiveDateTime::default(),
            updated_at: chrono::NaiveDateTime::default(),
            dialplan_generation: crate::dialplan::GENERATION,
        }
    }

    #[test]
    fn md5_cred_is_asterisk_s_ha1() {
        // The HA1 of RFC 2617 for user "Mufasa", realm "testrealm@host.com", password "Circle Of Life".
        assert_eq!(md5_cred("Mufasa", "testrealm@host.com", "Circle Of Life"), "939e7578ed9e3c518a452acee763bce9");
    }

    #[test]
    fn a_webrtc_phone_gets_wss_dtls_ice_and_one_contact() {
        let t = tenant("acme-");
        let codecs = vec!["opus".to_string(), "ulaw".to_string()];
        let (e, a, aor) = phone_rows(&PhoneSpec {
            tenant: &t,
            extension: "1001",
            display_name: "Amani \"A\"",
            profile: Profile::Webrtc,
            codecs: &codecs,
            secret: "s",
            realm: "asterisk",
            default_did: Some("0323300245"),
        });
        assert_eq!(e.id, "acme-1001");
        assert_eq!(
            (e.transport.as_deref(), e.webrtc.as_deref(), e.media_encryption.as_deref()),
            (Some("transport-wss"), Some("yes"), Some("dtls"))
        );
        assert_eq!(
            (e.ice_support.as_deref(), e.use_avpf.as_deref(), e.rtcp_mux.as_deref(), e.bundle.as_deref()),
            (Some("yes"), Some("yes"), Some("yes"), Some("yes"))
        );
        assert_eq!(e.set_var.as_deref(), Some("MAYDAY_CONTEXT=acme-agents;MAYDAY_DID=0323300245"));
        assert_eq!(e.callerid.as_deref(), Some("\"Amani A\" <1001>"));
        assert_eq!(
            (a.auth_type.as_deref(), a.password.as_deref(), a.realm.as_deref()),
            (Some("md5"), None, Some("asterisk"))
        );
        assert_eq!(a.md5_cred.as_deref(), Some(md5_cred("acme-1001", "asterisk", "s").as_str()));
        assert_eq!((aor.max_contacts, aor.remove_existing.as_deref()), (Some(1), Some("yes")));
        let alone = tenant("");
        assert_eq!(object_id(&alone, "1001"), "1001", "a tenant alone on its PBX keeps plain names");
        assert_eq!(agents_context(&alone), "acme-agents");
    }

    #[test]
    fn codecs_and_secrets_are_checked() {
        assert_eq!(codecs(None, Profile::Webrtc).expect("default"), ["opus", "ulaw"]);
        assert!(codecs(Some(&["opus".into(), "bogus".into()]), Profile::Webrtc).is_err());
        assert!(check_secret("sip_password", "short").is_err());
        assert!(check_secret("sip_password", "Abcdefghijk12345").is_ok());
        assert!(check_secret("sip_password", "abcdefghijk12345").is_err(), "no upper case");
        let g = generate_secret();
        assert_eq!(g.len(), 24);
    }

    #[test]
    fn turn_credentials_follow_the_turn_rest_scheme() {
        // From openssl: printf '1700000000:acme-1001' | openssl dgst -sha1 -hmac s3cret -binary | base64
        let (user, cred) = turn_credentials("s3cret", "acme-1001", 1_700_000_000);
        assert_eq!(user, "1700000000:acme-1001");
        assert_eq!(cred, "wPeOdUMprGgx/43bUz0EUtLYNvU=");
    }
}
