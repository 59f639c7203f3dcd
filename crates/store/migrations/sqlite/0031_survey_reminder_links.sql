-- Issue #20 item 15: a reminder mail carries a link of its own; the first mail's link keeps
-- working. Only the SHA-256 of each is kept; single use is still one answer per invitation.
ALTER TABLE survey_invitations ADD COLUMN reminder_token_hash TEXT;
CREATE UNIQUE INDEX survey_invitations_reminder_token_hash_key ON survey_invitations (reminder_token_hash);
