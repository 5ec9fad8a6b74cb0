-- The periodic checkpoint job (src/modules/audit/audit.checkpoints.ts) finds, as
-- tenantry_worker, the organizations whose audit chain has grown past its latest signed
-- checkpoint: it reads where each chain ends and where its checkpoints are, nothing of
-- the events. It then verifies and signs each one in that organization's own context.
grant select (organization_id, seq) on audit_chain_heads to tenantry_worker;
grant select (organization_id, chain_seq) on audit_checkpoints to tenantry_worker;
