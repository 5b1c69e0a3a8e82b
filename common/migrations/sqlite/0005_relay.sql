-- Relay clients: agency systems (protocollo, SUAP portals, payment notices)
-- that send mail through Postino. Keep in step with ../postgres/0005_relay.sql.
--
-- A client is recognised by its source networks or by its password (an
-- argon2id PHC string); it may use only its sender domains, and at most
-- rate_per_minute messages a minute (0: no limit).

CREATE TABLE relay_clients (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    password_hash   TEXT,
    rate_per_minute INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);

-- Networks in CIDR notation, host bits zero: 10.1.0.0/16, 2001:db8::/32.
CREATE TABLE relay_client_networks (
    client_id INTEGER NOT NULL REFERENCES relay_clients(id) ON DELETE CASCADE,
    cidr      TEXT    NOT NULL,
    PRIMARY KEY (client_id, cidr)
);

CREATE TABLE relay_client_domains (
    client_id INTEGER NOT NULL REFERENCES relay_clients(id) ON DELETE CASCADE,
    domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    PRIMARY KEY (client_id, domain_id)
);
CREATE INDEX relay_client_domains_domain ON relay_client_domains(domain_id);

-- Messages counted against a client's rate, shared by every node: a
-- window opens with the first message and lasts a minute.
CREATE TABLE relay_usage (
    client_id    INTEGER PRIMARY KEY REFERENCES relay_clients(id) ON DELETE CASCADE,
    window_start INTEGER NOT NULL,
    messages     INTEGER NOT NULL
);
