#include "worker/commit.h"

#include "worker/pg_text.h"

#include <pqxx/pqxx>

namespace fourkeys::worker {

std::map<std::int32_t, std::int64_t> next_offsets(const std::vector<ConsumedMessage>& batch) {
  std::map<std::int32_t, std::int64_t> out;
  for (const auto& m : batch) {
    auto& next = out[m.partition];
    next = std::max(next, m.offset + 1);
  }
  return out;
}

void store_offsets(pqxx::transaction_base& tx, const std::string& topic, const std::map<std::int32_t, std::int64_t>& offsets) {
  if (offsets.empty()) return;
  std::vector<std::string> partitions, values;
  for (const auto& [p, o] : offsets) {
    partitions.push_back(std::to_string(p));
    values.push_back(std::to_string(o));
  }
  tx.exec_params(
      "INSERT INTO ingest_offsets (topic, partition, next_offset) "
      "SELECT $1, p, o FROM unnest($2::integer[], $3::bigint[]) AS t(p, o) "
      "ON CONFLICT (topic, partition) DO UPDATE SET "
      " next_offset = GREATEST(ingest_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()",
      topic, array_literal(partitions), array_literal(values));
}

std::map<std::int32_t, std::int64_t> load_offsets(pqxx::transaction_base& tx, const std::string& topic,
                                                  const std::vector<std::int32_t>& partitions) {
  std::vector<std::string> list;
  for (auto p : partitions) list.push_back(std::to_string(p));
  const pqxx::result rows =
      partitions.empty()
          ? tx.exec_params("SELECT partition, next_offset FROM ingest_offsets WHERE topic = $1", topic)
          : tx.exec_params(
                "SELECT partition, next_offset FROM ingest_offsets WHERE topic = $1 AND partition = ANY($2::integer[])",
                topic, array_literal(list));
  std::map<std::int32_t, std::int64_t> out;
  for (const auto& r : rows) out[r[0].as<std::int32_t>()] = r[1].as<std::int64_t>();
  return out;
}

void reset_offset(pqxx::transaction_base& tx, const std::string& topic, std::int32_t partition, std::int64_t stored,
                  std::int64_t start) {
  tx.exec_params(
      "UPDATE ingest_offsets SET next_offset = $4, updated_at = now() "
      "WHERE topic = $1 AND partition = $2 AND next_offset = $3",
      topic, partition, stored, start);
}

void record_gap(pqxx::transaction_base& tx, const std::string& topic, std::int32_t partition, std::int64_t from_offset,
                std::int64_t to_offset, bool skip) {
  tx.exec_params(
      "INSERT INTO ingest_gaps (topic, partition, from_offset, to_offset) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (topic, partition, from_offset) DO UPDATE SET to_offset = GREATEST(ingest_gaps.to_offset, "
      "EXCLUDED.to_offset)",
      topic, partition, from_offset, to_offset);
  if (skip) store_offsets(tx, topic, {{partition, to_offset}});
}

}  // namespace fourkeys::worker
