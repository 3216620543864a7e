-- Stock for the inventory agent. The CHECK makes an oversell abort its whole transaction, and the
-- triggers keep stock and reservations in step, so a reservation is one atomic, idempotent batch.

CREATE TABLE stock (
  sku       TEXT    PRIMARY KEY,
  available INTEGER NOT NULL CHECK (available >= 0)
);

CREATE TABLE reservations (
  reservation_id TEXT    PRIMARY KEY, -- the order id
  status         TEXT    NOT NULL CHECK (status IN ('held', 'released')),
  created_at     INTEGER NOT NULL,
  released_at    INTEGER
);

CREATE TABLE reservation_items (
  reservation_id TEXT    NOT NULL REFERENCES reservations (reservation_id),
  sku            TEXT    NOT NULL REFERENCES stock (sku),
  qty            INTEGER NOT NULL CHECK (qty > 0),
  PRIMARY KEY (reservation_id, sku)
);

CREATE TRIGGER reservation_items_take AFTER INSERT ON reservation_items
BEGIN
  UPDATE stock SET available = available - NEW.qty WHERE sku = NEW.sku;
END;

CREATE TRIGGER reservations_release AFTER UPDATE OF status ON reservations
WHEN OLD.status = 'held' AND NEW.status = 'released'
BEGIN
  UPDATE stock
     SET available = available + (SELECT qty FROM reservation_items i
                                   WHERE i.reservation_id = NEW.reservation_id AND i.sku = stock.sku)
   WHERE sku IN (SELECT sku FROM reservation_items WHERE reservation_id = NEW.reservation_id);
END;

INSERT INTO stock (sku, available) VALUES
  ('SKU-1', 1000), ('SKU-2', 1000), ('SKU-3', 1000), ('SKU-4', 1000), ('SKU-5', 1000);
