-- Every domain an audit entry is about: a comune admin sees an entry only
-- when all of them are its own, as with the resources themselves (a relay
-- client may send from several domains). `audit_log.domain` stays the one
-- shown.
CREATE TABLE audit_domains (
    audit_id BIGINT NOT NULL REFERENCES audit_log(id) ON DELETE CASCADE,
    domain   TEXT   NOT NULL,
    PRIMARY KEY (audit_id, domain)
);
CREATE INDEX audit_domains_domain ON audit_domains(domain, audit_id);
INSERT INTO audit_domains (audit_id, domain)
    SELECT id, domain FROM audit_log WHERE domain IS NOT NULL;
-- Relay clients' entries were filed under their first sender domain only.
INSERT INTO audit_domains (audit_id, domain)
    SELECT a.id, jsonb_array_elements_text(a.before::jsonb -> 'sender_domains')
    FROM audit_log a WHERE a.action LIKE 'relay.%' AND a.before IS NOT NULL
    ON CONFLICT DO NOTHING;
INSERT INTO audit_domains (audit_id, domain)
    SELECT a.id, jsonb_array_elements_text(a.after::jsonb -> 'sender_domains')
    FROM audit_log a WHERE a.action LIKE 'relay.%' AND a.after IS NOT NULL
    ON CONFLICT DO NOTHING;
