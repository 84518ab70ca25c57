-- events_raw.envelope as json instead of jsonb: the text exactly as the
-- worker consumed it from Kafka, checked to be JSON on the way in.
--
-- Why: jsonb converts every envelope (a few KB, the sender's body included)
-- into its binary form on insert, which cost more than half of the COPY into
-- events_raw, the largest single write of a batch; json only validates. The
-- column is read whole (rebuild, audit), never searched inside, so jsonb's
-- faster operators buy nothing here; `->` and `->>` work on json as well.
-- Keeping the bytes as sent also makes the raw log exact.
ALTER TABLE events_raw ALTER COLUMN envelope TYPE json USING envelope::text::json;
ALTER TABLE events_raw ALTER COLUMN envelope SET COMPRESSION lz4;
