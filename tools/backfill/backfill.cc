#include "tools/backfill/backfill.h"

#include "common/log.h"
#include "parser/envelope.h"
#include "parser/server/kafka_record.h"

#include <atomic>
#include <mutex>
#include <ostream>
#include <thread>

namespace fourkeys::backfill {

namespace {

// Envelopes waiting for Kafka at once; beyond this the walk waits, so a long
// history never fills the producer's queue (a full queue would be a failure).
constexpr std::size_t kMaxInFlight = 10'000;

// Failed deliveries logged one by one; the rest are only counted.
constexpr std::uint64_t kLoggedFailures = 20;

}  // namespace

IncidentWalker::IncidentWalker(WalkSettings settings, Fetch fetch, Sleep sleep, Clock clock)
    : settings_(std::move(settings)), fetch_(std::move(fetch)), sleep_(std::move(sleep)), clock_(std::move(clock)) {}

bool IncidentWalker::run(const std::function<void(const boost::json::object&)>& on_incident, std::string& error) {
  for (const TimeWindow& window : split_windows(settings_.since, settings_.until)) {
    if (!walk_window(window, on_incident, error)) return false;
  }
  return true;
}

bool IncidentWalker::walk_window(TimeWindow window,
                                 const std::function<void(const boost::json::object&)>& on_incident,
                                 std::string& error) {
  IncidentQuery query;
  query.service_ids = settings_.service_ids;
  query.statuses = settings_.statuses;
  query.window = window;
  query.limit = settings_.page_size;
  std::optional<EpochMillis> last_created;
  for (;;) {
    if (query.offset > 0 && query.offset + query.limit > kMaxOffsetPlusLimit) {
      // Pages are sorted by creation, so the rest of the window starts at
      // the last creation time seen; incidents met twice are skipped below.
      if (!last_created || *last_created <= query.window.since) {
        error = "more than " + std::to_string(kMaxOffsetPlusLimit) + " incidents created at " +
                format_time(query.window.since) + ": PagerDuty's paging cannot reach them all";
        return false;
      }
      query.window.since = *last_created;
      query.offset = 0;
      log::info("paging limit reached; continuing the window from the last incident's creation",
                {{"since", format_time(query.window.since)}, {"until", format_time(query.window.until)}});
    }
    IncidentPage page;
    if (!fetch_page(query, page, error)) return false;
    ++stats_.pages;
    log::info("incidents page", {{"since", format_time(query.window.since)},
                                 {"until", format_time(query.window.until)},
                                 {"offset", query.offset},
                                 {"incidents", static_cast<std::int64_t>(page.incidents.size())},
                                 {"more", page.more}});
    for (const auto& incident : page.incidents) {
      if (const auto created = time_member(incident, "created_at"); created && (!last_created || *created > *last_created)) {
        last_created = created;
      }
      const std::string id = incident_id(incident);
      if (!id.empty() && !seen_.insert(id).second) continue;
      ++stats_.incidents;
      on_incident(incident);
    }
    // An empty page that claims more would page forever.
    if (!page.more || page.incidents.empty()) return true;
    query.offset += static_cast<std::int64_t>(page.incidents.size());
  }
}

bool IncidentWalker::fetch_page(const IncidentQuery& query, IncidentPage& page, std::string& error) {
  const std::string target = incidents_target(settings_.base_path, query);
  const auto headers = api_headers(settings_.token);
  const std::string what = "GET /incidents (since " + format_time(query.window.since) + ", offset " +
                           std::to_string(query.offset) + ")";
  for (int attempt = 1;; ++attempt) {
    HttpAnswer answer;
    std::string failure;
    try {
      answer = fetch_(target, headers);
    } catch (const PermanentHttpError& e) {
      error = what + " failed: " + e.what();
      return false;
    } catch (const std::exception& e) {
      answer = HttpAnswer{};
      failure = e.what();
    }
    if (answer.status >= 200 && answer.status < 300) {
      auto parsed = parse_incident_page(answer.body, error);
      if (!parsed) {
        error = what + ": " + error;
        return false;
      }
      page = std::move(*parsed);
      return true;
    }
    if (failure.empty()) {
      failure = "HTTP " + std::to_string(answer.status) + ": " + describe_error_body(answer.body);
    }
    const auto delay = retry_delay(answer.status, answer.headers, attempt, settings_.retry, clock_());
    if (!delay) {
      error = what + " failed (attempt " + std::to_string(attempt) + "): " + failure;
      return false;
    }
    ++stats_.retries;
    log::warn("PagerDuty API did not answer with a page; retrying",
              {{"status", answer.status},
               {"attempt", attempt},
               {"retry_in_ms", static_cast<std::int64_t>(delay->count())},
               {"error", failure}});
    sleep_(*delay);
  }
}

namespace {

// Delivery reports, written on the producer's poll thread.
struct Deliveries {
  std::atomic<std::uint64_t> acknowledged{0};
  std::atomic<std::uint64_t> failed{0};
};

}  // namespace

int run_backfill(const RunSettings& settings, std::ostream& out) {
  Deliveries deliveries;  // outlives the producer, whose callbacks write it
  std::unique_ptr<EventProducer> producer;
  if (!settings.dry_run) {
    producer = std::make_unique<EventProducer>(settings.producer);
    const KafkaHealth health = producer->check_now(std::chrono::milliseconds(10000));
    if (!health.metadata_ok || !health.topics_ok) {
      log::error("kafka is not ready; nothing was fetched", {{"detail", health.detail}});
      producer->shutdown();
      return 1;
    }
  }

  HttpGetter getter(settings.endpoint, settings.http_timeout);
  IncidentWalker walker(
      settings.walk,
      [&](const std::string& target, const std::vector<std::pair<std::string, std::string>>& headers) {
        return getter.get(target, headers);
      },
      [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }, [] { return now_millis(); });

  std::uint64_t envelopes = 0, problems = 0;
  const auto on_incident = [&](const boost::json::object& incident) {
    IncidentEnvelopes mapped = incident_envelopes(incident, now_millis());
    for (const auto& problem : mapped.problems) {
      ++problems;
      log::error("incident not fully mapped", {{"problem", problem}});
    }
    for (BackfillEnvelope& e : mapped.envelopes) {
      ++envelopes;
      if (settings.dry_run) {
        out << parser::serialize_envelope(e.envelope, e.body) << '\n';
        continue;
      }
      while (producer->in_flight() >= kMaxInFlight) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      producer->produce(parser::event_record(e.envelope, settings.topic, e.body),
                        [&deliveries, id = e.envelope.id](const DeliveryResult& r) {
                          if (r.status == DeliveryStatus::delivered) {
                            deliveries.acknowledged.fetch_add(1);
                            return;
                          }
                          if (deliveries.failed.fetch_add(1) < kLoggedFailures) {
                            log::error("kafka did not take an envelope", {{"id", id}, {"error", r.error}});
                          }
                        });
    }
  };

  std::string error;
  const bool walked = walker.run(on_incident, error);
  if (!walked) log::error("stopped fetching incidents", {{"error", error}});
  if (settings.dry_run) out.flush();

  bool flushed = true;
  if (producer) {
    flushed = producer->flush(settings.producer.ack_timeout + std::chrono::seconds(5));
    // Every delivery report has run once this returns.
    producer->shutdown();
  }
  const std::uint64_t acknowledged = deliveries.acknowledged.load();
  const std::uint64_t unacknowledged = settings.dry_run ? 0 : envelopes - acknowledged;
  const bool ok = walked && problems == 0 && unacknowledged == 0 && flushed;
  const WalkStats& stats = walker.stats();
  log::write(ok ? log::Level::info : log::Level::error, ok ? "backfill done" : "backfill incomplete",
             {{"pages", stats.pages},
              {"retries", stats.retries},
              {"incidents", stats.incidents},
              {"envelopes", envelopes},
              {settings.dry_run ? "printed" : "published", settings.dry_run ? envelopes : acknowledged},
              {"not_published", unacknowledged},
              {"incident_problems", problems},
              {"fetch_complete", walked}});
  return ok ? 0 : 1;
}

}  // namespace fourkeys::backfill
