-- Outbox messages are claimed with a lease that is committed before the message is sent,
-- so no transaction (and on the embedded engine, not its only connection) stays open across
-- the SMTP conversation. A lease that expires (the sender died mid-send) makes the message
-- claimable again: delivery is at least once.
alter table email_outbox add column lease_until timestamptz;
