-- The claim of due webhook deliveries (deliveries.queries.ts claimDue) leaves alone an
-- endpoint and organization with a delivery in flight. Without this index that check
-- read every pending delivery of the endpoint for each candidate: a claim grew with the
-- square of the backlog (seconds at a few thousand pending). Leased rows are the few in
-- flight (a recorded outcome clears the lease), so the check is one small index probe.
create index webhook_deliveries_in_flight_idx on webhook_deliveries (endpoint_id, organization_id)
  where status = 'pending' and leased_until is not null;
