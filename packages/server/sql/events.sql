-- The background work on events (fan-out, delivery, retention) runs as tenantry_worker,
-- in no organization and as nobody, for this transaction only.
create or replace function tenantry_enter_worker()
returns void
language plpgsql volatile as $$
begin
  perform set_config('role', 'tenantry_worker', true),
          set_config('app.org_id', '', true),
          set_config('app.user_id', '', true);
end $$;

-- The event horizon: every transaction with an id below it has ended, as far as this
-- database is concerned. Readers of events (the pull API, the fan-out to webhooks) call
-- it in a statement of its own and then read only events of transactions below it, in
-- a later statement and so a later snapshot: any transaction below the horizon had ended
-- before that snapshot, and any still running is at or above it, so a transaction that
-- commits later can only add events after what a reader has already seen.
--
-- The snapshot's xmin would give the same guarantee, but it is cluster-wide: an open
-- transaction in any other database of the cluster would hold every event back. Here
-- only this database's running transactions count (pg_stat_activity; security definer,
-- so the owner's sessions, which are the application's, are all visible). The next
-- transaction id to complete is read first: an id below it was assigned before the
-- running transactions are read, and is seen there if it has not ended.
create or replace function tenantry_events_horizon()
returns xid8
language plpgsql volatile security definer set search_path = pg_catalog as $$
declare
  horizon xid8 := pg_snapshot_xmax(pg_current_snapshot());
  epoch bigint := (horizon::text::bigint >> 32) << 32;
  running bigint;
begin
  -- backend_xid is a 32-bit xid: put it in the horizon's epoch (running ids are less
  -- than 2^31 behind it).
  select min(case when epoch + a.backend_xid::text::bigint > horizon::text::bigint
                  then epoch + a.backend_xid::text::bigint - 4294967296
                  else epoch + a.backend_xid::text::bigint end)
    into running
  from pg_stat_activity a
  where a.datname = current_database() and a.backend_xid is not null and a.pid <> pg_backend_pid();
  if running is not null and running < horizon::text::bigint then
    horizon := running::text::xid8;
  end if;
  return horizon;
end $$;
