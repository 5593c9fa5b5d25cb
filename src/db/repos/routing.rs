//! Call routing records (DIDs, time conditions, prompts, IVR menus, inbound and outbound
//! routes), always inside one tenant.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Conn;
use crate::db::last_insert_id;
use crate::db::models::{
    Did, DidFields, InboundFields, InboundRow, IvrFields, IvrRow, NewPrompt, OutboundFields, OutboundRow, PromptRow,
    TimeConditionFields, TimeConditionRow,
};
use crate::db::schema::{dids, inbound_routes, ivr_menus, outbound_routes, prompts, time_conditions};
use crate::domain::TenantId;

async fn inserted(conn: &mut Conn) -> QueryResult<u64> {
    diesel::select(last_insert_id()).get_result::<u64>(conn).await
}

/// CRUD of one tenant-scoped table whose rows have `id` and `tenant_id`.
macro_rules! tenant_table {
    ($table:ident, $row:ty, $fields:ty, $order:expr) => {
        pub async fn insert(conn: &mut Conn, f: &$fields) -> QueryResult<u64> {
            diesel::insert_into($table::table).values(f).execute(conn).await?;
            super::inserted(conn).await
        }

        pub async fn find(conn: &mut Conn, tenant: TenantId, id: u64) -> QueryResult<$row> {
            $table::table
                .filter($table::tenant_id.eq(tenant.0))
                .filter($table::id.eq(id))
                .select(<$row>::as_select())
                .first(conn)
                .await
        }

        pub async fn all_of(conn: &mut Conn, tenant: TenantId) -> QueryResult<Vec<$row>> {
            $table::table
                .filter($table::tenant_id.eq(tenant.0))
                .order($order)
                .select(<$row>::as_select())
                .load(conn)
                .await
        }

        pub async fn update(conn: &mut Conn, tenant: TenantId, id: u64, f: &$fields) -> QueryResult<usize> {
            diesel::update($table::table.filter($table::tenant_id.eq(tenant.0)).filter($table::id.eq(id)))
                .set(f)
                .execute(conn)
                .await
        }

        pub async fn delete(conn: &mut Conn, tenant: TenantId, id: u64) -> QueryResult<usize> {
            diesel::delete($table::table.filter($table::tenant_id.eq(tenant.0)).filter($table::id.eq(id)))
                .execute(conn)
                .await
        }
    };
}

pub mod did {
    use super::*;
    tenant_table!(dids, Did, DidFields, (dids::label.asc(), dids::did.asc()));

    /// Every DID of the other tenants (a broad inbound pattern must not take their calls).
    pub async fn numbers_of_others(conn: &mut Conn, tenant: TenantId) -> QueryResult<Vec<String>> {
        dids::table.filter(dids::tenant_id.ne(tenant.0)).select(dids::did).load(conn).await
    }

    pub async fn by_number(conn: &mut Conn, tenant: TenantId, did: &str) -> QueryResult<Option<Did>> {
        dids::table
            .filter(dids::tenant_id.eq(tenant.0))
            .filter(dids::did.eq(did))
            .select(Did::as_select())
            .first(conn)
            .await
            .optional()
    }
}

pub mod time_condition {
    use super::*;
    tenant_table!(time_conditions, TimeConditionRow, TimeConditionFields, time_conditions::name.asc());
}

pub mod ivr {
    use super::*;
    tenant_table!(ivr_menus, IvrRow, IvrFields, ivr_menus::name.asc());
}

pub mod inbound {
    use super::*;
    tenant_table!(inbound_routes, InboundRow, InboundFields, inbound_routes::name.asc());

    /// The inbound patterns (`_0323X.`) of the other tenants' routes.
    pub async fn patterns_of_others(conn: &mut Conn, tenant: TenantId) -> QueryResult<Vec<String>> {
        inbound_routes::table
            .filter(inbound_routes::tenant_id.ne(tenant.0))
            .filter(inbound_routes::pattern.like("\\_%"))
            .select(inbound_routes::pattern)
            .load(conn)
            .await
    }
}

pub mod outbound {
    use super::*;
    tenant_table!(
        outbound_routes,
        OutboundRow,
        OutboundFields,
        (outbound_routes::position.asc(), outbound_routes::id.asc())
    );
}

pub mod prompt {
    use super::*;

    pub async fn insert(conn: &mut Conn, p: &NewPrompt) -> QueryResult<u64> {
        diesel::insert_into(prompts::table).values(p).execute(conn).await?;
        super::inserted(conn).await
    }

    pub async fn find(conn: &mut Conn, tenant: TenantId, id: u64) -> QueryResult<PromptRow> {
        prompts::table
            .filter(prompts::tenant_id.eq(tenant.0))
            .filter(prompts::id.eq(id))
            .select(PromptRow::as_select())
            .first(conn)
            .await
    }

    /// A prompt's row and audio by id alone (signed media URLs carry no tenant).
    pub async fn audio(conn: &mut Conn, id: u64) -> QueryResult<(PromptRow, Vec<u8>)> {
        prompts::table.filter(prompts::id.eq(id)).select((PromptRow::as_select(), prompts::audio)).first(conn).await
    }

    pub async fn all_of(conn: &mut Conn, tenant: TenantId) -> QueryResult<Vec<PromptRow>> {
        prompts::table
            .filter(prompts::tenant_id.eq(tenant.0))
            .order(prompts::name.asc())
            .select(PromptRow::as_select())
            .load(conn)
            .await
    }

    pub async fn delete(conn: &mut Conn, tenant: TenantId, id: u64) -> QueryResult<usize> {
        diesel::delete(prompts::table.filter(prompts::tenant_id.eq(tenant.0)).filter(prompts::id.eq(id)))
            .execute(conn)
            .await
    }
}
