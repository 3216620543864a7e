-- Domain migration (the example app, not the machinery): stock for the inventory agent's capability,
-- agents/capabilities/stock.ts. The CHECK makes an oversell abort its whole transaction, and the
-- triggers keep stock and reservations in step, so a reservation is one atomic, idempotent batch.
-- Idempotent (IF NOT EXISTS, OR IGNORE): databases that applied it as 0002_create_stock.sql re-apply
-- it harmlessly under its domain name.

CREATE TABLE IF NOT EXISTS stock (
  sku       TEXT    PRIMARY KEY,
  available INTEGER NOT NULL CHECK (available >= 0)
);

CREATE TABLE IF NOT EXISTS reservations (
  reservation_id TEXT    PRIMARY KEY, -- the order id
  status         TEXT    NOT NULL CHECK (status IN ('held', 'released')),
  created_at     INTEGER NOT NULL,
  released_at    INTEGER
);

CREATE TABLE IF NOT EXISTS reservation_items (
  reservation_id TEXT    NOT NULL REFERENCES reservations (reservation_id),
  sku            TEXT    NOT NULL REFERENCES stock (sku),
  qty            INTEGER NOT NULL CHECK (qty > 0),
  PRIMARY KEY (reservation_id, sku)
);

CREATE TRIGGER IF NOT EXISTS reservation_items_take AFTER INSERT ON reservation_items
BEGIN
  UPDATE stock SET available = available - NEW.qty WHERE sku = NEW.sku;
END;

CREATE TRIGGER IF NOT EXISTS reservations_release AFTER UPDATE OF status ON reservations
WHEN OLD.status = 'held' AND NEW.status = 'released'
BEGIN
  UPDATE stock
     SET available = available + (SELECT qty FROM reservation_items i
                                   WHERE i.reservation_id = NEW.reservation_id AND i.sku = stock.sku)
   WHERE sku IN (SELECT sku FROM reservation_items WHERE reservation_id = NEW.reservation_id);
END;

INSERT OR IGNORE INTO stock (sku, available) VALUES
  ('SKU-1', 1000), ('SKU-2', 1000), ('SKU-3', 1000), ('SKU-4', 1000), ('SKU-5', 1000);
