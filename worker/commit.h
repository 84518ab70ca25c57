// Commit stage: records how far each partition is stored, in the batch's
// transaction, so rows and offsets commit together or not at all.
#pragma once

#include "worker/batch.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace fourkeys::worker {

// partition -> the offset after the last message of `batch` in it.
std::map<std::int32_t, std::int64_t> next_offsets(const std::vector<ConsumedMessage>& batch);

// Stores `offsets` for `topic`. An offset never moves backwards (a worker
// that replays older messages during a rebalance cannot undo a newer one).
void store_offsets(pqxx::transaction_base& tx, const std::string& topic, const std::map<std::int32_t, std::int64_t>& offsets);

// The stored next offsets of `partitions` (all of the topic's when empty).
std::map<std::int32_t, std::int64_t> load_offsets(pqxx::transaction_base& tx, const std::string& topic,
                                                  const std::vector<std::int32_t>& partitions);

// Sets the stored offset of a partition that was emptied and started again
// back to `start`, if it is still `stored` (another worker may have done it
// and stored more since). The only way a stored offset goes down.
void reset_offset(pqxx::transaction_base& tx, const std::string& topic, std::int32_t partition, std::int64_t stored,
                  std::int64_t start);

// Records a gap the consumer found (see consume.h). With `skip`, the stored
// offset moves past it too, so a restart does not stop at the same gap.
void record_gap(pqxx::transaction_base& tx, const std::string& topic, std::int32_t partition, std::int64_t from_offset,
                std::int64_t to_offset, bool skip);

}  // namespace fourkeys::worker
