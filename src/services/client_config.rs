//! What a client (the Chrome extension, the Electron softphone, a wallboard) should talk
//! to for its tenant, so one client build serves every tenant.

use serde::Serialize;

use crate::db::models::Tenant;
use crate::db::repos;
use crate::domain::TenantId;
use crate::services::auth::TenantRef;
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct ClientConfig {
    pub tenant: String,
    /// Only for a signed-in caller: before login a slug or host name tells nobody which
    /// organisation is behind it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_name: Option<String>,
    /// Base of the REST API (`PUBLIC_API_URL`, else the URL this request came to).
    pub api_base: String,
    /// The push WebSocket (`<api_base>/ws`, ws:// or wss://).
    pub websocket_url: String,
    /// Asterisk's WebSocket transport for browser phones (`SIP_WSS_URL`).
    pub sip_wss_url: Option<String>,
    pub sip_domain: String,
    /// STUN servers (TURN credentials come with the softphone login, they expire).
    pub stun_urls: Vec<String>,
}

/// Which tenant a client-config request is about.
pub enum Which {
    Id(TenantId),
    Named(TenantRef),
}

/// `request_base` is `scheme://host` of the request.
pub async fn get(state: &AppState, which: Which, request_base: &str) -> ServiceResult<ClientConfig> {
    let mut conn = state.db.get().await?;
    let signed_in = matches!(which, Which::Id(_));
    let tenant: Option<Tenant> = match which {
        Which::Id(id) => Some(repos::tenants::find(&mut conn, id).await?),
        Which::Named(TenantRef::Slug(slug)) => repos::tenants::find_by_slug(&mut conn, slug.trim()).await?,
        Which::Named(TenantRef::Host(host)) => {
            let host = host.split(':').next().unwrap_or_default().to_ascii_lowercase();
            match repos::tenants::find_by_domain(&mut conn, &host).await? {
                Some(t) => Some(t),
                None => match &state.config.default_tenant {
                    Some(slug) => repos::tenants::find_by_slug(&mut conn, slug).await?,
                    None => None,
                },
            }
        }
    };
    let tenant = tenant.filter(|t| t.enabled).ok_or(ServiceError::NotFound)?;
    let t = &state.config.telephony;
    let api_base =
        t.public_api_url.clone().unwrap_or_else(|| request_base.to_string()).trim_end_matches('/').to_string();
    let websocket_url = match api_base.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}/ws"),
        Some((_, rest)) => format!("ws://{rest}/ws"),
        None => format!("{api_base}/ws"),
    };
    Ok(ClientConfig {
        tenant: tenant.slug,
        tenant_name: signed_in.then_some(tenant.name),
        api_base,
        websocket_url,
        sip_wss_url: t.sip_wss_url.clone(),
        sip_domain: t.sip_domain.clone(),
        stun_urls: t.stun_urls.clone(),
    })
}
