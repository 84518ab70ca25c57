#include "worker/rebuild.h"

#include "common/log.h"
#include "worker/apply.h"
#include "worker/decode.h"
#include "worker/materialize.h"

#include <pqxx/pqxx>

namespace fourkeys::worker {
namespace {

constexpr int kEventChunk = 5000;
constexpr std::size_t kServiceChunk = 200;

}  // namespace

RebuildStats rebuild_all(pqxx::connection_base& connection, const LinkSettings& settings,
                         const RebuildProgress& progress) {
  RebuildStats stats;
  pqxx::work tx(connection);
  // Same lock order as a batch (events_raw first), so the two cannot deadlock.
  tx.exec("LOCK TABLE events_raw IN SHARE MODE");
  tx.exec(
      "TRUNCATE changes, pushes, deployment_events, incident_events, service_teams, "
      "deployment_attempts, deployment_changes, incidents, metrics_daily");
  const std::size_t total = tx.exec("SELECT count(*) FROM events_raw")[0][0].as<std::size_t>();
  if (progress) progress(0, total);

  tx.exec("DECLARE rebuild_events NO SCROLL CURSOR FOR SELECT envelope::text FROM events_raw ORDER BY id");
  for (;;) {
    const pqxx::result rows = tx.exec("FETCH " + std::to_string(kEventChunk) + " FROM rebuild_events");
    if (rows.empty()) break;
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
  }
  tx.exec("CLOSE rebuild_events");

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
