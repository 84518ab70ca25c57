// Consume stage: the worker's Kafka group consumer.
//
// Offsets live in Postgres (ingest_offsets), written in the same transaction
// as the rows, so on every partition assignment this consumer asks the
// database where to start; Kafka's own committed offsets are only a hint for
// tools. Offsets Kafka no longer has are never skipped quietly
// (auto.offset.reset is "error"): they are reported as gaps.
//
// Threads: everything here runs on the one thread that calls poll_batch();
// rebalance callbacks run inside it too, so a batch never spans a rebalance.
#pragma once

#include "worker/batch.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fourkeys::worker {

struct ConsumerSettings {
  std::string brokers = "localhost:9092";
  std::string topic = "fourkeys.events.v1";
  std::string group_id = "fourkeys-worker";
  std::chrono::milliseconds session_timeout{6000};
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds reconnect_backoff_max{1000};
  std::chrono::milliseconds max_poll_interval{300000};
  // fetch.wait.max.ms: how long the broker may hold a fetch when it has
  // nothing new. The embedded broker holds it that long even when a message
  // arrives meanwhile, so it bounds the time from a webhook to its rows.
  std::chrono::milliseconds fetch_wait_max{20};
  std::map<std::string, std::string> extra;  // librdkafka properties, applied last
};

// Offsets Kafka no longer had: [from_offset, to_offset) were lost.
struct OffsetGap {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t from_offset = 0;
  std::int64_t to_offset = 0;
};

enum class GapPolicy {
  halt,      // stop consuming that partition; /readyz stays false until an operator acts
  continue_  // record the gap and go on from the oldest offset Kafka has
};

struct PartitionLag {
  std::int32_t partition = -1;
  std::int64_t lag = -1;  // high watermark - next offset to read; -1 unknown
};

class GroupConsumer {
 public:
  // Where to start each partition: partition -> next offset, from the
  // database. A partition missing from the map starts at the beginning.
  // Throws when the database cannot be reached.
  using OffsetLookup = std::function<std::map<std::int32_t, std::int64_t>(const std::vector<std::int32_t>&)>;
  // Called when a gap is found (from inside poll_batch).
  using GapReporter = std::function<void(const OffsetGap&)>;
  // Called when a partition ends before the offset the database stored for
  // it: the topic was recreated, or its broker lost the log (the embedded
  // broker keeps nothing across restarts). Every message the partition now
  // holds came after what the database has, so it is read from its start
  // (`start`), and the stored offset must be set back there: the stored
  // offsets only grow otherwise, and the next assignment would skip again.
  // Throws when the database cannot be reached.
  using OffsetReset = std::function<void(std::int32_t partition, std::int64_t stored, std::int64_t start)>;

  GroupConsumer(ConsumerSettings settings, GapPolicy policy, OffsetLookup lookup, GapReporter on_gap,
                OffsetReset on_reset);
  ~GroupConsumer();
  GroupConsumer(const GroupConsumer&) = delete;
  GroupConsumer& operator=(const GroupConsumer&) = delete;

  // Reads up to `max_messages`: waits at most `max_wait` for the first one,
  // then takes the messages that follow without a pause (a few ms apart at
  // most), so batches are large under load and small when traffic is light. Messages of partitions revoked while the
  // batch was being read are left out. Returns nothing while resync is
  // pending (see below).
  std::vector<ConsumedMessage> poll_batch(std::size_t max_messages, std::chrono::milliseconds max_wait);

  // After a failed batch (the database went away): stops fetching, and on
  // the next poll_batch, once `lookup` answers again, seeks every assigned
  // partition back to its stored offset and resumes. Messages read but not
  // stored are read again.
  void request_resync();
  bool resync_pending() const;

  // Tells Kafka how far the database has stored (asynchronous; a hint).
  void commit_hint(const std::map<std::int32_t, std::int64_t>& next_offsets);

  std::vector<std::int32_t> assignment() const;
  std::vector<PartitionLag> lag() const;
  // Messages Kafka holds beyond those polled, summed over the assigned
  // partitions, from the watermarks of the last fetches (asks Kafka
  // nothing): more than 0 means more messages are waiting.
  std::int64_t backlog() const;
  // Rebalances seen (assignments and revocations).
  std::uint64_t rebalances() const;

  // Leaves the group (revokes, without committing anything).
  void close();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fourkeys::worker
