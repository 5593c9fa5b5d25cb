-- Provisioning: Mayday's own records of what it writes into Asterisk's realtime tables.
-- Asterisk's rows (ps_*, queues, queue_members) are derived from these, in the same
-- transaction; their names carry the tenant's name prefix.

-- The telephony side of an agent (the user row holds name, extension and default DID).
CREATE TABLE agents (
    user_id BIGINT UNSIGNED NOT NULL,
    tenant_id BIGINT UNSIGNED NOT NULL,
    -- webrtc | softphone | deskphone
    profile VARCHAR(16) NOT NULL,
    -- comma-separated, in preference order
    codecs VARCHAR(200) NOT NULL,
    -- the SIP password: version byte || nonce || ChaCha20-Poly1305 ciphertext
    sip_secret_enc VARBINARY(512) NOT NULL,
    -- the id of its ps_endpoints, ps_auths and ps_aors rows
    endpoint VARCHAR(80) NOT NULL,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_agents PRIMARY KEY (user_id),
    CONSTRAINT uq_agents_endpoint UNIQUE KEY (endpoint),
    INDEX ix_agents_tenant (tenant_id),
    CONSTRAINT fk_agents_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_agents_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT ck_agents_profile CHECK (profile IN ('webrtc', 'softphone', 'deskphone'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE tenant_queues (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id BIGINT UNSIGNED NOT NULL,
    -- the name the tenant sees; Asterisk's is `asterisk_name` (prefix + name)
    name VARCHAR(64) NOT NULL,
    asterisk_name VARCHAR(128) NOT NULL,
    strategy VARCHAR(16) NOT NULL DEFAULT 'rrmemory',
    timeout_secs INT UNSIGNED NOT NULL DEFAULT 15,
    retry_secs INT UNSIGNED NOT NULL DEFAULT 5,
    wrapup_secs INT UNSIGNED NOT NULL DEFAULT 0,
    service_level_secs INT UNSIGNED NOT NULL DEFAULT 20,
    max_len INT UNSIGNED NOT NULL DEFAULT 0,
    join_empty VARCHAR(128) NULL,
    leave_when_empty VARCHAR(128) NULL,
    ring_in_use BOOLEAN NOT NULL DEFAULT FALSE,
    music_class VARCHAR(80) NULL,
    announce VARCHAR(128) NULL,
    weight INT NOT NULL DEFAULT 0,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_tenant_queues PRIMARY KEY (id),
    CONSTRAINT uq_tenant_queues_tenant_name UNIQUE KEY (tenant_id, name),
    CONSTRAINT uq_tenant_queues_asterisk_name UNIQUE KEY (asterisk_name),
    CONSTRAINT fk_tenant_queues_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE queue_memberships (
    queue_id BIGINT UNSIGNED NOT NULL,
    user_id BIGINT UNSIGNED NOT NULL,
    penalty INT NOT NULL DEFAULT 0,
    paused BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_queue_memberships PRIMARY KEY (queue_id, user_id),
    INDEX ix_queue_memberships_user (user_id),
    CONSTRAINT fk_queue_memberships_queue FOREIGN KEY (queue_id) REFERENCES tenant_queues (id) ON DELETE CASCADE,
    CONSTRAINT fk_queue_memberships_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE trunks (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id BIGINT UNSIGNED NOT NULL,
    name VARCHAR(64) NOT NULL,
    -- the id of its ps_endpoints, ps_aors, ps_auths, ps_registrations and ps_endpoint_id_ips rows
    endpoint VARCHAR(80) NOT NULL,
    host VARCHAR(255) NOT NULL,
    port INT UNSIGNED NOT NULL DEFAULT 5060,
    transport VARCHAR(16) NOT NULL DEFAULT 'udp',
    username VARCHAR(80) NULL,
    secret_enc VARBINARY(512) NULL,
    from_user VARCHAR(80) NULL,
    from_domain VARCHAR(255) NULL,
    send_pai BOOLEAN NOT NULL DEFAULT FALSE,
    send_rpid BOOLEAN NOT NULL DEFAULT FALSE,
    codecs VARCHAR(200) NOT NULL,
    register BOOLEAN NOT NULL DEFAULT FALSE,
    -- comma-separated IPs or CIDRs the provider calls from
    match_ips VARCHAR(255) NULL,
    account_number VARCHAR(64) NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_trunks PRIMARY KEY (id),
    CONSTRAINT uq_trunks_tenant_name UNIQUE KEY (tenant_id, name),
    CONSTRAINT uq_trunks_endpoint UNIQUE KEY (endpoint),
    CONSTRAINT fk_trunks_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT ck_trunks_transport CHECK (transport IN ('udp', 'tcp', 'tls'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
