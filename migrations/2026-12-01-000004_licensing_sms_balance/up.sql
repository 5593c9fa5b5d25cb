-- Licensing, SMS and the trunk provider's balance.

-- This installation: the id a licence may be bound to (created once).
CREATE TABLE installation (
    id TINYINT UNSIGNED NOT NULL,
    installation_id CHAR(36) NOT NULL,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_installation PRIMARY KEY (id),
    CONSTRAINT ck_installation_single CHECK (id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The installed licence (one row): the signed document as installed or fetched, the
-- licence server's revocations and when it last answered.
CREATE TABLE license_state (
    id TINYINT UNSIGNED NOT NULL,
    document TEXT NULL,
    installed_at DATETIME(3) NULL,
    -- JSON list of revoked licence ids, from the server's signed revocation list
    revoked TEXT NOT NULL,
    last_sync_ok_at DATETIME(3) NULL,
    last_sync_error VARCHAR(255) NULL,
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_license_state PRIMARY KEY (id),
    CONSTRAINT ck_license_state_single CHECK (id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- How a superadmin splits the licence's seats between tenants (no row: no cap of its own).
CREATE TABLE license_allocations (
    tenant_id BIGINT UNSIGNED NOT NULL,
    -- agent | webrtc
    feature VARCHAR(16) NOT NULL,
    seats INT UNSIGNED NOT NULL,
    CONSTRAINT pk_license_allocations PRIMARY KEY (tenant_id, feature),
    CONSTRAINT fk_license_allocations_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE sms_messages (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    tenant_id BIGINT UNSIGNED NOT NULL,
    -- out | in
    direction VARCHAR(3) NOT NULL,
    -- the other party, E.164: what conversations group by
    partner VARCHAR(20) NOT NULL,
    -- our number (sender id of an outbound message, the number an inbound one was sent to)
    our_number VARCHAR(20) NULL,
    content TEXT NOT NULL,
    -- queued | sent | delivered | undelivered | failed | received
    status VARCHAR(12) NOT NULL,
    provider_id VARCHAR(100) NULL,
    error VARCHAR(255) NULL,
    idempotency_key VARCHAR(100) NULL,
    created_by BIGINT UNSIGNED NULL,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_sms_messages PRIMARY KEY (id),
    CONSTRAINT uq_sms_messages_tenant_idempotency_key UNIQUE KEY (tenant_id, idempotency_key),
    CONSTRAINT uq_sms_messages_tenant_provider_id UNIQUE KEY (tenant_id, provider_id),
    INDEX ix_sms_messages_tenant_partner (tenant_id, partner, id),
    CONSTRAINT fk_sms_messages_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT ck_sms_messages_direction CHECK (direction IN ('out', 'in')),
    CONSTRAINT ck_sms_messages_status CHECK (status IN ('queued', 'sent', 'delivered', 'undelivered', 'failed', 'received'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE trunks
    ADD COLUMN balance_amount DOUBLE NULL,
    ADD COLUMN balance_currency VARCHAR(8) NULL,
    ADD COLUMN balance_at DATETIME(3) NULL,
    ADD COLUMN balance_error VARCHAR(255) NULL,
    ADD COLUMN balance_error_at DATETIME(3) NULL;
