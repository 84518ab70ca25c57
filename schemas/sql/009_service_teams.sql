-- The team that owns each service, as the service map said when the
-- service's latest event was received (events_raw.team). A base table: the
-- worker keeps it from the events, and --rebuild derives it again from
-- events_raw. Services that never came with a team have no row.
CREATE TABLE service_teams (
  service      text        PRIMARY KEY,
  team         text        NOT NULL,
  received_at  timestamptz NOT NULL   -- of the event that said so
);
CREATE INDEX service_teams_team_idx ON service_teams (team);
