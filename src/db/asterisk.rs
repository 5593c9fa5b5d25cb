//! The Asterisk realtime tables Mayday writes (the columns it sets; Asterisk's own columns
//! are listed in `asterisk/schema/columns.txt`), their row types, and the repository that
//! writes and removes them. Names (ids) carry the tenant's name prefix.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::repos::Conn;

pub mod schema {
    diesel::table! {
        ps_endpoints (id) {
            id -> Varchar,
            transport -> Nullable<Varchar>,
            aors -> Nullable<Varchar>,
            auth -> Nullable<Varchar>,
            context -> Nullable<Varchar>,
            disallow -> Nullable<Varchar>,
            allow -> Nullable<Varchar>,
            direct_media -> Nullable<Varchar>,
            dtmf_mode -> Nullable<Varchar>,
            force_rport -> Nullable<Varchar>,
            ice_support -> Nullable<Varchar>,
            identify_by -> Nullable<Varchar>,
            outbound_auth -> Nullable<Varchar>,
            rewrite_contact -> Nullable<Varchar>,
            rtp_symmetric -> Nullable<Varchar>,
            send_pai -> Nullable<Varchar>,
            send_rpid -> Nullable<Varchar>,
            use_avpf -> Nullable<Varchar>,
            media_encryption -> Nullable<Varchar>,
            callerid -> Nullable<Varchar>,
            from_user -> Nullable<Varchar>,
            from_domain -> Nullable<Varchar>,
            dtls_verify -> Nullable<Varchar>,
            dtls_setup -> Nullable<Varchar>,
            rtcp_mux -> Nullable<Varchar>,
            webrtc -> Nullable<Varchar>,
            bundle -> Nullable<Varchar>,
            dtls_auto_generate_cert -> Nullable<Varchar>,
            max_audio_streams -> Nullable<Integer>,
            set_var -> Nullable<Text>,
            overlap_context -> Nullable<Varchar>,
            tenantid -> Nullable<Varchar>,
        }
    }

    diesel::table! {
        ps_auths (id) {
            id -> Varchar,
            auth_type -> Nullable<Varchar>,
            md5_cred -> Nullable<Varchar>,
            password -> Nullable<Varchar>,
            realm -> Nullable<Varchar>,
            username -> Nullable<Varchar>,
        }
    }

    diesel::table! {
        ps_aors (id) {
            id -> Varchar,
            contact -> Nullable<Varchar>,
            max_contacts -> Nullable<Integer>,
            remove_existing -> Nullable<Varchar>,
            qualify_frequency -> Nullable<Integer>,
        }
    }

    diesel::table! {
        ps_registrations (id) {
            id -> Varchar,
            client_uri -> Nullable<Varchar>,
            contact_user -> Nullable<Varchar>,
            expiration -> Nullable<Integer>,
            outbound_auth -> Nullable<Varchar>,
            retry_interval -> Nullable<Integer>,
            server_uri -> Nullable<Varchar>,
            transport -> Nullable<Varchar>,
            line -> Nullable<Varchar>,
            endpoint -> Nullable<Varchar>,
        }
    }

    diesel::table! {
        // No primary key in Asterisk's schema; `id` is unique (`<aor>^3B@<hash>`).
        ps_contacts (id) {
            id -> Varchar,
            endpoint -> Nullable<Varchar>,
        }
    }

    diesel::table! {
        ps_endpoint_id_ips (id) {
            id -> Varchar,
            endpoint -> Nullable<Varchar>,
            // `match` is a reserved word in MariaDB; diesel backquotes every identifier.
            #[sql_name = "match"]
            match_ -> Nullable<Varchar>,
        }
    }

    diesel::table! {
        extensions (id) {
            id -> Bigint,
            context -> Varchar,
            exten -> Varchar,
            priority -> Integer,
            app -> Varchar,
            appdata -> Varchar,
        }
    }

    diesel::table! {
        queues (name) {
            name -> Varchar,
            musiconhold -> Nullable<Varchar>,
            announce -> Nullable<Varchar>,
            timeout -> Nullable<Integer>,
            ringinuse -> Nullable<Varchar>,
            retry -> Nullable<Integer>,
            wrapuptime -> Nullable<Integer>,
            autofill -> Nullable<Varchar>,
            maxlen -> Nullable<Integer>,
            servicelevel -> Nullable<Integer>,
            strategy -> Nullable<Varchar>,
            joinempty -> Nullable<Varchar>,
            leavewhenempty -> Nullable<Varchar>,
            weight -> Nullable<Integer>,
        }
    }

    diesel::table! {
        // Written by Asterisk's cdr_adaptive_odbc (asterisk/cdr_adaptive_odbc.conf), times
        // in UTC; Mayday only reads it.
        cdr (id) {
            id -> Unsigned<Bigint>,
            src -> Nullable<Varchar>,
            dst -> Nullable<Varchar>,
            channel -> Nullable<Varchar>,
            dstchannel -> Nullable<Varchar>,
            lastapp -> Nullable<Varchar>,
            start -> Nullable<Datetime>,
            answer -> Nullable<Datetime>,
            end -> Nullable<Datetime>,
            duration -> Nullable<Integer>,
            billsec -> Nullable<Integer>,
            disposition -> Nullable<Varchar>,
            uniqueid -> Nullable<Varchar>,
            linkedid -> Nullable<Varchar>,
            sequence -> Nullable<Integer>,
            tenantid -> Nullable<Varchar>,
            peertenantid -> Nullable<Varchar>,
        }
    }

    diesel::table! {
        queue_members (queue_name, interface) {
            queue_name -> Varchar,
            interface -> Varchar,
            membername -> Nullable<Varchar>,
            state_interface -> Nullable<Varchar>,
            penalty -> Nullable<Integer>,
            paused -> Nullable<Integer>,
            uniqueid -> Integer,
            wrapuptime -> Nullable<Integer>,
            ringinuse -> Nullable<Varchar>,
            reason_paused -> Nullable<Varchar>,
        }
    }
}

use schema::{
    cdr, extensions, ps_aors, ps_auths, ps_contacts, ps_endpoint_id_ips, ps_endpoints, ps_registrations, queue_members,
    queues,
};

#[derive(Clone, Debug, Default, Insertable, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = ps_endpoints, check_for_backend(diesel::mysql::Mysql))]
pub struct Endpoint {
    pub id: String,
    pub transport: Option<String>,
    pub aors: Option<String>,
    pub auth: Option<String>,
    pub context: Option<String>,
    pub disallow: Option<String>,
    pub allow: Option<String>,
    pub direct_media: Option<String>,
    pub dtmf_mode: Option<String>,
    pub force_rport: Option<String>,
    pub ice_support: Option<String>,
    pub identify_by: Option<String>,
    pub outbound_auth: Option<String>,
    pub rewrite_contact: Option<String>,
    pub rtp_symmetric: Option<String>,
    pub send_pai: Option<String>,
    pub send_rpid: Option<String>,
    pub use_avpf: Option<String>,
    pub media_encryption: Option<String>,
    pub callerid: Option<String>,
    pub from_user: Option<String>,
    pub from_domain: Option<String>,
    pub dtls_verify: Option<String>,
    pub dtls_setup: Option<String>,
    pub rtcp_mux: Option<String>,
    pub webrtc: Option<String>,
    pub bundle: Option<String>,
    pub dtls_auto_generate_cert: Option<String>,
    pub max_audio_streams: Option<i32>,
    pub set_var: Option<String>,
    pub overlap_context: Option<String>,
    pub tenantid: Option<String>,
}

#[derive(Clone, Default, Insertable, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = ps_auths, check_for_backend(diesel::mysql::Mysql))]
pub struct Auth {
    pub id: String,
    pub auth_type: Option<String>,
    pub md5_cred: Option<String>,
    pub password: Option<String>,
    pub realm: Option<String>,
    pub username: Option<String>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("id", &self.id).field("auth_type", &self.auth_type).finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Default, Insertable, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = ps_aors, check_for_backend(diesel::mysql::Mysql))]
pub struct Aor {
    pub id: String,
    pub contact: Option<String>,
    pub max_contacts: Option<i32>,
    pub remove_existing: Option<String>,
    pub qualify_frequency: Option<i32>,
}

#[derive(Clone, Debug, Default, Insertable, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = ps_registrations, check_for_backend(diesel::mysql::Mysql))]
pub struct Registration {
    pub id: String,
    pub client_uri: Option<String>,
    pub contact_user: Option<String>,
    pub expiration: Option<i32>,
    pub outbound_auth: Option<String>,
    pub retry_interval: Option<i32>,
    pub server_uri: Option<String>,
    pub transport: Option<String>,
    pub line: Option<String>,
    pub endpoint: Option<String>,
}

#[derive(Clone, Debug, Default, Insertable, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = ps_endpoint_id_ips, check_for_backend(diesel::mysql::Mysql))]
pub struct Identify {
    pub id: String,
    pub endpoint: Option<String>,
    pub match_: Option<String>,
}

#[derive(Clone, Debug, Default, Insertable, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = queues, check_for_backend(diesel::mysql::Mysql))]
pub struct AsteriskQueue {
    pub name: String,
    pub musiconhold: Option<String>,
    pub announce: Option<String>,
    pub timeout: Option<i32>,
    pub ringinuse: Option<String>,
    pub retry: Option<i32>,
    pub wrapuptime: Option<i32>,
    pub autofill: Option<String>,
    pub maxlen: Option<i32>,
    pub servicelevel: Option<i32>,
    pub strategy: Option<String>,
    pub joinempty: Option<String>,
    pub leavewhenempty: Option<String>,
    pub weight: Option<i32>,
}

#[derive(Clone, Debug, Insertable, PartialEq, Eq)]
#[diesel(table_name = queue_members)]
pub struct NewMember {
    pub queue_name: String,
    pub interface: String,
    pub membername: Option<String>,
    pub state_interface: Option<String>,
    pub penalty: Option<i32>,
    pub paused: Option<i32>,
}

#[derive(Clone, Debug, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = queue_members, check_for_backend(diesel::mysql::Mysql))]
pub struct Member {
    pub queue_name: String,
    pub interface: String,
    pub membername: Option<String>,
    pub state_interface: Option<String>,
    pub penalty: Option<i32>,
    pub paused: Option<i32>,
    pub uniqueid: i32,
}

/// Writes an endpoint with its auth and aor (an agent's phone).
pub async fn put_phone(conn: &mut Conn, endpoint: &Endpoint, auth: &Auth, aor: &Aor) -> QueryResult<()> {
    diesel::insert_into(ps_endpoints::table).values(endpoint).execute(conn).await?;
    diesel::insert_into(ps_auths::table).values(auth).execute(conn).await?;
    diesel::insert_into(ps_aors::table).values(aor).execute(conn).await?;
    Ok(())
}

/// Rewrites the rows of a phone Mayday already owns, in place (REPLACE keeps nothing of
/// the old rows; `ps_contacts`, the phone's registration, is untouched).
pub async fn replace_phone(conn: &mut Conn, endpoint: &Endpoint, auth: &Auth, aor: &Aor) -> QueryResult<()> {
    diesel::replace_into(ps_endpoints::table).values(endpoint).execute(conn).await?;
    diesel::replace_into(ps_auths::table).values(auth).execute(conn).await?;
    diesel::replace_into(ps_aors::table).values(aor).execute(conn).await?;
    Ok(())
}

/// Removes every PJSIP row of an endpoint id (endpoint, auth, aor, registration, identify).
pub async fn remove_pjsip(conn: &mut Conn, id: &str) -> QueryResult<()> {
    diesel::delete(ps_endpoints::table.find(id)).execute(conn).await?;
    diesel::delete(ps_auths::table.find(id)).execute(conn).await?;
    diesel::delete(ps_aors::table.find(id)).execute(conn).await?;
    diesel::delete(ps_registrations::table.find(id)).execute(conn).await?;
    diesel::delete(ps_endpoint_id_ips::table.filter(ps_endpoint_id_ips::endpoint.eq(id))).execute(conn).await?;
    Ok(())
}

/// Whether an endpoint or a queue has a name starting with `prefix`.
pub async fn any_named_with_prefix(conn: &mut Conn, prefix: &str) -> QueryResult<bool> {
    let pattern = crate::db::like_prefix(prefix);
    let endpoints: i64 = ps_endpoints::table.filter(ps_endpoints::id.like(&pattern)).count().get_result(conn).await?;
    let queues: i64 = queues::table.filter(queues::name.like(&pattern)).count().get_result(conn).await?;
    Ok(endpoints + queues > 0)
}

pub async fn endpoint(conn: &mut Conn, id: &str) -> QueryResult<Option<Endpoint>> {
    ps_endpoints::table.find(id).select(Endpoint::as_select()).first(conn).await.optional()
}

pub async fn auth(conn: &mut Conn, id: &str) -> QueryResult<Option<Auth>> {
    ps_auths::table.find(id).select(Auth::as_select()).first(conn).await.optional()
}

pub async fn aor(conn: &mut Conn, id: &str) -> QueryResult<Option<Aor>> {
    ps_aors::table.find(id).select(Aor::as_select()).first(conn).await.optional()
}

pub async fn put_trunk_extras(
    conn: &mut Conn,
    registration: Option<&Registration>,
    identify: &[Identify],
) -> QueryResult<()> {
    if let Some(r) = registration {
        diesel::insert_into(ps_registrations::table).values(r).execute(conn).await?;
    }
    for i in identify {
        diesel::insert_into(ps_endpoint_id_ips::table).values(i).execute(conn).await?;
    }
    Ok(())
}

pub async fn put_endpoint_only(
    conn: &mut Conn,
    endpoint: &Endpoint,
    aor: &Aor,
    auth: Option<&Auth>,
) -> QueryResult<()> {
    diesel::insert_into(ps_endpoints::table).values(endpoint).execute(conn).await?;
    diesel::insert_into(ps_aors::table).values(aor).execute(conn).await?;
    if let Some(a) = auth {
        diesel::insert_into(ps_auths::table).values(a).execute(conn).await?;
    }
    Ok(())
}

/// Replaces a queue's row.
pub async fn put_queue(conn: &mut Conn, q: &AsteriskQueue) -> QueryResult<()> {
    diesel::replace_into(queues::table).values(q).execute(conn).await.map(|_| ())
}

pub async fn remove_queue(conn: &mut Conn, name: &str) -> QueryResult<()> {
    diesel::delete(queue_members::table.filter(queue_members::queue_name.eq(name))).execute(conn).await?;
    diesel::delete(queues::table.find(name)).execute(conn).await.map(|_| ())
}

pub async fn asterisk_queue(conn: &mut Conn, name: &str) -> QueryResult<Option<AsteriskQueue>> {
    queues::table.find(name).select(AsteriskQueue::as_select()).first(conn).await.optional()
}

/// Adds or updates a realtime member. Asterisk keys its own write-backs by `uniqueid`,
/// which an update keeps. `set_paused` false leaves `paused` (and Asterisk's
/// `reason_paused`) of an existing row alone: QueuePause writes them too.
pub async fn put_member(conn: &mut Conn, m: &NewMember, set_paused: bool) -> QueryResult<()> {
    let row = queue_members::table
        .filter(queue_members::queue_name.eq(&m.queue_name))
        .filter(queue_members::interface.eq(&m.interface));
    let exists = row.select(queue_members::uniqueid).first::<i32>(conn).await.optional()?.is_some();
    if !exists {
        return diesel::insert_into(queue_members::table).values(m).execute(conn).await.map(|_| ());
    }
    let base = (
        queue_members::membername.eq(&m.membername),
        queue_members::state_interface.eq(&m.state_interface),
        queue_members::penalty.eq(m.penalty),
    );
    if set_paused {
        diesel::update(row).set((base, queue_members::paused.eq(m.paused))).execute(conn).await.map(|_| ())
    } else {
        diesel::update(row).set(base).execute(conn).await.map(|_| ())
    }
}

/// Removes the contacts (registrations) Asterisk stored for an endpoint's AOR, so a
/// disabled or deleted phone stops receiving calls at once.
pub async fn remove_contacts_of(conn: &mut Conn, aor: &str) -> QueryResult<()> {
    // Contact ids are `<aor>;@<hash>`, stored as `<aor>^3B@<hash>` (asterisk.md 4.4).
    let mut pattern = String::with_capacity(aor.len() + 5);
    for c in aor.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push_str("^3B@%");
    diesel::delete(ps_contacts::table.filter(ps_contacts::id.like(pattern).or(ps_contacts::endpoint.eq(aor))))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn remove_member(conn: &mut Conn, queue: &str, interface: &str) -> QueryResult<()> {
    diesel::delete(
        queue_members::table.filter(queue_members::queue_name.eq(queue)).filter(queue_members::interface.eq(interface)),
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// Every realtime member of an interface (an agent's phone), in every queue.
pub async fn remove_members_of(conn: &mut Conn, interface: &str) -> QueryResult<()> {
    diesel::delete(queue_members::table.filter(queue_members::interface.eq(interface))).execute(conn).await.map(|_| ())
}

pub async fn members(conn: &mut Conn, queue: &str) -> QueryResult<Vec<Member>> {
    queue_members::table
        .filter(queue_members::queue_name.eq(queue))
        .order(queue_members::interface.asc())
        .select(Member::as_select())
        .load(conn)
        .await
}

pub async fn members_of(conn: &mut Conn, interface: &str) -> QueryResult<Vec<Member>> {
    queue_members::table.filter(queue_members::interface.eq(interface)).select(Member::as_select()).load(conn).await
}

/// Every PJSIP endpoint (the simulated PBX's directory reads them as Asterisk does).
pub async fn all_endpoints(conn: &mut Conn) -> QueryResult<Vec<Endpoint>> {
    ps_endpoints::table.order(ps_endpoints::id.asc()).select(Endpoint::as_select()).load(conn).await
}

pub async fn all_queues(conn: &mut Conn) -> QueryResult<Vec<AsteriskQueue>> {
    queues::table.order(queues::name.asc()).select(AsteriskQueue::as_select()).load(conn).await
}

pub async fn all_members(conn: &mut Conn) -> QueryResult<Vec<Member>> {
    queue_members::table
        .order((queue_members::queue_name.asc(), queue_members::interface.asc()))
        .select(Member::as_select())
        .load(conn)
        .await
}

/// A row of the realtime dialplan.
#[derive(Clone, Debug, Insertable, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = extensions, check_for_backend(diesel::mysql::Mysql))]
pub struct ExtensionRow {
    pub context: String,
    pub exten: String,
    pub priority: i32,
    pub app: String,
    pub appdata: String,
}

/// The rows of a context, in dialplan order.
pub async fn context_rows(conn: &mut Conn, context: &str) -> QueryResult<Vec<ExtensionRow>> {
    extensions::table
        .filter(extensions::context.eq(context))
        .order((extensions::exten.asc(), extensions::priority.asc()))
        .select(ExtensionRow::as_select())
        .load(conn)
        .await
}

/// The ids of the rows of some contexts, and of some extensions of a shared one (a plain
/// read: it takes no locks).
pub async fn row_ids(conn: &mut Conn, contexts: &[String], shared: &str, extens: &[String]) -> QueryResult<Vec<i64>> {
    let mut ids: Vec<i64> =
        extensions::table.filter(extensions::context.eq_any(contexts)).select(extensions::id).load(conn).await?;
    if !extens.is_empty() {
        ids.extend(
            extensions::table
                .filter(extensions::context.eq(shared))
                .filter(extensions::exten.eq_any(extens))
                .select(extensions::id)
                .load::<i64>(conn)
                .await?,
        );
    }
    Ok(ids)
}

/// Deletes rows by primary key: record locks only, so that tenants regenerating their
/// dialplans at the same time never deadlock on the shared index's gaps.
pub async fn remove_rows(conn: &mut Conn, ids: &[i64]) -> QueryResult<()> {
    for chunk in ids.chunks(500) {
        diesel::delete(extensions::table.filter(extensions::id.eq_any(chunk))).execute(conn).await?;
    }
    Ok(())
}

/// The extensions of a shared context whose first row is `first` (a tenant's DID rows in
/// `mayday-inbound` start with `Set(__MAYDAY_TENANT=<slug>)`).
pub async fn extens_starting_with(
    conn: &mut Conn,
    context: &str,
    app: &str,
    appdata: &str,
) -> QueryResult<Vec<String>> {
    extensions::table
        .filter(extensions::context.eq(context))
        .filter(extensions::priority.eq(1))
        .filter(extensions::app.eq(app))
        .filter(extensions::appdata.eq(appdata))
        .select(extensions::exten)
        .load(conn)
        .await
}

pub async fn remove_extens(conn: &mut Conn, context: &str, extens: &[String]) -> QueryResult<()> {
    let ids = row_ids(conn, &[], context, extens).await?;
    remove_rows(conn, &ids).await
}

pub async fn insert_rows(conn: &mut Conn, rows: &[ExtensionRow]) -> QueryResult<()> {
    for chunk in rows.chunks(500) {
        diesel::insert_into(extensions::table).values(chunk).execute(conn).await?;
    }
    Ok(())
}

/// One leg of a call as Asterisk recorded it (table `cdr`).
#[derive(Clone, Debug, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = cdr, check_for_backend(diesel::mysql::Mysql))]
pub struct CdrRow {
    pub src: Option<String>,
    pub dst: Option<String>,
    pub channel: Option<String>,
    pub dstchannel: Option<String>,
    pub lastapp: Option<String>,
    pub start: Option<chrono::NaiveDateTime>,
    pub answer: Option<chrono::NaiveDateTime>,
    pub end: Option<chrono::NaiveDateTime>,
    pub billsec: Option<i32>,
    pub disposition: Option<String>,
    pub uniqueid: Option<String>,
    pub linkedid: Option<String>,
    pub sequence: Option<i32>,
}

/// Which legs a call-history query looks at.
#[derive(Clone, Debug, Default)]
pub struct CdrFilter {
    /// What Asterisk puts in `tenantid` for the tenant.
    pub tenantid: String,
    pub from: Option<chrono::NaiveDateTime>,
    pub to: Option<chrono::NaiveDateTime>,
    /// In the caller's or the called number.
    pub number: Option<String>,
    /// Only calls with a leg on this endpoint's channels (`PJSIP/<endpoint>-...`).
    pub endpoint: Option<String>,
}

type CdrCondition = Box<dyn BoxableExpression<cdr::table, diesel::mysql::Mysql, SqlType = diesel::sql_types::Bool>>;

/// The legs `f` selects, as one WHERE condition.
fn cdr_legs(f: &CdrFilter) -> CdrCondition {
    let t = f.tenantid.clone();
    let mut c: CdrCondition = Box::new(
        cdr::tenantid
            .eq(t.clone())
            .nullable()
            .or(cdr::peertenantid.eq(t).nullable())
            .assume_not_null()
            .and(cdr::linkedid.is_not_null()),
    );
    if let Some(from) = f.from {
        c = Box::new(c.and(cdr::start.ge(from).assume_not_null()));
    }
    if let Some(to) = f.to {
        c = Box::new(c.and(cdr::start.lt(to).assume_not_null()));
    }
    if let Some(n) = &f.number {
        let p = crate::db::like_pattern(n);
        c = Box::new(c.and(cdr::src.like(p.clone()).or(cdr::dst.like(p)).assume_not_null()));
    }
    if let Some(e) = &f.endpoint {
        let p = crate::db::like_prefix(&format!("PJSIP/{e}-"));
        c = Box::new(c.and(cdr::channel.like(p.clone()).or(cdr::dstchannel.like(p)).assume_not_null()));
    }
    c
}

/// One page of calls (their linkedids, newest first) among the legs `f` selects, and how
/// many calls there are in all.
pub async fn call_page(conn: &mut Conn, f: &CdrFilter, page: crate::db::Page) -> QueryResult<(Vec<String>, i64)> {
    let total: i64 = cdr::table
        .filter(cdr_legs(f))
        .select(diesel::dsl::sql::<diesel::sql_types::BigInt>("COUNT(DISTINCT linkedid)"))
        .first(conn)
        .await?;
    let ids: Vec<(Option<String>, Option<chrono::NaiveDateTime>)> = cdr::table
        .filter(cdr_legs(f))
        .group_by(cdr::linkedid)
        .select((cdr::linkedid, diesel::dsl::min(cdr::start)))
        .order((diesel::dsl::min(cdr::start).desc(), cdr::linkedid.desc()))
        .limit(page.limit())
        .offset(page.offset())
        .load(conn)
        .await?;
    Ok((ids.into_iter().filter_map(|(id, _)| id).collect(), total))
}

/// Whether Asterisk's call records carry `tenantid` (a tenant's slug).
pub async fn cdr_names_tenant(conn: &mut Conn, tenantid: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        cdr::table.filter(cdr::tenantid.eq(tenantid).or(cdr::peertenantid.eq(tenantid))),
    ))
    .get_result(conn)
    .await
}

/// Every leg of these calls that is the tenant's, in the order they started.
pub async fn legs_of(conn: &mut Conn, tenantid: &str, linkedids: &[String]) -> QueryResult<Vec<CdrRow>> {
    cdr::table
        .filter(cdr::linkedid.eq_any(linkedids))
        .filter(cdr::tenantid.eq(tenantid).or(cdr::peertenantid.eq(tenantid)))
        .order((cdr::start.asc(), cdr::sequence.asc(), cdr::id.asc()))
        .select(CdrRow::as_select())
        .load(conn)
        .await
}
