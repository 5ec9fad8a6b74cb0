-- How the database writes values in the API's form, for what it renders as JSON.

-- The API's timestamp form: ISO 8601 in UTC with milliseconds, as JavaScript's
-- toISOString. The member-list entries hold it, so a change here re-renders them.
create or replace function tenantry_iso(p_at timestamptz)
returns text
language sql stable as $$
  select to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
