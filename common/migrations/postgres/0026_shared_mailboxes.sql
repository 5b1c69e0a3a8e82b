-- Mailboxes shared with other accounts of their domain (IMAP ACL, RFC 4314).
--
-- mailbox_shares gives a grantee rights (letters of "lrswipkxtea") in every
-- folder of the owner, those made later included: an office's role mailbox
-- such as protocollo@ shared with its employees. send_as lets the grantee
-- send as the owner's address. folder_rights holds what SETACL set on one
-- folder, which replaces the share's rights there; an empty string takes
-- the share's rights away from that folder. Grantees are always accounts of
-- the owner's domain. Keep in step with ../sqlite/0026_shared_mailboxes.sql.
CREATE TABLE mailbox_shares (
    owner_id   BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    grantee_id BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    rights     TEXT    NOT NULL,
    send_as    BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (owner_id, grantee_id)
);
CREATE INDEX mailbox_shares_grantee ON mailbox_shares(grantee_id);

CREATE TABLE folder_rights (
    folder_id  BIGINT  NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    grantee_id BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    rights     TEXT    NOT NULL,
    PRIMARY KEY (folder_id, grantee_id)
);
CREATE INDEX folder_rights_grantee ON folder_rights(grantee_id);
