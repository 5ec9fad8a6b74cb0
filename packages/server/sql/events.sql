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
