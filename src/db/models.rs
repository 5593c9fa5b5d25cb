//! Row models: `X` is what a query reads, `NewX` what an insert writes, `XChanges` what an
//! update sets (`None` leaves a column alone).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{audit_log, pbxes, tenant_domains, tenants, users};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = pbxes, check_for_backend(diesel::mysql::Mysql))]
pub struct Pbx {
    pub id: u64,
    pub name: String,
    pub ami_host: String,
    pub ami_port: u32,
    pub ami_username: String,
    pub ami_secret_enc: Vec<u8>,
    pub ami_auth: String,
    pub enabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = pbxes)]
pub struct NewPbx {
    pub name: String,
    pub ami_host: String,
    pub ami_port: u32,
    pub ami_username: String,
    pub ami_secret_enc: Vec<u8>,
    pub ami_auth: String,
    pub enabled: bool,
}

#[derive(Clone, Debug, Default, AsChangeset)]
#[diesel(table_name = pbxes)]
pub struct PbxChanges {
    pub name: Option<String>,
    pub ami_host: Option<String>,
    pub ami_port: Option<u32>,
    pub ami_username: Option<String>,
    pub ami_secret_enc: Option<Vec<u8>>,
    pub ami_auth: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = tenants, check_for_backend(diesel::mysql::Mysql))]
pub struct Tenant {
    pub id: u64,
    pub slug: String,
    pub name: String,
    pub timezone: String,
    pub enabled: bool,
    pub pbx_id: Option<u64>,
    pub name_prefix: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Which compiler wrote its dialplan rows (`dialplan::GENERATION`).
    pub dialplan_generation: u32,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = tenants)]
pub struct NewTenant {
    pub slug: String,
    pub name: String,
    pub timezone: String,
    pub enabled: bool,
    pub pbx_id: Option<u64>,
    pub name_prefix: String,
    /// A new tenant has no rows an older compiler wrote.
    pub dialplan_generation: u32,
}

#[derive(Clone, Debug, Default, AsChangeset)]
#[diesel(table_name = tenants)]
pub struct TenantChanges {
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub enabled: Option<bool>,
    pub pbx_id: Option<Option<u64>>,
    pub name_prefix: Option<String>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = tenant_domains, check_for_backend(diesel::mysql::Mysql))]
pub struct TenantDomain {
    pub id: u64,
    pub tenant_id: u64,
    pub domain: String,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = tenant_domains)]
pub struct NewTenantDomain {
    pub tenant_id: u64,
    pub domain: String,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(diesel::mysql::Mysql))]
pub struct User {
    pub id: u64,
    pub tenant_id: u64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub display_name: String,
    pub email: Option<String>,
    pub extension: Option<String>,
    pub callerid: Option<String>,
    pub enabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub tenant_id: u64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub display_name: String,
    pub email: Option<String>,
    pub extension: Option<String>,
    pub callerid: Option<String>,
    pub enabled: bool,
}

#[derive(Clone, Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub password_hash: Option<String>,
    pub role: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<Option<String>>,
    pub extension: Option<Option<String>>,
    pub callerid: Option<Option<String>>,
    pub enabled: Option<bool>,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry {
    pub tenant_id: Option<u64>,
    pub actor_user_id: Option<u64>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub detail: Option<String>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = audit_log, check_for_backend(diesel::mysql::Mysql))]
pub struct AuditEntry {
    pub id: u64,
    pub tenant_id: Option<u64>,
    pub actor_user_id: Option<u64>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub detail: Option<String>,
    pub created_at: NaiveDateTime,
}

impl PbxChanges {
    /// Diesel refuses an UPDATE with nothing to set.
    pub fn is_empty(&self) -> bool {
        let PbxChanges { name, ami_host, ami_port, ami_username, ami_secret_enc, ami_auth, enabled } = self;
        name.is_none()
            && ami_host.is_none()
            && ami_port.is_none()
            && ami_username.is_none()
            && ami_secret_enc.is_none()
            && ami_auth.is_none()
            && enabled.is_none()
    }
}

impl TenantChanges {
    pub fn is_empty(&self) -> bool {
        let TenantChanges { name, timezone, enabled, pbx_id, name_prefix } = self;
        name.is_none() && timezone.is_none() && enabled.is_none() && pbx_id.is_none() && name_prefix.is_none()
    }
}

impl UserChanges {
    pub fn is_empty(&self) -> bool {
        let UserChanges { password_hash, role, display_name, email, extension, callerid, enabled } = self;
        password_hash.is_none()
            && role.is_none()
            && display_name.is_none()
            && email.is_none()
            && extension.is_none()
            && callerid.is_none()
            && enabled.is_none()
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::agent_pauses, check_for_backend(diesel::mysql::Mysql))]
pub struct AgentPause {
    pub tenant_id: u64,
    pub user_id: u64,
    pub reason: String,
    pub since: NaiveDateTime,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::live_counters, check_for_backend(diesel::mysql::Mysql))]
pub struct LiveCounterRow {
    pub tenant_id: u64,
    pub kind: String,
    pub name: String,
    pub day: chrono::NaiveDate,
    pub counters: String,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::agents, check_for_backend(diesel::mysql::Mysql))]
pub struct AgentRow {
    pub user_id: u64,
    pub tenant_id: u64,
    pub profile: String,
    pub codecs: String,
    pub sip_secret_enc: Vec<u8>,
    pub endpoint: String,
}

/// A tenant's queue: Mayday's record, from which the `queues` row is written.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::tenant_queues, check_for_backend(diesel::mysql::Mysql))]
pub struct TenantQueue {
    pub id: u64,
    pub tenant_id: u64,
    pub name: String,
    pub asterisk_name: String,
    pub strategy: String,
    pub timeout_secs: u32,
    pub retry_secs: u32,
    pub wrapup_secs: u32,
    pub service_level_secs: u32,
    pub max_len: u32,
    pub join_empty: Option<String>,
    pub leave_when_empty: Option<String>,
    pub ring_in_use: bool,
    pub music_class: Option<String>,
    pub announce: Option<String>,
    pub weight: i32,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

/// The settable fields of a queue (insert and full update).
#[derive(Clone, Debug, Insertable, AsChangeset)]
#[diesel(table_name = crate::db::schema::tenant_queues, treat_none_as_null = true)]
pub struct QueueFields {
    pub tenant_id: u64,
    pub name: String,
    pub asterisk_name: String,
    pub strategy: String,
    pub timeout_secs: u32,
    pub retry_secs: u32,
    pub wrapup_secs: u32,
    pub service_level_secs: u32,
    pub max_len: u32,
    pub join_empty: Option<String>,
    pub leave_when_empty: Option<String>,
    pub ring_in_use: bool,
    pub music_class: Option<String>,
    pub announce: Option<String>,
    pub weight: i32,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::queue_memberships, check_for_backend(diesel::mysql::Mysql))]
pub struct Membership {
    pub queue_id: u64,
    pub user_id: u64,
    pub penalty: i32,
    pub paused: bool,
}

/// A PJSIP trunk: Mayday's record, from which endpoint, aor, auth, registration and
/// identify rows are written.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::trunks, check_for_backend(diesel::mysql::Mysql))]
pub struct Trunk {
    pub id: u64,
    pub tenant_id: u64,
    pub name: String,
    pub endpoint: String,
    pub host: String,
    pub port: u32,
    pub transport: String,
    pub username: Option<String>,
    pub secret_enc: Option<Vec<u8>>,
    pub from_user: Option<String>,
    pub from_domain: Option<String>,
    pub send_pai: bool,
    pub send_rpid: bool,
    pub codecs: String,
    pub register: bool,
    pub match_ips: Option<String>,
    pub account_number: Option<String>,
    pub enabled: bool,
    pub is_default: bool,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

#[derive(Clone, Debug, Insertable, AsChangeset)]
#[diesel(table_name = crate::db::schema::trunks, treat_none_as_null = true)]
pub struct TrunkFields {
    pub tenant_id: u64,
    pub name: String,
    pub endpoint: String,
    pub host: String,
    pub port: u32,
    pub transport: String,
    pub username: Option<String>,
    pub secret_enc: Option<Vec<u8>>,
    pub from_user: Option<String>,
    pub from_domain: Option<String>,
    pub send_pai: bool,
    pub send_rpid: bool,
    pub codecs: String,
    pub register: bool,
    pub match_ips: Option<String>,
    pub account_number: Option<String>,
    pub enabled: bool,
    pub is_default: bool,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::dids, check_for_backend(diesel::mysql::Mysql))]
pub struct Did {
    pub id: u64,
    pub tenant_id: u64,
    pub did: String,
    pub label: String,
    pub trunk_id: Option<u64>,
    pub allow_inbound: bool,
    pub allow_outbound: bool,
    pub active: bool,
    pub dial_prefix: Option<u8>,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

#[derive(Clone, Debug, Insertable, AsChangeset)]
#[diesel(table_name = crate::db::schema::dids, treat_none_as_null = true)]
pub struct DidFields {
    pub tenant_id: u64,
    pub did: String,
    pub label: String,
    pub trunk_id: Option<u64>,
    pub allow_inbound: bool,
    pub allow_outbound: bool,
    pub active: bool,
    pub dial_prefix: Option<u8>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::time_conditions, check_for_backend(diesel::mysql::Mysql))]
pub struct TimeConditionRow {
    pub id: u64,
    pub tenant_id: u64,
    pub name: String,
    pub weekly: String,
    pub closed_dates: String,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

#[derive(Clone, Debug, Insertable, AsChangeset)]
#[diesel(table_name = crate::db::schema::time_conditions)]
pub struct TimeConditionFields {
    pub tenant_id: u64,
    pub name: String,
    pub weekly: String,
    pub closed_dates: String,
}

/// A prompt without its audio.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::prompts, check_for_backend(diesel::mysql::Mysql))]
pub struct PromptRow {
    pub id: u64,
    pub tenant_id: u64,
    pub name: String,
    pub bytes: u32,
    pub duration_ms: u32,
    pub sha256: String,
    pub created_at: chrono::NaiveDateTime,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = crate::db::schema::prompts)]
pub struct NewPrompt {
    pub tenant_id: u64,
    pub name: String,
    pub audio: Vec<u8>,
    pub bytes: u32,
    pub duration_ms: u32,
    pub sha256: String,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::ivr_menus, check_for_backend(diesel::mysql::Mysql))]
pub struct IvrRow {
    pub id: u64,
    pub tenant_id: u64,
    pub name: String,
    pub prompt_id: Option<u64>,
    pub timeout_secs: u32,
    pub retries: u32,
    pub options: String,
    pub timeout_destination: Option<String>,
    pub invalid_destination: Option<String>,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

#[derive(Clone, Debug, Insertable, AsChangeset)]
#[diesel(table_name = crate::db::schema::ivr_menus, treat_none_as_null = true)]
pub struct IvrFields {
    pub tenant_id: u64,
    pub name: String,
    pub prompt_id: Option<u64>,
    pub timeout_secs: u32,
    pub retries: u32,
    pub options: String,
    pub timeout_destination: Option<String>,
    pub invalid_destination: Option<String>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::inbound_routes, check_for_backend(diesel::mysql::Mysql))]
pub struct InboundRow {
    pub id: u64,
    pub tenant_id: u64,
    pub name: String,
    pub pattern: String,
    pub destination: String,
    pub time_condition_id: Option<u64>,
    pub fallback: Option<String>,
    pub enabled: bool,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

#[derive(Clone, Debug, Insertable, AsChangeset)]
#[diesel(table_name = crate::db::schema::inbound_routes, treat_none_as_null = true)]
pub struct InboundFields {
    pub tenant_id: u64,
    pub name: String,
    pub pattern: String,
    pub destination: String,
    pub time_condition_id: Option<u64>,
    pub fallback: Option<String>,
    pub enabled: bool,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::outbound_routes, check_for_backend(diesel::mysql::Mysql))]
pub struct OutboundRow {
    pub id: u64,
    pub tenant_id: u64,
    pub name: String,
    pub position: i32,
    pub patterns: String,
    pub trunk_ids: String,
    pub strip_digits: u32,
    pub prepend: String,
    pub callerid_policy: String,
    pub fixed_did_id: Option<u64>,
    pub enabled: bool,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

#[derive(Clone, Debug, Insertable, AsChangeset)]
#[diesel(table_name = crate::db::schema::outbound_routes, treat_none_as_null = true)]
pub struct OutboundFields {
    pub tenant_id: u64,
    pub name: String,
    pub position: i32,
    pub patterns: String,
    pub trunk_ids: String,
    pub strip_digits: u32,
    pub prepend: String,
    pub callerid_policy: String,
    pub fixed_did_id: Option<u64>,
    pub enabled: bool,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::sms_messages, check_for_backend(diesel::mysql::Mysql))]
pub struct SmsMessage {
    pub id: u64,
    pub tenant_id: u64,
    pub direction: String,
    pub partner: String,
    pub our_number: Option<String>,
    pub content: String,
    pub status: String,
    pub provider_id: Option<String>,
    pub error: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_by: Option<u64>,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = crate::db::schema::sms_messages)]
pub struct NewSms {
    pub tenant_id: u64,
    pub direction: String,
    pub partner: String,
    pub our_number: Option<String>,
    pub content: String,
    pub status: String,
    pub provider_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_by: Option<u64>,
}
