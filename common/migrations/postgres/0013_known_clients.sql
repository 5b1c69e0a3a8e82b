-- Where each name ("account:…", "admin:…", "relay:…") logged in from
-- lately: failures counted against the name do not slow these clients down,
-- so an attack on a name does not lock its owner out.
CREATE TABLE auth_known_clients (
    key     TEXT    NOT NULL,
    client  TEXT    NOT NULL,
    last_at BIGINT  NOT NULL,
    PRIMARY KEY (key, client)
);
CREATE INDEX auth_known_clients_last_at ON auth_known_clients(last_at);
