// Diesel schema of the migrations in `migrations/` (MariaDB). Kept in the repository so CI
// never needs the diesel CLI; a test checks it against the migrated database.

diesel::table! {
    pbxes (id) {
        id -> Unsigned<Bigint>,
        name -> Varchar,
        ami_host -> Varchar,
        ami_port -> Unsigned<Integer>,
        ami_username -> Varchar,
        ami_secret_enc -> Varbinary,
        ami_auth -> Varchar,
        enabled -> Bool,
        created_at -> Datetime,
        updated_at -> Datetime,
    }
}

diesel::table! {
    tenants (id) {
        id -> Unsigned<Bigint>,
        slug -> Varchar,
        name -> Varchar,
        timezone -> Varchar,
        enabled -> Bool,
        pbx_id -> Nullable<Unsigned<Bigint>>,
        name_prefix -> Varchar,
        created_at -> Datetime,
        updated_at -> Datetime,
    }
}

diesel::table! {
    tenant_domains (id) {
        id -> Unsigned<Bigint>,
        tenant_id -> Unsigned<Bigint>,
        domain -> Varchar,
    }
}

diesel::table! {
    users (id) {
        id -> Unsigned<Bigint>,
        tenant_id -> Unsigned<Bigint>,
        username -> Varchar,
        password_hash -> Varchar,
        role -> Varchar,
        display_name -> Varchar,
        email -> Nullable<Varchar>,
        extension -> Nullable<Varchar>,
        callerid -> Nullable<Varchar>,
        enabled -> Bool,
        created_at -> Datetime,
        updated_at -> Datetime,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Unsigned<Bigint>,
        tenant_id -> Nullable<Unsigned<Bigint>>,
        actor_user_id -> Nullable<Unsigned<Bigint>>,
        action -> Varchar,
        entity -> Varchar,
        entity_id -> Nullable<Varchar>,
        detail -> Nullable<Text>,
        created_at -> Datetime,
    }
}

diesel::joinable!(tenants -> pbxes (pbx_id));
diesel::joinable!(tenant_domains -> tenants (tenant_id));
diesel::joinable!(users -> tenants (tenant_id));

diesel::table! {
    agent_pauses (user_id) {
        tenant_id -> Unsigned<Bigint>,
        user_id -> Unsigned<Bigint>,
        reason -> Varchar,
        since -> Datetime,
        updated_at -> Datetime,
    }
}

diesel::table! {
    live_counters (tenant_id, kind, name, day) {
        tenant_id -> Unsigned<Bigint>,
        kind -> Varchar,
        name -> Varchar,
        day -> Date,
        counters -> Text,
        updated_at -> Datetime,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    pbxes,
    tenants,
    tenant_domains,
    users,
    audit_log,
    agent_pauses,
    live_counters
);
