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
-- hashes. The UPDATE locks the organization's head row until the transaction ends: a
-- second transaction writing in the same organization waits there, then reads the head
-- the first one committed (READ COMMITTED re-evaluates the SET on the new row version),
-- so the chain follows commit order and no two events share a predecessor. Events of one
-- transaction link in the order they are inserted. A rolled-back transaction rolls its
-- links back with it, so the chain has no gaps.
create or replace function tenantry_audit_chain_append(e audit_events)
returns audit_events
language plpgsql volatile as $$
declare
  v_seq bigint;
  v_prev bytea;
  v_hash bytea;
begin
  -- The API shows milliseconds; the hash covers exactly what it shows.
  e.occurred_at := date_trunc('milliseconds', e.occurred_at);
  loop
    update audit_chain_heads h
       set seq = h.seq + 1, last_event_id = e.id, prev_hash = h.hash, hash = tenantry_audit_event_hash(h.hash, e)
     where h.organization_id = e.organization_id
    returning h.seq, h.prev_hash, h.hash into v_seq, v_prev, v_hash;
    exit when found;
    -- The organization's first event: make its head, then link (a concurrent first
    -- insert makes it too; DO NOTHING waits for it and the UPDATE then takes its turn).
    insert into audit_chain_heads (organization_id) values (e.organization_id) on conflict do nothing;
  end loop;
  e.chain_seq := v_seq;
  e.prev_hash := v_prev;
  e.hash := v_hash;
  return e;
end $$;

create or replace function tenantry_audit_events_chain() returns trigger
language plpgsql volatile as $$
begin
  return tenantry_audit_chain_append(new);
end $$;

-- BEFORE INSERT, so whatever a writer puts in chain_seq, prev_hash or hash is replaced.
create or replace trigger audit_events_chain before insert on audit_events
  for each row execute function tenantry_audit_events_chain();

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
end $$;
reset role;
