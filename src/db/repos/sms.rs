//! SMS messages, always inside one tenant.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Conn;
use crate::db::models::{NewSms, SmsMessage};
use crate::db::schema::sms_messages;
use crate::db::{last_insert_id, Page, Paged};
use crate::domain::TenantId;

pub async fn insert(conn: &mut Conn, m: &NewSms) -> QueryResult<u64> {
    diesel::insert_into(sms_messages::table).values(m).execute(conn).await?;
    diesel::select(last_insert_id()).get_result::<u64>(conn).await
}

pub async fn find(conn: &mut Conn, tenant: TenantId, id: u64) -> QueryResult<SmsMessage> {
    sms_messages::table
        .filter(sms_messages::tenant_id.eq(tenant.0))
        .filter(sms_messages::id.eq(id))
        .select(SmsMessage::as_select())
        .first(conn)
        .await
}

pub async fn by_idempotency_key(conn: &mut Conn, tenant: TenantId, key: &str) -> QueryResult<Option<SmsMessage>> {
    sms_messages::table
        .filter(sms_messages::tenant_id.eq(tenant.0))
        .filter(sms_messages::idempotency_key.eq(key))
        .select(SmsMessage::as_select())
        .first(conn)
        .await
        .optional()
}

/// The message the provider knows by this id, in one direction (`out`: what we sent,
/// which delivery reports are about; `in`: what we received).
pub async fn by_provider_id(
    conn: &mut Conn,
    tenant: TenantId,
    direction: &str,
    provider_id: &str,
) -> QueryResult<Option<SmsMessage>> {
    sms_messages::table
        .filter(sms_messages::tenant_id.eq(tenant.0))
        .filter(sms_messages::direction.eq(direction))
        .filter(sms_messages::provider_id.eq(provider_id))
        .select(SmsMessage::as_select())
        .first(conn)
        .await
        .optional()
}

/// Outbound messages still `queued` since before `before` (Mayday stopped, or its database
/// went away, while the provider was being called) become `failed` with `reason`. How many.
pub async fn fail_stale_queued(conn: &mut Conn, before: chrono::NaiveDateTime, reason: &str) -> QueryResult<usize> {
    diesel::update(
        sms_messages::table
            .filter(sms_messages::direction.eq("out"))
            .filter(sms_messages::status.eq("queued"))
            .filter(sms_messages::created_at.lt(before)),
    )
    .set((sms_messages::status.eq("failed"), sms_messages::error.eq(reason)))
    .execute(conn)
    .await
}

/// Whether an outbound message of the tenant is waiting for the provider's answer.
pub async fn has_queued(conn: &mut Conn, tenant: TenantId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        sms_messages::table
            .filter(sms_messages::tenant_id.eq(tenant.0))
            .filter(sms_messages::direction.eq("out"))
            .filter(sms_messages::status.eq("queued")),
    ))
    .get_result(conn)
    .await
}

/// The outcome of the provider call for a `queued` message (the provider's id or the
/// failure's reason). A message no longer `queued` keeps what it has.
pub async fn set_outcome(
    conn: &mut Conn,
    tenant: TenantId,
    id: u64,
    status: &str,
    provider_id: Option<&str>,
    error: Option<&str>,
) -> QueryResult<()> {
    let error: Option<String> = error.map(|e| e.chars().take(250).collect());
    diesel::update(
        sms_messages::table
            .filter(sms_messages::tenant_id.eq(tenant.0))
            .filter(sms_messages::id.eq(id))
            .filter(sms_messages::status.eq("queued")),
    )
    .set((sms_messages::status.eq(status), sms_messages::provider_id.eq(provider_id), sms_messages::error.eq(error)))
    .execute(conn)
    .await
    .map(|_| ())
}

/// A delivery report's status, applied only while the message is still in one of `from`
/// (so two reports racing can never move it backwards). Whether it changed.
pub async fn advance_status(
    conn: &mut Conn,
    tenant: TenantId,
    id: u64,
    from: &[&str],
    status: &str,
    error: Option<&str>,
) -> QueryResult<bool> {
    let error: Option<String> = error.map(|e| e.chars().take(250).collect());
    let from: Vec<String> = from.iter().map(|s| s.to_string()).collect();
    let n = diesel::update(
        sms_messages::table
            .filter(sms_messages::tenant_id.eq(tenant.0))
            .filter(sms_messages::id.eq(id))
            .filter(sms_messages::status.eq_any(from)),
    )
    .set((sms_messages::status.eq(status), sms_messages::error.eq(error)))
    .execute(conn)
    .await?;
    Ok(n > 0)
}

/// The latest message of each partner, newest conversation first.
pub async fn conversations(conn: &mut Conn, tenant: TenantId, page: Page) -> QueryResult<Paged<SmsMessage>> {
    // One query for the page (the latest id per partner as a subquery), one for the count.
    let other = diesel::alias!(sms_messages as latest);
    let latest = other
        .filter(other.field(sms_messages::tenant_id).eq(tenant.0))
        .group_by(other.field(sms_messages::partner))
        .select(diesel::dsl::max(other.field(sms_messages::id)));
    let total: i64 = sms_messages::table
        .filter(sms_messages::tenant_id.eq(tenant.0))
        .select(diesel::dsl::count(sms_messages::partner).aggregate_distinct())
        .first(conn)
        .await?;
    let items = sms_messages::table
        .filter(sms_messages::tenant_id.eq(tenant.0))
        .filter(sms_messages::id.nullable().eq_any(latest))
        .order(sms_messages::id.desc())
        .limit(page.limit())
        .offset(page.offset())
        .select(SmsMessage::as_select())
        .load(conn)
        .await?;
    Ok(Paged { items, page: page.page, per_page: page.per_page, total })
}

/// One conversation, newest first.
pub async fn with_partner(
    conn: &mut Conn,
    tenant: TenantId,
    partner: &str,
    page: Page,
) -> QueryResult<Paged<SmsMessage>> {
    let base = || {
        sms_messages::table
            .filter(sms_messages::tenant_id.eq(tenant.0))
            .filter(sms_messages::partner.eq(partner.to_string()))
    };
    let total: i64 = base().count().get_result(conn).await?;
    let items = base()
        .order(sms_messages::id.desc())
        .limit(page.limit())
        .offset(page.offset())
        .select(SmsMessage::as_select())
        .load(conn)
        .await?;
    Ok(Paged { items, page: page.page, per_page: page.per_page, total })
}
