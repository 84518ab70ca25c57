-- changes: the primary key carries time_created, so the worker's read of a
-- service's commits (service, change_id and time, for every service it does
-- not remember; materialize.cc load_histories) is an index-only scan. The
-- rows sit in the heap in the order they arrived and the key orders them by
-- sha, so the same read through the heap visits a page per commit.
ALTER TABLE changes DROP CONSTRAINT changes_pkey;
ALTER TABLE changes ADD PRIMARY KEY (service, change_id) INCLUDE (time_created);
