-- Mayday's own tables: PBXs, tenants (with their host names), users, audit log.
-- Every index and constraint is named, so running this twice is impossible to do silently
-- (diesel records it as applied) and a duplicate index can never appear.

CREATE TABLE pbxes (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    name VARCHAR(100) NOT NULL,
    ami_host VARCHAR(255) NOT NULL,
    ami_port INT UNSIGNED NOT NULL DEFAULT 5038,
    ami_username VARCHAR(80) NOT NULL,
    -- version byte || nonce || ChaCha20-Poly1305 ciphertext, key from the environment
    ami_secret_enc VARBINARY(1024) NOT NULL,
    ami_auth VARCHAR(8) NOT NULL DEFAULT 'md5',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_pbxes PRIMARY KEY (id),
    CONSTRAINT uq_pbxes_name UNIQUE KEY (name),
    CONSTRAINT ck_pbxes_auth CHECK (ami_auth IN ('plain', 'md5'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE tenants (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    slug VARCHAR(40) NOT NULL,
    name VARCHAR(120) NOT NULL,
    timezone VARCHAR(64) NOT NULL DEFAULT 'UTC',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    pbx_id BIGINT UNSIGNED NULL,
    -- prefix of every Asterisk object name of this tenant ("<slug>-" by default, "" alone on a PBX)
    name_prefix VARCHAR(40) NOT NULL DEFAULT '',
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_tenants PRIMARY KEY (id),
    CONSTRAINT uq_tenants_slug UNIQUE KEY (slug),
    INDEX ix_tenants_pbx (pbx_id),
    CONSTRAINT fk_tenants_pbx FOREIGN KEY (pbx_id) REFERENCES pbxes (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Host names a tenant is reached by (the old /api/users/login finds the tenant this way).
CREATE TABLE tenant_domains (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id BIGINT UNSIGNED NOT NULL,
    domain VARCHAR(255) NOT NULL,
    CONSTRAINT pk_tenant_domains PRIMARY KEY (id),
    CONSTRAINT uq_tenant_domains_domain UNIQUE KEY (domain),
    INDEX ix_tenant_domains_tenant (tenant_id),
    CONSTRAINT fk_tenant_domains_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE users (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id BIGINT UNSIGNED NOT NULL,
    username VARCHAR(64) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    role VARCHAR(16) NOT NULL,
    display_name VARCHAR(120) NOT NULL DEFAULT '',
    email VARCHAR(255) NULL,
    extension VARCHAR(20) NULL,
    -- the agent's default DID (caller id of calls dialed without a prefix)
    callerid VARCHAR(32) NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_users PRIMARY KEY (id),
    CONSTRAINT uq_users_tenant_username UNIQUE KEY (tenant_id, username),
    CONSTRAINT uq_users_tenant_extension UNIQUE KEY (tenant_id, extension),
    CONSTRAINT fk_users_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT ck_users_role CHECK (role IN ('superadmin', 'admin', 'manager', 'agent'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE audit_log (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id BIGINT UNSIGNED NULL,
    actor_user_id BIGINT UNSIGNED NULL,
    action VARCHAR(64) NOT NULL,
    entity VARCHAR(64) NOT NULL,
    entity_id VARCHAR(64) NULL,
    detail TEXT NULL,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_audit_log PRIMARY KEY (id),
    INDEX ix_audit_log_tenant_created (tenant_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Superadmins belong to the reserved platform tenant.
INSERT INTO tenants (slug, name, timezone, enabled, name_prefix) VALUES ('platform', 'Platform', 'UTC', TRUE, '');
