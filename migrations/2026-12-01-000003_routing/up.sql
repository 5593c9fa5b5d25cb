-- Call routing: DIDs, time conditions, IVR menus and their prompts, inbound and outbound
-- routes. Mayday compiles them into the realtime dialplan (table extensions): the tenant's
-- contexts `<prefix>agents` and `<prefix>rt`, and its DID rows in `mayday-inbound`.

ALTER TABLE trunks ADD COLUMN is_default BOOLEAN NOT NULL DEFAULT FALSE AFTER enabled;

-- The tenant's numbers: caller IDs agents present, and numbers callers dial.
CREATE TABLE dids (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id BIGINT UNSIGNED NOT NULL,
    did VARCHAR(32) NOT NULL,
    -- the outlet's name, shown in DID dropdowns as "<label> (<did>)"
    label VARCHAR(80) NOT NULL,
    trunk_id BIGINT UNSIGNED NULL,
    allow_inbound BOOLEAN NOT NULL DEFAULT TRUE,
    allow_outbound BOOLEAN NOT NULL DEFAULT TRUE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    -- an agent dials <prefix><number> to present this DID (43 to 49)
    dial_prefix TINYINT UNSIGNED NULL,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_dids PRIMARY KEY (id),
    -- DIDs are unique on a PBX, and Asterisk's inbound rows are keyed by them
    CONSTRAINT uq_dids_did UNIQUE KEY (did),
    CONSTRAINT uq_dids_tenant_dial_prefix UNIQUE KEY (tenant_id, dial_prefix),
    CONSTRAINT fk_dids_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT fk_dids_trunk FOREIGN KEY (trunk_id) REFERENCES trunks (id),
    CONSTRAINT ck_dids_dial_prefix CHECK (dial_prefix IS NULL OR dial_prefix BETWEEN 43 AND 49)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Weekly opening hours and closed dates, in the tenant's time zone.
CREATE TABLE time_conditions (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id BIGINT UNSIGNED NOT NULL,
    name VARCHAR(80) NOT NULL,
    -- JSON: [{"days": ["mon", ...], "from": "09:00", "to": "17:00"}]
    weekly TEXT NOT NULL,
    -- JSON: [{"date": "2026-12-25", "name": "Christmas"}]
    closed_dates TEXT NOT NULL,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_time_conditions PRIMARY KEY (id),
    CONSTRAINT uq_time_conditions_tenant_name UNIQUE KEY (tenant_id, name),
    CONSTRAINT fk_time_conditions_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Uploaded prompts: 8 kHz mono 16-bit PCM WAV (converted on upload).
CREATE TABLE prompts (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id BIGINT UNSIGNED NOT NULL,
    name VARCHAR(80) NOT NULL,
    audio MEDIUMBLOB NOT NULL,
    bytes INT UNSIGNED NOT NULL,
    duration_ms INT UNSIGNED NOT NULL,
    sha256 CHAR(64) NOT NULL,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_prompts PRIMARY KEY (id),
    CONSTRAINT uq_prompts_tenant_name UNIQUE KEY (tenant_id, name),
    CONSTRAINT fk_prompts_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE ivr_menus (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id BIGINT UNSIGNED NOT NULL,
    name VARCHAR(80) NOT NULL,
    prompt_id BIGINT UNSIGNED NULL,
    timeout_secs INT UNSIGNED NOT NULL DEFAULT 5,
    retries INT UNSIGNED NOT NULL DEFAULT 2,
    -- JSON: {"1": <destination>, ...}
    options TEXT NOT NULL,
    -- JSON destinations when no digit comes / a wrong one comes, retries used up
    timeout_destination TEXT NULL,
    invalid_destination TEXT NULL,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_ivr_menus PRIMARY KEY (id),
    CONSTRAINT uq_ivr_menus_tenant_name UNIQUE KEY (tenant_id, name),
    CONSTRAINT fk_ivr_menus_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT fk_ivr_menus_prompt FOREIGN KEY (prompt_id) REFERENCES prompts (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE inbound_routes (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id BIGINT UNSIGNED NOT NULL,
    name VARCHAR(80) NOT NULL,
    -- a DID, or an Asterisk pattern (_0323X.)
    pattern VARCHAR(40) NOT NULL,
    -- JSON destination
    destination TEXT NOT NULL,
    time_condition_id BIGINT UNSIGNED NULL,
    -- JSON destination outside the time condition's hours (NULL: hang up)
    fallback TEXT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_inbound_routes PRIMARY KEY (id),
    CONSTRAINT uq_inbound_routes_tenant_name UNIQUE KEY (tenant_id, name),
    -- the exten of the route's row in mayday-inbound, shared by every tenant
    CONSTRAINT uq_inbound_routes_pattern UNIQUE KEY (pattern),
    CONSTRAINT fk_inbound_routes_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT fk_inbound_routes_time_condition FOREIGN KEY (time_condition_id) REFERENCES time_conditions (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE outbound_routes (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id BIGINT UNSIGNED NOT NULL,
    name VARCHAR(80) NOT NULL,
    -- routes are tried in this order (lowest first) where patterns overlap
    position INT NOT NULL DEFAULT 0,
    -- JSON: ["_0X.", "_+X."]
    patterns TEXT NOT NULL,
    -- JSON: [trunk id, ...] in failover order; [] = the tenant's default trunk
    trunk_ids TEXT NOT NULL,
    strip_digits INT UNSIGNED NOT NULL DEFAULT 0,
    prepend VARCHAR(20) NOT NULL DEFAULT '',
    -- agent (the agent's default DID) | prefix (the prefix-selected DID, else the agent's) | fixed
    callerid_policy VARCHAR(16) NOT NULL DEFAULT 'prefix',
    fixed_did_id BIGINT UNSIGNED NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_outbound_routes PRIMARY KEY (id),
    CONSTRAINT uq_outbound_routes_tenant_name UNIQUE KEY (tenant_id, name),
    CONSTRAINT fk_outbound_routes_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT fk_outbound_routes_fixed_did FOREIGN KEY (fixed_did_id) REFERENCES dids (id),
    CONSTRAINT ck_outbound_routes_policy CHECK (callerid_policy IN ('agent', 'prefix', 'fixed'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
