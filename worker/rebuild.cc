#include "worker/rebuild.h"

#include "common/log.h"
#include "worker/apply.h"
#include "worker/decode.h"
#include "worker/materialize.h"

#include <pqxx/pqxx>

#include <functional>
#include <unordered_set>

namespace fourkeys::worker {
namespace {

constexpr int kEventChunk = 5000;
constexpr std::size_t kServiceChunk = 200;

// Runs `each` on the rows of `query` a chunk at a time, read through a
// cursor so that only one chunk is held in memory.
void for_each_chunk(pqxx::work& tx, const std::string& query, const std::function<void(const pqxx::result&)>& each) {
  tx.exec("DECLARE rebuild_rows NO SCROLL CURSOR FOR " + query);
  for (;;) {
    const pqxx::result rows = tx.exec("FETCH " + std::to_string(kEventChunk) + " FROM rebuild_rows");
    if (rows.empty()) break;
    each(rows);
  }
  tx.exec("CLOSE rebuild_rows");
}

// Replaces events_raw's envelopes by what `renormalizer` makes of each
// stored delivery, with their base rows. The rows being read are moved to a
// temporary table first, so that new envelopes with the old ids can go in.
void renormalize_events(pqxx::work& tx, const DeliveryRenormalizer& renormalizer, RebuildStats& stats,
                        std::size_t total, const RebuildProgress& progress) {
  tx.exec(
      "CREATE TEMP TABLE rebuild_source ON COMMIT DROP AS "
      "SELECT id, envelope::text AS envelope, kafka_topic, kafka_partition, kafka_offset FROM events_raw");
  tx.exec("DELETE FROM events_raw");
  // The parts of a split delivery each hold the whole delivery: normalize
  // it once.
  std::unordered_set<std::string> split_done;
  std::size_t read = 0;
  const char* query = "SELECT envelope, kafka_topic, kafka_partition, kafka_offset FROM rebuild_source ORDER BY id";
  for_each_chunk(tx, query, [&](const pqxx::result& rows) {
    std::vector<ConsumedMessage> messages;
    messages.reserve(rows.size());
    for (const auto& row : rows) {
      const std::string_view stored(row[0].c_str(), row[0].size());
      Renormalized result;
      try {
        result = renormalizer.renormalize(stored);
      } catch (const std::exception& e) {
        // Not this version's envelope: keep it as it is rather than lose it.
        log::warn("stored event cannot be normalized again; kept as stored", {{"reason", e.what()}});
        result.outcome = Renormalized::Outcome::kept;
        result.envelopes = {std::string(stored)};
      }
      if (result.envelopes.size() > 1 || result.stored_part) {
        if (!split_done.insert(result.delivery_id).second) continue;
      }
      switch (result.outcome) {
        case Renormalized::Outcome::renormalized: ++stats.renormalized; break;
        case Renormalized::Outcome::kept: ++stats.kept; break;
        case Renormalized::Outcome::dropped:
          ++stats.dropped;
          log::warn("stored delivery would no longer be published; left out",
                    {{"delivery", result.delivery_id}, {"reason", result.reason}});
          break;
      }
      for (auto& text : result.envelopes) {
        ConsumedMessage& m = messages.emplace_back();
        m.topic = row[1].is_null() ? std::string() : row[1].c_str();
        m.partition = row[2].is_null() ? -1 : row[2].as<std::int32_t>();
        m.offset = row[3].is_null() ? -1 : row[3].as<std::int64_t>();
        m.value = std::move(text);
      }
    }
    std::vector<BatchEvent> events;
    events.reserve(messages.size());
    for (const ConsumedMessage& m : messages) {
      auto decoded = decode_envelope(m.value);
      if (auto* error = std::get_if<DecodeError>(&decoded)) {
        ++stats.undecodable;
        log::warn("normalized event cannot be decoded; left out of the rebuild", {{"reason", error->reason}});
        continue;
      }
      events.push_back(BatchEvent{&m, std::move(std::get<DecodedEvent>(decoded))});
    }
    stats.events += apply_events(tx, events).stored;
    read += rows.size();
    if (progress) progress(read, total);
  });
}

// Writes the base rows of every stored event.
void rederive_base_rows(pqxx::work& tx, RebuildStats& stats, std::size_t total, const RebuildProgress& progress) {
  for_each_chunk(tx, "SELECT envelope::text FROM events_raw ORDER BY id", [&](const pqxx::result& rows) {
    std::vector<DecodedEvent> events;
    events.reserve(rows.size());
    for (const auto& row : rows) {
      auto decoded = decode_envelope(std::string_view(row[0].c_str(), row[0].size()));
      if (auto* error = std::get_if<DecodeError>(&decoded)) {
        ++stats.undecodable;
        log::warn("stored event cannot be decoded; left out of the rebuild", {{"reason", error->reason}});
        continue;
      }
      events.push_back(std::move(std::get<DecodedEvent>(decoded)));
    }
    std::vector<const DecodedEvent*> pointers;
    pointers.reserve(events.size());
    for (const auto& e : events) pointers.push_back(&e);
    write_base_rows(tx, pointers);
    stats.events += rows.size();
    if (progress) progress(stats.events, total);
  });
}

}  // namespace

RebuildStats rebuild_all(pqxx::connection_base& connection, const LinkSettings& settings,
                         const RebuildProgress& progress, const DeliveryRenormalizer* renormalizer) {
  RebuildStats stats;
  pqxx::work tx(connection);
  // Same lock order as a batch (events_raw first), so the two cannot
  // deadlock. SHARE lets readers of events_raw go on; rewriting it takes
  // EXCLUSIVE, which still lets them read.
  tx.exec(renormalizer ? "LOCK TABLE events_raw IN EXCLUSIVE MODE" : "LOCK TABLE events_raw IN SHARE MODE");
  tx.exec(
      "TRUNCATE change_reports, pushes, deployment_events, incident_events, service_teams, "
      "deployment_attempts, deployment_change_sets, incidents, metrics_daily");
  const std::size_t total = tx.exec("SELECT count(*) FROM events_raw")[0][0].as<std::size_t>();
  if (progress) progress(0, total);
  if (renormalizer) {
    renormalize_events(tx, *renormalizer, stats, total, progress);
  } else {
    rederive_base_rows(tx, stats, total, progress);
  }

  std::vector<std::string> services;
  for (const auto& row : tx.exec("SELECT DISTINCT service FROM events_raw ORDER BY service")) {
    services.emplace_back(row[0].c_str());
  }
  Materializer materializer(settings, nullptr);
  for (std::size_t i = 0; i < services.size(); i += kServiceChunk) {
    std::vector<std::string> chunk(services.begin() + static_cast<std::ptrdiff_t>(i),
                                   services.begin() + static_cast<std::ptrdiff_t>(std::min(i + kServiceChunk, services.size())));
    materializer.run(tx, chunk, {}, ServiceLocks::held_elsewhere);
  }
  stats.services = services.size();
  tx.commit();
  return stats;
}

}  // namespace fourkeys::worker
