-- Which write of a service's derived rows is the latest. Every write takes a
-- new number from the sequence (never reused, also across rebuilds, which
-- empty the table), so a worker can tell whether what it remembers of a
-- service is still what the database holds.
CREATE SEQUENCE service_version_seq;
CREATE TABLE service_versions (
  service  text   PRIMARY KEY,
  version  bigint NOT NULL
);
