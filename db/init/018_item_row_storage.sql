-- Issue 11 (full load vs the COPY ceiling): a drive item row is ≈ 1.9 KB (the Graph object in raw is ≈ 1.25 KB), and
-- ≈ 15 % of rows pass the 2 KB mark at which PostgreSQL tries to compress a row's largest value (pglz) before
-- writing it — on every insert and every update of those rows. Measured with a binary COPY of 200,000 real rows into
-- a table without indexes: 4.1 s by default, 3.0 s with rows kept inline up to a page (toast_tuple_target 8160), the
-- table the same size (the JSON compresses poorly). Rows larger than a page are still moved out of line.
ALTER TABLE msgraph_drive_items SET (toast_tuple_target = 8160);
