-- Asterisk's realtime tables, read and written by Asterisk through ODBC (res_config_odbc,
-- cdr_adaptive_odbc, cel_odbc, the queue_log realtime backend) and provisioned by Mayday.
--
-- Source of the columns: Asterisk 22, branch releases/22 at tag 22.12.0-rc1, i.e. the final
-- state after every alembic revision in
--   contrib/ast-db-manage/config/versions     (head 2b45fd748a4f)
--   contrib/ast-db-manage/cdr/versions        (head 54cde9847798)
--   contrib/ast-db-manage/queue_log/versions  (head 8e6a9c2f4b17)
-- cross-checked against docs/asterisk.md section 4 (alembic run into MariaDB 10.11 and a
-- running Asterisk 22.10.1). Names, types, lengths, ENUM value lists, nullability and column
-- order are Asterisk's (order = creation order, then each added column in revision order).
-- asterisk/schema/columns.txt lists the same columns in the same order; keep them in step.
--
-- Where this file departs from the alembic result, on purpose:
--   * ps_auths.auth_type also accepts 'digest' (Asterisk 22 auth_type for password_digest;
--     the alembic scripts never added it).
--   * cdr gets id (our primary key) and tenantid, peertenantid (22.x CDR fields that
--     cdr_adaptive_odbc fills when the columns exist); cel has no alembic script at all and
--     follows docs/asterisk.md 4.7.
--   * Keys: alembic gives the PJSIP tables UNIQUE (id) plus a plain index <table>_id on the
--     same NOT NULL column (information_schema reports the column as PRI). Here id is the
--     PRIMARY KEY and the duplicate plain index is left out: one index per column set, never
--     two (a rule of this project). The same goes for the redundant UNIQUE (id) alembic adds
--     beside PRIMARY KEY (id) on extensions and queue_log. Unnamed Asterisk keys get names.
--   * Extra lookup indexes Asterisk does not create: cdr/cel (linkedid, uniqueid, time) and
--     queue_log (time, callid), for call history and reports.
--
-- Reserved words: `match` (ps_endpoint_id_ips) is reserved in MariaDB and must be backquoted
-- in every statement; `100rel` starts with a digit and is backquoted too.
--
-- Empty strings: through ODBC Asterisk treats '' like NULL (option unset, default applies).
-- A literal ';' in any realtime value must be stored as '^3B'.

-- ---------------------------------------------------------------------------------------
-- PJSIP (sorcery realtime: endpoint, auth, aor, contact, identify, registration, domain_alias)
-- ---------------------------------------------------------------------------------------

CREATE TABLE ps_endpoints (
    id VARCHAR(255) NOT NULL,
    transport VARCHAR(40) NULL,
    aors VARCHAR(2048) NULL,
    auth VARCHAR(255) NULL,
    context VARCHAR(40) NULL,
    disallow VARCHAR(200) NULL,
    allow VARCHAR(200) NULL,
    direct_media ENUM('0','1','off','on','false','true','no','yes') NULL,
    connected_line_method ENUM('invite','reinvite','update') NULL,
    direct_media_method ENUM('invite','reinvite','update') NULL,
    direct_media_glare_mitigation ENUM('none','outgoing','incoming') NULL,
    disable_direct_media_on_nat ENUM('0','1','off','on','false','true','no','yes') NULL,
    dtmf_mode ENUM('rfc4733','inband','info','auto','auto_info') NULL,
    -- a transport option; Asterisk ignores it on an endpoint
    external_media_address VARCHAR(40) NULL,
    force_rport ENUM('0','1','off','on','false','true','no','yes') NULL,
    ice_support ENUM('0','1','off','on','false','true','no','yes') NULL,
    identify_by VARCHAR(80) NULL,
    mailboxes VARCHAR(40) NULL,
    moh_suggest VARCHAR(40) NULL,
    outbound_auth VARCHAR(255) NULL,
    outbound_proxy VARCHAR(255) NULL,
    rewrite_contact ENUM('0','1','off','on','false','true','no','yes') NULL,
    rtp_ipv6 ENUM('0','1','off','on','false','true','no','yes') NULL,
    rtp_symmetric ENUM('0','1','off','on','false','true','no','yes') NULL,
    send_diversion ENUM('0','1','off','on','false','true','no','yes') NULL,
    send_pai ENUM('0','1','off','on','false','true','no','yes') NULL,
    send_rpid ENUM('0','1','off','on','false','true','no','yes') NULL,
    timers_min_se INT NULL,
    timers ENUM('forced','no','required','yes') NULL,
    timers_sess_expires INT NULL,
    callerid VARCHAR(40) NULL,
    callerid_privacy ENUM('allowed_not_screened','allowed_passed_screened','allowed_failed_screened','allowed','prohib_not_screened','prohib_passed_screened','prohib_failed_screened','prohib','unavailable') NULL,
    callerid_tag VARCHAR(40) NULL,
    `100rel` ENUM('no','required','peer_supported','yes') NULL,
    aggregate_mwi ENUM('0','1','off','on','false','true','no','yes') NULL,
    trust_id_inbound ENUM('0','1','off','on','false','true','no','yes') NULL,
    trust_id_outbound ENUM('0','1','off','on','false','true','no','yes') NULL,
    use_ptime ENUM('0','1','off','on','false','true','no','yes') NULL,
    use_avpf ENUM('0','1','off','on','false','true','no','yes') NULL,
    media_encryption ENUM('no','sdes','dtls') NULL,
    inband_progress ENUM('0','1','off','on','false','true','no','yes') NULL,
    call_group VARCHAR(40) NULL,
    pickup_group VARCHAR(40) NULL,
    named_call_group VARCHAR(40) NULL,
    named_pickup_group VARCHAR(40) NULL,
    device_state_busy_at INT NULL,
    fax_detect ENUM('0','1','off','on','false','true','no','yes') NULL,
    t38_udptl ENUM('0','1','off','on','false','true','no','yes') NULL,
    t38_udptl_ec ENUM('none','fec','redundancy') NULL,
    t38_udptl_maxdatagram INT NULL,
    t38_udptl_nat ENUM('0','1','off','on','false','true','no','yes') NULL,
    t38_udptl_ipv6 ENUM('0','1','off','on','false','true','no','yes') NULL,
    tone_zone VARCHAR(40) NULL,
    language VARCHAR(40) NULL,
    one_touch_recording ENUM('0','1','off','on','false','true','no','yes') NULL,
    record_on_feature VARCHAR(40) NULL,
    record_off_feature VARCHAR(40) NULL,
    rtp_engine VARCHAR(40) NULL,
    allow_transfer ENUM('0','1','off','on','false','true','no','yes') NULL,
    allow_subscribe ENUM('0','1','off','on','false','true','no','yes') NULL,
    sdp_owner VARCHAR(40) NULL,
    sdp_session VARCHAR(40) NULL,
    tos_audio VARCHAR(10) NULL,
    tos_video VARCHAR(10) NULL,
    sub_min_expiry INT NULL,
    from_domain VARCHAR(40) NULL,
    from_user VARCHAR(40) NULL,
    mwi_from_user VARCHAR(40) NULL,
    dtls_verify VARCHAR(40) NULL,
    dtls_rekey VARCHAR(40) NULL,
    dtls_cert_file VARCHAR(200) NULL,
    dtls_private_key VARCHAR(200) NULL,
    dtls_cipher VARCHAR(200) NULL,
    dtls_ca_file VARCHAR(200) NULL,
    dtls_ca_path VARCHAR(200) NULL,
    dtls_setup ENUM('active','passive','actpass') NULL,
    srtp_tag_32 ENUM('0','1','off','on','false','true','no','yes') NULL,
    media_address VARCHAR(40) NULL,
    redirect_method ENUM('user','uri_core','uri_pjsip') NULL,
    -- VAR=value; several separated by ';' stored as '^3B'
    set_var TEXT NULL,
    cos_audio INT NULL,
    cos_video INT NULL,
    message_context VARCHAR(40) NULL,
    force_avp ENUM('0','1','off','on','false','true','no','yes') NULL,
    media_use_received_transport ENUM('0','1','off','on','false','true','no','yes') NULL,
    accountcode VARCHAR(80) NULL,
    user_eq_phone ENUM('0','1','off','on','false','true','no','yes') NULL,
    moh_passthrough ENUM('0','1','off','on','false','true','no','yes') NULL,
    media_encryption_optimistic ENUM('0','1','off','on','false','true','no','yes') NULL,
    rpid_immediate ENUM('0','1','off','on','false','true','no','yes') NULL,
    g726_non_standard ENUM('0','1','off','on','false','true','no','yes') NULL,
    rtp_keepalive INT NULL,
    rtp_timeout INT NULL,
    rtp_timeout_hold INT NULL,
    bind_rtp_to_media_address ENUM('0','1','off','on','false','true','no','yes') NULL,
    voicemail_extension VARCHAR(40) NULL,
    mwi_subscribe_replaces_unsolicited ENUM('0','1','off','on','false','true','no','yes') NULL,
    deny VARCHAR(95) NULL,
    permit VARCHAR(95) NULL,
    acl VARCHAR(40) NULL,
    contact_deny VARCHAR(95) NULL,
    contact_permit VARCHAR(95) NULL,
    contact_acl VARCHAR(40) NULL,
    subscribe_context VARCHAR(40) NULL,
    fax_detect_timeout INT NULL,
    contact_user VARCHAR(80) NULL,
    preferred_codec_only ENUM('0','1','off','on','false','true','no','yes') NULL,
    asymmetric_rtp_codec ENUM('0','1','off','on','false','true','no','yes') NULL,
    rtcp_mux ENUM('0','1','off','on','false','true','no','yes') NULL,
    allow_overlap ENUM('0','1','off','on','false','true','no','yes') NULL,
    refer_blind_progress ENUM('0','1','off','on','false','true','no','yes') NULL,
    notify_early_inuse_ringing ENUM('0','1','off','on','false','true','no','yes') NULL,
    max_audio_streams INT NULL,
    max_video_streams INT NULL,
    webrtc ENUM('0','1','off','on','false','true','no','yes') NULL,
    dtls_fingerprint ENUM('SHA-1','SHA-256') NULL,
    incoming_mwi_mailbox VARCHAR(40) NULL,
    bundle ENUM('0','1','off','on','false','true','no','yes') NULL,
    dtls_auto_generate_cert ENUM('0','1','off','on','false','true','no','yes') NULL,
    follow_early_media_fork ENUM('0','1','off','on','false','true','no','yes') NULL,
    accept_multiple_sdp_answers ENUM('0','1','off','on','false','true','no','yes') NULL,
    suppress_q850_reason_headers ENUM('0','1','off','on','false','true','no','yes') NULL,
    trust_connected_line ENUM('0','1','off','on','false','true','no','yes') NULL,
    send_connected_line ENUM('0','1','off','on','false','true','no','yes') NULL,
    ignore_183_without_sdp ENUM('0','1','off','on','false','true','no','yes') NULL,
    codec_prefs_incoming_offer VARCHAR(128) NULL,
    codec_prefs_outgoing_offer VARCHAR(128) NULL,
    codec_prefs_incoming_answer VARCHAR(128) NULL,
    codec_prefs_outgoing_answer VARCHAR(128) NULL,
    -- obsolete in 22 (logs a warning): use stir_shaken_profile
    stir_shaken ENUM('0','1','off','on','false','true','no','yes') NULL,
    send_history_info ENUM('0','1','off','on','false','true','no','yes') NULL,
    allow_unauthenticated_options ENUM('0','1','off','on','false','true','no','yes') NULL,
    t38_bind_udptl_to_media_address ENUM('0','1','off','on','false','true','no','yes') NULL,
    geoloc_incoming_call_profile VARCHAR(80) NULL,
    geoloc_outgoing_call_profile VARCHAR(80) NULL,
    incoming_call_offer_pref ENUM('local','local_first','remote','remote_first') NULL,
    outgoing_call_offer_pref ENUM('local','local_merge','local_first','remote','remote_merge','remote_first') NULL,
    stir_shaken_profile VARCHAR(80) NULL,
    security_negotiation ENUM('no','mediasec') NULL,
    security_mechanisms VARCHAR(512) NULL,
    send_aoc ENUM('0','1','off','on','false','true','no','yes') NULL,
    overlap_context VARCHAR(80) NULL,
    -- copied by Asterisk into the Tenantid of this endpoint's channel events
    tenantid VARCHAR(80) NULL,
    suppress_moh_on_sendonly ENUM('0','1','off','on','false','true','no','yes') NULL,
    follow_redirect_methods VARCHAR(95) NULL,
    rtp_port_start INT NULL,
    rtp_port_end INT NULL,
    -- Asterisk: UNIQUE (id) + INDEX ps_endpoints_id (id); MariaDB names a primary key PRIMARY
    CONSTRAINT ps_endpoints_id PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE ps_auths (
    id VARCHAR(255) NOT NULL,
    -- 'digest' is not in Asterisk's alembic ENUM; Asterisk 22 accepts it (docs/asterisk.md 4.1)
    auth_type ENUM('md5','userpass','google_oauth','digest') NULL,
    nonce_lifetime INT NULL,
    md5_cred VARCHAR(40) NULL,
    password VARCHAR(80) NULL,
    realm VARCHAR(255) NULL,
    username VARCHAR(40) NULL,
    refresh_token VARCHAR(255) NULL,
    oauth_clientid VARCHAR(255) NULL,
    oauth_secret VARCHAR(255) NULL,
    password_digest VARCHAR(1024) NULL,
    supported_algorithms_uas VARCHAR(1024) NULL,
    supported_algorithms_uac VARCHAR(1024) NULL,
    -- Asterisk: UNIQUE (id) + INDEX ps_auths_id (id)
    CONSTRAINT ps_auths_id PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE ps_aors (
    id VARCHAR(255) NOT NULL,
    contact VARCHAR(255) NULL,
    default_expiration INT NULL,
    mailboxes VARCHAR(80) NULL,
    max_contacts INT NULL,
    minimum_expiration INT NULL,
    remove_existing ENUM('0','1','off','on','false','true','no','yes') NULL,
    qualify_frequency INT NULL,
    authenticate_qualify ENUM('0','1','off','on','false','true','no','yes') NULL,
    maximum_expiration INT NULL,
    outbound_proxy VARCHAR(255) NULL,
    support_path ENUM('0','1','off','on','false','true','no','yes') NULL,
    qualify_timeout FLOAT NULL,
    voicemail_extension VARCHAR(40) NULL,
    remove_unavailable ENUM('0','1','off','on','false','true','no','yes') NULL,
    qualify_2xx_only ENUM('0','1','off','on','false','true','no','yes') NULL,
    -- Asterisk: UNIQUE (id) + INDEX ps_aors_id (id)
    CONSTRAINT ps_aors_id PRIMARY KEY (id),
    INDEX ps_aors_qualifyfreq_contact (qualify_frequency, contact)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Written by Asterisk's registrar, not by Mayday. No primary key and a NULL-able id, as in
-- Asterisk (revision e96a0b8071c widened id and left it NULL-able; 6c475a93f48a, which made
-- the other ids NOT NULL again, does not list ps_contacts). Ids look like '<aor>^3B@<hash>'.
CREATE TABLE ps_contacts (
    id VARCHAR(255) NULL,
    uri VARCHAR(511) NULL,
    -- epoch seconds
    expiration_time BIGINT NULL,
    qualify_frequency INT NULL,
    outbound_proxy VARCHAR(255) NULL,
    path TEXT NULL,
    user_agent VARCHAR(255) NULL,
    qualify_timeout FLOAT NULL,
    reg_server VARCHAR(255) NULL,
    authenticate_qualify ENUM('0','1','off','on','false','true','no','yes') NULL,
    via_addr VARCHAR(40) NULL,
    via_port INT NULL,
    call_id VARCHAR(255) NULL,
    endpoint VARCHAR(255) NULL,
    prune_on_boot ENUM('0','1','off','on','false','true','no','yes') NULL,
    qualify_2xx_only ENUM('0','1','off','on','false','true','no','yes') NULL,
    -- Asterisk: UNIQUE (id) + INDEX ps_contacts_id (id)
    CONSTRAINT ps_contacts_id UNIQUE KEY (id),
    CONSTRAINT ps_contacts_uq UNIQUE KEY (id, reg_server),
    INDEX ps_contacts_qualifyfreq_exp (qualify_frequency, expiration_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- PJSIP "identify" objects (match requests to endpoints by source IP or header).
CREATE TABLE ps_endpoint_id_ips (
    id VARCHAR(255) NOT NULL,
    endpoint VARCHAR(255) NULL,
    -- reserved word: always write `match`
    `match` VARCHAR(80) NULL,
    srv_lookups ENUM('0','1','off','on','false','true','no','yes') NULL,
    match_header VARCHAR(255) NULL,
    match_request_uri VARCHAR(255) NULL,
    -- Asterisk: UNIQUE (id) + INDEX ps_endpoint_id_ips_id (id)
    CONSTRAINT ps_endpoint_id_ips_id PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Outbound registrations (Asterisk registering to a SIP provider).
CREATE TABLE ps_registrations (
    id VARCHAR(255) NOT NULL,
    auth_rejection_permanent ENUM('0','1','off','on','false','true','no','yes') NULL,
    client_uri VARCHAR(255) NULL,
    contact_user VARCHAR(40) NULL,
    expiration INT NULL,
    max_retries INT NULL,
    outbound_auth VARCHAR(255) NULL,
    outbound_proxy VARCHAR(255) NULL,
    retry_interval INT NULL,
    forbidden_retry_interval INT NULL,
    server_uri VARCHAR(255) NULL,
    transport VARCHAR(40) NULL,
    support_path ENUM('0','1','off','on','false','true','no','yes') NULL,
    fatal_retry_interval INT NULL,
    line ENUM('0','1','off','on','false','true','no','yes') NULL,
    endpoint VARCHAR(255) NULL,
    support_outbound ENUM('0','1','off','on','false','true','no','yes') NULL,
    contact_header_params VARCHAR(255) NULL,
    max_random_initial_delay INT NULL,
    security_negotiation ENUM('no','mediasec') NULL,
    security_mechanisms VARCHAR(512) NULL,
    user_agent VARCHAR(255) NULL,
    -- Asterisk: UNIQUE (id) + INDEX ps_registrations_id (id)
    CONSTRAINT ps_registrations_id PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE ps_domain_aliases (
    id VARCHAR(255) NOT NULL,
    domain VARCHAR(255) NULL,
    -- Asterisk: UNIQUE (id) + INDEX ps_domain_aliases_id (id)
    CONSTRAINT ps_domain_aliases_id PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- ---------------------------------------------------------------------------------------
-- Queues (app_queue realtime). Column names use '_' where queues.conf options use '-'.
-- ---------------------------------------------------------------------------------------

CREATE TABLE queues (
    name VARCHAR(128) NOT NULL,
    musiconhold VARCHAR(128) NULL,
    announce VARCHAR(128) NULL,
    context VARCHAR(128) NULL,
    timeout INT NULL,
    ringinuse ENUM('yes','no') NULL,
    setinterfacevar ENUM('yes','no') NULL,
    setqueuevar ENUM('yes','no') NULL,
    setqueueentryvar ENUM('yes','no') NULL,
    -- dead in 22 (app_monitor is gone)
    monitor_format VARCHAR(8) NULL,
    -- dead in 22 (app_macro is gone): use membergosub
    membermacro VARCHAR(512) NULL,
    membergosub VARCHAR(512) NULL,
    queue_youarenext VARCHAR(128) NULL,
    queue_thereare VARCHAR(128) NULL,
    queue_callswaiting VARCHAR(128) NULL,
    queue_quantity1 VARCHAR(128) NULL,
    queue_quantity2 VARCHAR(128) NULL,
    queue_holdtime VARCHAR(128) NULL,
    queue_minutes VARCHAR(128) NULL,
    queue_minute VARCHAR(128) NULL,
    queue_seconds VARCHAR(128) NULL,
    queue_thankyou VARCHAR(128) NULL,
    queue_callerannounce VARCHAR(128) NULL,
    queue_reporthold VARCHAR(128) NULL,
    announce_frequency INT NULL,
    announce_to_first_user ENUM('yes','no') NULL,
    min_announce_frequency INT NULL,
    announce_round_seconds INT NULL,
    announce_holdtime VARCHAR(128) NULL,
    announce_position VARCHAR(128) NULL,
    announce_position_limit INT NULL,
    periodic_announce VARCHAR(50) NULL,
    periodic_announce_frequency INT NULL,
    relative_periodic_announce ENUM('yes','no') NULL,
    random_periodic_announce ENUM('yes','no') NULL,
    retry INT NULL,
    wrapuptime INT NULL,
    penaltymemberslimit INT NULL,
    autofill ENUM('yes','no') NULL,
    -- dead in 22 (app_monitor is gone)
    monitor_type VARCHAR(128) NULL,
    autopause ENUM('yes','no','all') NULL,
    autopausedelay INT NULL,
    autopausebusy ENUM('yes','no') NULL,
    autopauseunavail ENUM('yes','no') NULL,
    maxlen INT NULL,
    servicelevel INT NULL,
    strategy ENUM('ringall','leastrecent','fewestcalls','random','rrmemory','linear','wrandom','rrordered') NULL,
    joinempty VARCHAR(128) NULL,
    leavewhenempty VARCHAR(128) NULL,
    reportholdtime ENUM('yes','no') NULL,
    memberdelay INT NULL,
    weight INT NULL,
    timeoutrestart ENUM('yes','no') NULL,
    defaultrule VARCHAR(128) NULL,
    timeoutpriority VARCHAR(128) NULL,
    log_restricted_caller_id ENUM('0','1','off','on','false','true','no','yes') NULL,
    CONSTRAINT pk_queues PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Realtime (not dynamic) members. Asterisk writes back paused, reason_paused, penalty and
-- ringinuse with WHERE uniqueid = ..., so uniqueid must stay AUTO_INCREMENT and unique.
CREATE TABLE queue_members (
    queue_name VARCHAR(80) NOT NULL,
    interface VARCHAR(80) NOT NULL,
    membername VARCHAR(80) NULL,
    state_interface VARCHAR(80) NULL,
    penalty INT NULL,
    -- 0/1
    paused INT NULL,
    uniqueid INT NOT NULL AUTO_INCREMENT,
    wrapuptime INT NULL,
    ringinuse ENUM('0','1','off','on','false','true','no','yes') NULL,
    reason_paused VARCHAR(80) NULL,
    CONSTRAINT pk_queue_members PRIMARY KEY (queue_name, interface),
    CONSTRAINT uq_queue_members_uniqueid UNIQUE KEY (uniqueid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The reason_paused probe (docs/asterisk.md 4.5). app_queue reads and writes reason_paused
-- only if, when the module LOADS, some queue_members row has a non-empty reason_paused
-- (through ODBC '' counts as absent, and an empty table disables it too). This row keeps the
-- feature on. Its queue does not exist: '~' is not allowed in tenant name prefixes and must
-- stay out of the queue names Mayday accepts, so no tenant queue can ever match it. It never
-- rings (and is paused anyway). Checked on 22.10.1 with such a row: QueuePause with a Reason
-- writes reason_paused, unpause clears it. Code that lists members must skip queue_name
-- '~mayday-probe' (or join with queues). Mayday still owns pause reasons and re-applies them
-- after an Asterisk restart.
INSERT INTO queue_members (queue_name, interface, membername, penalty, paused, reason_paused)
VALUES ('~mayday-probe', 'Local/0@mayday-probe/n', 'reason_paused probe', 0, 1, 'probe');

-- Used only when queuerules.conf has [general] realtime_rules=yes. No key in Asterisk.
-- (app_queue also reads a raise_penalty column if one exists; alembic does not create it.)
CREATE TABLE queue_rules (
    rule_name VARCHAR(80) NOT NULL,
    `time` VARCHAR(32) NOT NULL,
    min_penalty VARCHAR(32) NOT NULL,
    max_penalty VARCHAR(32) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- ---------------------------------------------------------------------------------------
-- Realtime dialplan (switch => Realtime/<context>@extensions). Priorities are numbers only.
-- ---------------------------------------------------------------------------------------

CREATE TABLE extensions (
    id BIGINT NOT NULL AUTO_INCREMENT,
    context VARCHAR(40) NOT NULL,
    exten VARCHAR(40) NOT NULL,
    priority INT NOT NULL,
    app VARCHAR(40) NOT NULL,
    appdata VARCHAR(256) NOT NULL,
    CONSTRAINT pk_extensions PRIMARY KEY (id),
    CONSTRAINT uq_extensions_context_exten_priority UNIQUE KEY (context, exten, priority)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- ---------------------------------------------------------------------------------------
-- Records written by Asterisk: CDR (cdr_adaptive_odbc), CEL (cel_odbc), queue_log.
-- ---------------------------------------------------------------------------------------

-- Alembic 'cdr' branch, plus id, tenantid, peertenantid. cdr_adaptive_odbc fills every column
-- named after a CDR variable and leaves id alone (an empty value for a numeric column is
-- skipped). Several rows per call (one per party pair): group by linkedid, order by sequence.
-- Character disposition/amaflags receive the names (ANSWERED, BILLING...); empty values NULL.
CREATE TABLE cdr (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    accountcode VARCHAR(80) NULL,
    src VARCHAR(80) NULL,
    dst VARCHAR(80) NULL,
    dcontext VARCHAR(80) NULL,
    clid VARCHAR(80) NULL,
    channel VARCHAR(80) NULL,
    dstchannel VARCHAR(80) NULL,
    lastapp VARCHAR(80) NULL,
    lastdata VARCHAR(80) NULL,
    `start` DATETIME NULL,
    answer DATETIME NULL,
    `end` DATETIME NULL,
    duration INT NULL,
    billsec INT NULL,
    disposition VARCHAR(45) NULL,
    amaflags VARCHAR(45) NULL,
    userfield VARCHAR(256) NULL,
    uniqueid VARCHAR(150) NULL,
    linkedid VARCHAR(150) NULL,
    peeraccount VARCHAR(80) NULL,
    `sequence` INT NULL,
    tenantid VARCHAR(80) NULL,
    peertenantid VARCHAR(80) NULL,
    CONSTRAINT pk_cdr PRIMARY KEY (id),
    INDEX ix_cdr_linkedid (linkedid),
    INDEX ix_cdr_uniqueid (uniqueid),
    INDEX ix_cdr_start (`start`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- No alembic script exists for CEL; layout from docs/asterisk.md 4.7. cel_odbc fills each
-- column named after a CEL field: a character eventtype gets the name (CHAN_START...), an
-- integer amaflags the number. eventtime keeps microseconds. Empty values are written as ''.
-- (cel_odbc in 22.10.1 has no tenantid field, so there is no tenantid column.)
CREATE TABLE cel (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    eventtype VARCHAR(80) NULL,
    eventtime DATETIME(6) NULL,
    userdeftype VARCHAR(80) NULL,
    cid_name VARCHAR(80) NULL,
    cid_num VARCHAR(80) NULL,
    cid_ani VARCHAR(80) NULL,
    cid_rdnis VARCHAR(80) NULL,
    cid_dnid VARCHAR(80) NULL,
    exten VARCHAR(80) NULL,
    context VARCHAR(80) NULL,
    channame VARCHAR(80) NULL,
    appname VARCHAR(80) NULL,
    appdata TEXT NULL,
    accountcode VARCHAR(80) NULL,
    peeraccount VARCHAR(80) NULL,
    uniqueid VARCHAR(150) NULL,
    linkedid VARCHAR(150) NULL,
    amaflags INT NULL,
    userfield VARCHAR(80) NULL,
    peer VARCHAR(80) NULL,
    extra TEXT NULL,
    CONSTRAINT pk_cel PRIMARY KEY (id),
    INDEX ix_cel_linkedid (linkedid),
    INDEX ix_cel_uniqueid (uniqueid),
    INDEX ix_cel_eventtime (eventtime)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Alembic 'queue_log' branch. time is DATETIME(6) since revision 8e6a9c2f4b17 (22.12.0-rc1):
-- Asterisk writes microseconds and a plain DATETIME would drop them. Data fields are the
-- '|'-separated parts of the event (docs/asterisk.md 5.2); agent is the member name or
-- interface, callid the caller's Uniqueid.
CREATE TABLE queue_log (
    id BIGINT NOT NULL AUTO_INCREMENT,
    `time` DATETIME(6) NULL,
    callid VARCHAR(80) NULL,
    queuename VARCHAR(256) NULL,
    agent VARCHAR(80) NULL,
    event VARCHAR(32) NULL,
    data1 VARCHAR(100) NULL,
    data2 VARCHAR(100) NULL,
    data3 VARCHAR(100) NULL,
    data4 VARCHAR(100) NULL,
    data5 VARCHAR(100) NULL,
    CONSTRAINT pk_queue_log PRIMARY KEY (id),
    INDEX ix_queue_log_time (`time`),
    INDEX ix_queue_log_callid (callid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
