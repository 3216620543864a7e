-- The example domain's customer history (issue 15): support-triage's tool reads a customer's earlier
-- tickets and orders from the log. A partial index over just those two types keeps that a lookup.
CREATE INDEX events_by_customer ON events (json_extract(envelope, '$.data.customerId'), seq)
  WHERE type IN ('support.ticket.opened', 'order.placed');
