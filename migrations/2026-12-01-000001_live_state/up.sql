-- What the live side keeps across restarts: the pauses Mayday owns (re-applied when
-- Asterisk restarts, since app_queue forgets pause reasons) and today's counters of each
-- queue and agent (persisted as they change, reloaded at start).

CREATE TABLE agent_pauses (
    tenant_id BIGINT UNSIGNED NOT NULL,
    user_id BIGINT UNSIGNED NOT NULL,
    reason VARCHAR(80) NOT NULL DEFAULT '',
    since DATETIME(3) NOT NULL,
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_agent_pauses PRIMARY KEY (user_id),
    INDEX ix_agent_pauses_tenant (tenant_id),
    CONSTRAINT fk_agent_pauses_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_agent_pauses_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per tenant, kind, name and day ('queue' rows are keyed by the Asterisk queue
-- name, 'agent' rows by the user id); `counters` is the JSON of the live side's counters.
CREATE TABLE live_counters (
    tenant_id BIGINT UNSIGNED NOT NULL,
    kind VARCHAR(8) NOT NULL,
    name VARCHAR(128) NOT NULL,
    day DATE NOT NULL,
    counters TEXT NOT NULL,
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    CONSTRAINT pk_live_counters PRIMARY KEY (tenant_id, kind, name, day),
    INDEX ix_live_counters_day (day),
    CONSTRAINT fk_live_counters_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT ck_live_counters_kind CHECK (kind IN ('queue', 'agent'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
