-- Each file in sql/policies is the whole set of one table's policies: it starts by
-- dropping every policy the table has, so a policy taken out of the file is gone once
-- the file is applied again, not left behind. The drop and the new policies share the
-- file's transaction: no one sees the table between the two.
create or replace function tenantry_reset_policies(p_table regclass)
returns void
language plpgsql volatile as $$
declare
  p record;
begin
  for p in select polname from pg_policy where polrelid = p_table loop
    execute format('drop policy %I on %s', p.polname, p_table);
  end loop;
end $$;

revoke execute on function tenantry_reset_policies(regclass) from public;
