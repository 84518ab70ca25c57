-- Raw events and the consumer's own bookkeeping.

-- One row per envelope (fourkeys.event.v1), keyed by its id: a redelivered
-- or re-published event is the same row. The envelope keeps the sender's
-- body under "raw", so every derived table can be rebuilt from here.
CREATE TABLE events_raw (
  id              text        PRIMARY KEY,
  source          text        NOT NULL,
  event_type      text        NOT NULL,   -- the sender's event name
  kind            text        NOT NULL,   -- change, deployment, incident, other
  service         text        NOT NULL,
  team            text,
  repository      text,
  environment     text,                   -- deployments and incidents
  signature       text        NOT NULL,   -- SHA-1 of the raw body
  time_created    timestamptz NOT NULL,   -- the envelope's occurred_at
  received_at     timestamptz NOT NULL,
  -- lz4: a few KB per event are compressed on the way in; lz4 costs a
  -- fraction of Postgres' default pglz for about the same size.
  envelope        jsonb       COMPRESSION lz4 NOT NULL,
  kafka_topic     text,
  kafka_partition integer,
  kafka_offset    bigint,
  ingested_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_raw_service_time_idx ON events_raw (service, time_created);


-- The next offset to consume per partition, written in the same transaction
-- as the rows of the batch that consumed up to it. On partition assignment
-- the worker starts here; Kafka's committed offsets are only a hint.
CREATE TABLE ingest_offsets (
  topic        text        NOT NULL,
  partition    integer     NOT NULL,
  next_offset  bigint      NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition)
);

-- Offsets Kafka no longer had when the worker asked for them (retention, or
-- the embedded broker's size limit): the events in [from_offset, to_offset)
-- were never stored. Written when the worker is told to go on past a gap.
CREATE TABLE ingest_gaps (
  topic        text        NOT NULL,
  partition    integer     NOT NULL,
  from_offset  bigint      NOT NULL,
  to_offset    bigint      NOT NULL,
  detected_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition, from_offset)
);
