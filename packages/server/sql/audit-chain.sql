-- The audit log's hash chain: every event an organization records is linked to the one
-- before it, in the database, so no writer can leave it out.
--
-- Changing the canonical form below changes every hash: the chains already stored would
-- no longer verify. Treat it as a file format (a new form needs a version and a re-chain).

-- An event's hash: SHA-256 over its predecessor's hash (lower-case hex, '' for the first
-- event) and a newline, then the event as a JSON array in PostgreSQL's jsonb text form
-- (the API's values in a fixed order; jsonb writes object keys in a fixed order too).
create or replace function tenantry_audit_event_hash(p_prev bytea, e audit_events)
returns bytea
language sql stable parallel safe as $$
  select sha256(convert_to(
    coalesce(encode(p_prev, 'hex'), '') || E'\n' || jsonb_build_array(
      e.id, e.organization_id, e.actor_type, e.actor_id, e.action, e.target_type, e.target_id,
      e.data, e.ip, e.request_id,
      to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text,
    'UTF8'))
$$;

-- Links `e` to the end of its organization's chain and returns it with its place and
-- hashes. The first event a transaction writes in an organization locks the organization's
-- head row until the transaction ends: a second transaction writing there waits, then reads
-- the head the first one committed (a locking read returns the newest version), so the
-- chain follows commit order and no two events share a predecessor. The transaction then
-- keeps its own end of the chain in a transaction-local setting, so its further events link
-- without touching the head row again; the statement-level trigger below moves the head
-- once per statement. (Updating the one row once per event would leave a chain of row
-- versions that every later update in the transaction walks: quadratic for a bulk insert.)
-- A rolled-back transaction or savepoint rolls back its events, the setting and the head
-- alike, so the chain has no gaps.
--
-- The setting is one, whatever the organization: a setting named after each organization
-- stayed defined in the backend for good, and PostgreSQL 15 sorts its settings on every new
-- name and walks all of them at every transaction's end, so each organization a connection
-- had ever audited made every later transaction on it slower. It holds the end of the last
-- organization this transaction chained in: before an event of another organization, that
-- end is written to its head (a statement of a role that sees every organization can chain
-- in several in turn; in a tenant context the statement trigger has written it already).
create or replace function tenantry_audit_chain_append(e audit_events)
returns audit_events
language plpgsql volatile as $$
declare
  -- organization id : seq : hash : previous hash : last event id (hashes in hex)
  v_end constant text[] := string_to_array(nullif(current_setting('tenantry_audit_chain.end', true), ''), ':');
  v_seq bigint;
  v_prev bytea;
begin
  if v_end[1]::uuid = e.organization_id then
    v_seq := v_end[2]::bigint;
    v_prev := decode(v_end[3], 'hex');
  else
    if v_end is not null then
      update audit_chain_heads h
         set seq = v_end[2]::bigint, hash = decode(v_end[3], 'hex'), prev_hash = decode(nullif(v_end[4], ''), 'hex'),
             last_event_id = v_end[5]::uuid
       where h.organization_id = v_end[1]::uuid and h.seq < v_end[2]::bigint;
    end if;
    loop
      select h.seq, h.hash into v_seq, v_prev from audit_chain_heads h
       where h.organization_id = e.organization_id for no key update;
      exit when found;
      -- The organization's first event: make its head, which this transaction then holds
      -- until it ends (a concurrent first insert makes it too; DO NOTHING waits for it, and
      -- the locking read takes its turn after).
      insert into audit_chain_heads as h (organization_id) values (e.organization_id) on conflict do nothing
      returning h.seq, h.hash into v_seq, v_prev;
      exit when found;
    end loop;
  end if;
  -- The API shows milliseconds; the hash covers exactly what it shows.
  e.occurred_at := date_trunc('milliseconds', e.occurred_at);
  e.chain_seq := v_seq + 1;
  e.prev_hash := v_prev;
  e.hash := tenantry_audit_event_hash(v_prev, e);
  perform set_config('tenantry_audit_chain.end',
    concat_ws(':', e.organization_id, e.chain_seq, encode(e.hash, 'hex'), coalesce(encode(v_prev, 'hex'), ''), e.id), true);
  return e;
end $$;

-- Moves each organization's head to the last event `chained` holds for it.
create or replace function tenantry_audit_chain_advance() returns trigger
language plpgsql volatile as $$
begin
  update audit_chain_heads h
     set seq = n.chain_seq, last_event_id = n.id, prev_hash = n.prev_hash, hash = n.hash
    from (select distinct on (organization_id) organization_id, chain_seq, id, prev_hash, hash
            from chained order by organization_id, chain_seq desc) n
   where h.organization_id = n.organization_id;
  return null;
end $$;

create or replace function tenantry_audit_events_chain() returns trigger
language plpgsql volatile as $$
begin
  return tenantry_audit_chain_append(new);
end $$;

-- BEFORE INSERT, so whatever a writer puts in chain_seq, prev_hash or hash is replaced.
create or replace trigger audit_events_chain before insert on audit_events
  for each row execute function tenantry_audit_events_chain();
create or replace trigger audit_events_chain_head after insert on audit_events
  referencing new table as chained
  for each statement execute function tenantry_audit_chain_advance();

-- Events written before the chain existed are chained once, per organization in the order
-- they were written (time, then id: ids are UUIDv7, so time-ordered), after the head.
do $$
declare
  r audit_events;
begin
  perform set_config('role', 'tenantry_maintenance', true);
  for r in select * from audit_events where hash is null order by organization_id, occurred_at, id loop
    r := tenantry_audit_chain_append(r);
    update audit_events
       set occurred_at = r.occurred_at, chain_seq = r.chain_seq, prev_hash = r.prev_hash, hash = r.hash
     where organization_id = r.organization_id and id = r.id;
  end loop;
  -- The heads, once, to the last event of each chain (the statement trigger moves them for inserts only).
  update audit_chain_heads h
     set seq = n.chain_seq, last_event_id = n.id, prev_hash = n.prev_hash, hash = n.hash
    from (select distinct on (organization_id) organization_id, chain_seq, id, prev_hash, hash
            from audit_events where chain_seq > 0 order by organization_id, chain_seq desc) n
   where h.organization_id = n.organization_id and n.chain_seq > h.seq;
end $$;
reset role;
