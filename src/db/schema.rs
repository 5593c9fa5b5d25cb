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
        dialplan_generation -> Unsigned<Integer>,
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

diesel::table! {
    agents (user_id) {
        user_id -> Unsigned<Bigint>,
        tenant_id -> Unsigned<Bigint>,
        profile -> Varchar,
        codecs -> Varchar,
        sip_secret_enc -> Varbinary,
        endpoint -> Varchar,
        created_at -> Datetime,
        updated_at -> Datetime,
    }
}

diesel::table! {
    tenant_queues (id) {
        id -> Unsigned<Bigint>,
        tenant_id -> Unsigned<Bigint>,
        name -> Varchar,
        asterisk_name -> Varchar,
        strategy -> Varchar,
        timeout_secs -> Unsigned<Integer>,
        retry_secs -> Unsigned<Integer>,
        wrapup_secs -> Unsigned<Integer>,
        service_level_secs -> Unsigned<Integer>,
        max_len -> Unsigned<Integer>,
        join_empty -> Nullable<Varchar>,
        leave_when_empty -> Nullable<Varchar>,
        ring_in_use -> Bool,
        music_class -> Nullable<Varchar>,
        announce -> Nullable<Varchar>,
        weight -> Integer,
        created_at -> Datetime,
        updated_at -> Datetime,
    }
}

diesel::table! {
    queue_memberships (queue_id, user_id) {
        queue_id -> Unsigned<Bigint>,
        user_id -> Unsigned<Bigint>,
        penalty -> Integer,
        paused -> Bool,
        created_at -> Datetime,
    }
}

diesel::table! {
    trunks (id) {
        id -> Unsigned<Bigint>,
        tenant_id -> Unsigned<Bigint>,
        name -> Varchar,
        endpoint -> Varchar,
        host -> Varchar,
        port -> Unsigned<Integer>,
        transport -> Varchar,
        username -> Nullable<Varchar>,
        secret_enc -> Nullable<Varbinary>,
        from_user -> Nullable<Varchar>,
        from_domain -> Nullable<Varchar>,
        send_pai -> Bool,
        send_rpid -> Bool,
        codecs -> Varchar,
        register -> Bool,
        match_ips -> Nullable<Varchar>,
        account_number -> Nullable<Varchar>,
        enabled -> Bool,
        is_default -> Bool,
        created_at -> Datetime,
        updated_at -> Datetime,
        balance_amount -> Nullable<Double>,
        balance_currency -> Nullable<Varchar>,
        balance_at -> Nullable<Datetime>,
        balance_error -> Nullable<Varchar>,
        balance_error_at -> Nullable<Datetime>,
    }
}

diesel::table! {
    dids (id) {
        id -> Unsigned<Bigint>,
        tenant_id -> Unsigned<Bigint>,
        did -> Varchar,
        label -> Varchar,
        trunk_id -> Nullable<Unsigned<Bigint>>,
        allow_inbound -> Bool,
        allow_outbound -> Bool,
        active -> Bool,
        dial_prefix -> Nullable<Unsigned<Tinyint>>,
        created_at -> Datetime,
        updated_at -> Datetime,
    }
}

diesel::table! {
    time_conditions (id) {
        id -> Unsigned<Bigint>,
        tenant_id -> Unsigned<Bigint>,
        name -> Varchar,
        weekly -> Text,
        closed_dates -> Text,
        created_at -> Datetime,
        updated_at -> Datetime,
    }
}

diesel::table! {
    prompts (id) {
        id -> Unsigned<Bigint>,
        tenant_id -> Unsigned<Bigint>,
        name -> Varchar,
        audio -> Mediumblob,
        bytes -> Unsigned<Integer>,
        duration_ms -> Unsigned<Integer>,
        sha256 -> Char,
        created_at -> Datetime,
    }
}

diesel::table! {
    ivr_menus (id) {
        id -> Unsigned<Bigint>,
        tenant_id -> Unsigned<Bigint>,
        name -> Varchar,
        prompt_id -> Nullable<Unsigned<Bigint>>,
        timeout_secs -> Unsigned<Integer>,
        retries -> Unsigned<Integer>,
        options -> Text,
        timeout_destination -> Nullable<Text>,
        invalid_destination -> Nullable<Text>,
        created_at -> Datetime,
        updated_at -> Datetime,
    }
}

diesel::table! {
    inbound_routes (id) {
        id -> Unsigned<Bigint>,
        tenant_id -> Unsigned<Bigint>,
        name -> Varchar,
        pattern -> Varchar,
        destination -> Text,
        time_condition_id -> Nullable<Unsigned<Bigint>>,
        fallback -> Nullable<Text>,
        enabled -> Bool,
        created_at -> Datetime,
        updated_at -> Datetime,
    }
}

diesel::table! {
    outbound_routes (id) {
        id -> Unsigned<Bigint>,
        tenant_id -> Unsigned<Bigint>,
        name -> Varchar,
        position -> Integer,
        patterns -> Text,
        trunk_ids -> Text,
        strip_digits -> Unsigned<Integer>,
        prepend -> Varchar,
        callerid_policy -> Varchar,
        fixed_did_id -> Nullable<Unsigned<Bigint>>,
        enabled -> Bool,
        created_at -> Datetime,
        updated_at -> Datetime,
    }
}

diesel::table! {
    installation (id) {
        id -> Unsigned<Tinyint>,
        installation_id -> Char,
        created_at -> Datetime,
    }
}

diesel::table! {
    license_state (id) {
        id -> Unsigned<Tinyint>,
        document -> Nullable<Text>,
        installed_at -> Nullable<Datetime>,
        revoked -> Text,
        last_sync_ok_at -> Nullable<Datetime>,
        last_sync_error -> Nullable<Varchar>,
        updated_at -> Datetime,
    }
}

diesel::table! {
    license_allocations (tenant_id, feature) {
        tenant_id -> Unsigned<Bigint>,
        feature -> Varchar,
        seats -> Unsigned<Integer>,
    }
}

diesel::table! {
    sms_messages (id) {
        id -> Unsigned<Bigint>,
        tenant_id -> Unsigned<Bigint>,
        direction -> Varchar,
        partner -> Varchar,
        our_number -> Nullable<Varchar>,
        content -> Text,
        status -> Varchar,
        provider_id -> Nullable<Varchar>,
        error -> Nullable<Varchar>,
        idempotency_key -> Nullable<Varchar>,
        created_by -> Nullable<Unsigned<Bigint>>,
        created_at -> Datetime,
        updated_at -> Datetime,
    }
}

diesel::joinable!(queue_memberships -> tenant_queues (queue_id));
diesel::joinable!(queue_memberships -> users (user_id));
diesel::joinable!(agents -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    pbxes,
    tenants,
    tenant_domains,
    users,
    audit_log,
    agent_pauses,
    live_counters,
    agents,
    tenant_queues,
    queue_memberships,
    trunks,
    dids,
    time_conditions,
    prompts,
    ivr_menus,
    inbound_routes,
    outbound_routes,
    installation,
    license_state,
    license_allocations,
    sms_messages
);
