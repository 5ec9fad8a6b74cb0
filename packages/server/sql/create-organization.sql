-- Creating an organization, in one statement (src/modules/organizations/organizations.service.ts):
-- enters the new organization as its creator, then writes the organization, the creator's
-- owner membership, the audit event (linked into the new chain by sql/audit-chain.sql's
-- triggers) and its event row. Run alone it is its own transaction, with no BEGIN and no
-- COMMIT round trip around it; a request with an Idempotency-Key runs it inside the
-- transaction that stores the answer, so the key and the change commit together.
--
-- Nothing is written unless all of it is: an ended session writes nothing (session_live
-- false, no organization), and neither does a slug another organization holds (no
-- organization; the caller tries another slug). The audit event's and the event's content
-- come from the caller, as record() writes them (src/modules/audit/audit.ts).
create or replace function tenantry_create_organization(
  p_user uuid, p_session uuid,
  p_id uuid, p_name text, p_slug text, p_industry text, p_size text, p_domains text[], p_metadata jsonb,
  p_audit_id uuid, p_actor_type text, p_actor_id uuid, p_audit_data jsonb, p_ip text, p_request_id text,
  p_event_id uuid, p_event_data jsonb)
returns table (session_live boolean, id uuid, name text, slug text, industry text, size text, domains text[], status text,
               metadata jsonb, created_at timestamptz, updated_at timestamptz)
language plpgsql volatile as $$
#variable_conflict use_column
declare
  o organizations;
begin
  select e.session_live into session_live from tenantry_enter(p_id, p_user, p_session) e;
  if not session_live then
    return next;
    return;
  end if;
  insert into organizations as t (id, name, slug, industry, size, domains, metadata)
  values (p_id, p_name, p_slug, p_industry, p_size, p_domains, p_metadata)
  on conflict (slug) do nothing
  returning t.* into o;
  if not found then
    return next;
    return;
  end if;
  -- As insertMember writes one: its trigger renders the member-list entry.
  insert into memberships (organization_id, user_id, role) values (p_id, p_user, 'owner');
  insert into audit_events (organization_id, id, actor_type, actor_id, action, target_type, target_id, data, ip, request_id)
  values (p_id, p_audit_id, p_actor_type, p_actor_id, 'organization.created', 'organization', p_id::text, p_audit_data, p_ip, p_request_id);
  insert into events (organization_id, id, type, actor_type, actor_id, data)
  values (p_id, p_event_id, 'organization.created', p_actor_type, p_actor_id, p_event_data);
  id := o.id;
  name := o.name;
  slug := o.slug;
  industry := o.industry;
  size := o.size;
  domains := o.domains;
  status := o.status;
  metadata := o.metadata;
  created_at := o.created_at;
  updated_at := o.updated_at;
  return next;
end $$;
