#!/usr/bin/env bash
set -euo pipefail
cd "$1"
export HOME="$PWD" TZ=UTC LC_ALL=C
# Real sqlite3 output: a small orders database queried in several output modes.
sqlite3 -batch shop.db <<'SQL'
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT, created TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), sku TEXT, qty INTEGER, price_cents INTEGER, status TEXT);
CREATE INDEX idx_orders_customer ON orders(customer_id);
CREATE VIEW order_totals AS SELECT customer_id, SUM(qty*price_cents) AS total_cents, COUNT(*) AS n FROM orders GROUP BY customer_id;
INSERT INTO customers VALUES (1,'Dana Lee','DE','2024-01-15'),(2,'Sam Ortiz','ES','2024-02-03'),(3,'Mika Tanaka','JP','2024-02-28'),(4,'Ana Souza','BR','2024-03-09'),(5,'Lars Berg','SE','2024-04-21');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<24)
INSERT INTO orders (customer_id, sku, qty, price_cents, status)
SELECT 1 + (i*7) % 5, 'SKU-' || printf('%04d', 100 + (i*37) % 900), 1 + i % 4, 499 + (i*1237) % 9000,
       CASE i % 3 WHEN 0 THEN 'shipped' WHEN 1 THEN 'paid' ELSE 'pending' END FROM n;
SQL
sqlite3 -batch shop.db <<'SQL'
.print -- schema
.schema
.print -- tables
.tables
.headers on
.mode column
SELECT id, customer_id, sku, qty, price_cents, status FROM orders ORDER BY id;
.mode box
SELECT c.name, c.country, t.n AS orders, printf('%.2f', t.total_cents/100.0) AS total_eur
FROM customers c JOIN order_totals t ON t.customer_id = c.id ORDER BY t.total_cents DESC;
.mode csv
SELECT status, COUNT(*) AS n, SUM(qty) AS items FROM orders GROUP BY status ORDER BY status;
.mode json
SELECT id, name, country FROM customers ORDER BY id LIMIT 3;
.mode line
SELECT COUNT(*) AS orders, MIN(price_cents) AS min_cents, MAX(price_cents) AS max_cents, AVG(qty) AS avg_qty FROM orders;
.mode markdown
SELECT sku, qty, hex(sku) AS sku_hex, length(sku) AS len FROM orders WHERE id <= 5 ORDER BY id;
.mode list
.headers off
EXPLAIN QUERY PLAN SELECT * FROM orders WHERE customer_id = 3;
PRAGMA integrity_check;
PRAGMA table_info(orders);
PRAGMA index_list(orders);
SELECT sqlite_version() >= '3.0.0';
SELECT date('2024-05-02', '+1 month'), strftime('%Y-W%W', '2024-05-02'), julianday('2024-05-02');
.mode insert customers
SELECT * FROM customers ORDER BY id;
SQL
