// fourkeys-worker: consumes the events topic, stores every event exactly
// once in Postgres and keeps the DORA tables up to date. Also
// `--migrate-only` (apply the schema and exit) and `--rebuild` (recompute
// every derived table from events_raw; with a service map or
// `--renormalize`, events_raw's deliveries are normalized again first).
// Every setting is a flag and an environment variable (--help lists both
// with defaults).

#include "common/http_server.h"
#include "common/kafka_producer.h"
#include "common/log.h"
#include "common/settings.h"
#include "worker/batch_loop.h"
#include "worker/batch_processor.h"
#include "worker/commit.h"
#include "worker/consume.h"
#include "worker/database.h"
#include "worker/http_endpoints.h"
#include "worker/read/dora_series.h"
#include "worker/read/query_pool.h"
#include "worker/read/read_endpoints.h"
#include "worker/kafka_dead_letters.h"
#include "worker/migrations.h"
#include "worker/rebuild.h"
#include "worker/renormalize.h"
#include "parser/service_map/service_map.h"
#include "worker/service_cache.h"
#include "worker/worker_metrics.h"

#include <CLI/CLI.hpp>
#include <pqxx/pqxx>

#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <malloc.h>
#include <thread>
#include <unistd.h>

namespace {

using namespace fourkeys;
using namespace fourkeys::worker;

std::chrono::milliseconds duration_option(const std::string& text, const std::string& name) {
  auto d = parse_duration(text);
  if (!d) throw CLI::ValidationError(name, "not a duration: " + text + " (use 500ms, 5s, 2m, 24h)");
  return *d;
}

// Connects and migrates, retrying while Postgres starts (docker-compose
// starts everything at once).
bool migrate_with_retry(Database& database, std::chrono::milliseconds give_up_after) {
  const auto deadline = std::chrono::steady_clock::now() + give_up_after;
  auto wait = std::chrono::milliseconds(200);
  for (;;) {
    try {
      const auto applied = apply_migrations(database.get());
      log::info("schema up to date", {{"migrations_applied", static_cast<int>(applied.size())}});
      return true;
    } catch (const std::exception& e) {
      database.reset();
      if (std::chrono::steady_clock::now() > deadline ||
          classify_database_error(e) != DatabaseErrorKind::unavailable) {
        log::error("cannot migrate the database", {{"error", describe_database_error(e)}});
        return false;
      }
      log::warn("postgres not reachable yet; retrying", {{"error", describe_database_error(e)}});
      std::this_thread::sleep_for(wait);
      wait = std::min(wait * 2, std::chrono::milliseconds(5000));
    }
  }
}

// Serves /metrics (with the rebuild's progress) while a rebuild runs, when
// the listen address is free (a worker on the same host may hold it).
std::unique_ptr<http::Server> rebuild_endpoints(const std::string& listen, WorkerEndpoints& endpoints) {
  try {
    http::ServerSettings settings;
    settings.listen = listen;
    settings.threads = 1;
    settings.server_name = "fourkeys-worker";
    return std::make_unique<http::Server>(settings, endpoints);
  } catch (const std::exception& e) {
    log::warn("rebuild progress is not served on /metrics: the listen address is taken",
              {{"listen", listen}, {"error", e.what()}});
    return nullptr;
  }
}

int run_rebuild(Database& database, const LinkSettings& link, const std::string& listen,
                const DeliveryRenormalizer* renormalizer) {
  const bool tty = isatty(STDERR_FILENO);
  const auto started = std::chrono::steady_clock::now();
  WorkerMetrics metrics;
  WorkerEndpoints endpoints([] { return Readiness{false, "rebuilding the derived tables"}; }, metrics);
  auto server = rebuild_endpoints(listen, endpoints);
  std::thread server_thread;
  if (server) server_thread = std::thread([&] { server->run(); });
  struct StopServer {
    std::unique_ptr<http::Server>& server;
    std::thread& thread;
    ~StopServer() {
      if (server) server->stop();
      if (thread.joinable()) thread.join();
    }
  } stop_server{server, server_thread};
  try {
    const RebuildStats stats = rebuild_all(database.get(), link, [&](std::size_t done, std::size_t total) {
      metrics.set_rebuild_progress(total ? static_cast<double>(done) / static_cast<double>(total) : 1.0);
      if (tty) {
        std::fprintf(stderr, "\rrebuild: %zu / %zu events (%.0f%%)   ", done, total,
                     total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0);
        std::fflush(stderr);
      }
    }, renormalizer);
    if (tty) std::fprintf(stderr, "\n");
    log::info("rebuild done", {{"events", static_cast<std::int64_t>(stats.events)},
                               {"services", static_cast<std::int64_t>(stats.services)},
                               {"undecodable", static_cast<std::int64_t>(stats.undecodable)},
                               {"renormalized", static_cast<std::int64_t>(stats.renormalized)},
                               {"kept_as_stored", static_cast<std::int64_t>(stats.kept)},
                               {"dropped", static_cast<std::int64_t>(stats.dropped)},
                               {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}});
    return 0;
  } catch (const std::exception& e) {
    log::error("rebuild failed; the tables are unchanged", {{"error", describe_database_error(e)}});
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // With glibc's malloc (a build without tcmalloc; tcmalloc takes and
  // ignores these settings, ASan's allocator refuses them):
  // a batch's buffers (its messages, COPY data, decoded rows) are a few MB
  // each, allocated and freed once per batch. Above glibc's mmap threshold
  // each was a fresh mapping whose pages faulted in again every batch; kept
  // in the heap (32 MiB is the largest threshold glibc takes), the next
  // batch reuses them. The heap is trimmed every few seconds instead
  // (BatchLoop), so memory stays flat.
  if (mallopt(M_MMAP_THRESHOLD, 32 << 20) != 1 || mallopt(M_TRIM_THRESHOLD, 128 << 20) != 1) {
    std::fprintf(stderr, "fourkeys-worker: glibc refused the heap settings; going on with its defaults\n");
  }
  CLI::App app{"fourkeys-worker: stores DORA events from Kafka in Postgres and keeps the metric tables"};
  std::string database_url = "postgresql://localhost/fourkeys";
  std::string listen = "0.0.0.0:8090";
  ConsumerSettings consumer_settings;
  std::string deadletter_topic = "fourkeys.deadletter.v1";
  LoopSettings loop_settings;
  std::string batch_wait = "200ms", attribution_window = "24h", session_timeout = "6s", heartbeat = "1s",
              reconnect_backoff_max = "1s", ack_timeout = "5s", migrate_timeout = "60s", fetch_wait = "20ms";
  std::string on_gap = "halt";
  double cache_mb = 64;
  std::string keep_linked = "6h";
  LinkSettings link;
  int read_connections = 2;
  std::string dora_series_refresh = "15s";
  std::vector<std::string> kafka_properties;
  bool migrate_only = false, rebuild = false;
  std::string log_level = "info";
  std::string port_file;

  app.add_option("--database-url", database_url, "Postgres connection URI (may hold a password; never logged)")
      ->envname("FOURKEYS_DATABASE_URL")->capture_default_str();
  app.add_option("--listen", listen,
                 "host:port for the read API, the dashboard page, /healthz, /readyz and /metrics (port 0 picks one)")
      ->envname("FOURKEYS_WORKER_LISTEN")->capture_default_str();
  app.add_option("--kafka-brokers", consumer_settings.brokers, "Kafka bootstrap servers")
      ->envname("FOURKEYS_KAFKA_BROKERS")->capture_default_str();
  app.add_option("--events-topic", consumer_settings.topic)->envname("FOURKEYS_EVENTS_TOPIC")->capture_default_str();
  app.add_option("--deadletter-topic", deadletter_topic)->envname("FOURKEYS_DEADLETTER_TOPIC")->capture_default_str();
  app.add_option("--group-id", consumer_settings.group_id, "Kafka consumer group")
      ->envname("FOURKEYS_WORKER_GROUP")->capture_default_str();
  app.add_option("--batch-size", loop_settings.batch_size, "most messages per batch (one transaction)")
      ->envname("FOURKEYS_WORKER_BATCH_SIZE")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--batch-wait", batch_wait, "longest wait to fill a batch")
      ->envname("FOURKEYS_WORKER_BATCH_WAIT")->capture_default_str();
  app.add_option("--attribution-window", attribution_window,
                 "an incident without a root cause counts against the last deployment this long before it; 0 = off")
      ->envname("FOURKEYS_ATTRIBUTION_WINDOW")->capture_default_str();
  app.add_option("--on-gap", on_gap,
                 "when Kafka no longer has offsets not yet stored: halt (stop that partition, /readyz false) "
                 "or continue (record the gap in ingest_gaps and go on)")
      ->envname("FOURKEYS_WORKER_ON_GAP")->capture_default_str()->check(CLI::IsMember({"halt", "continue"}));
  app.add_option("--cache-mb", cache_mb,
                 "MiB of service histories, derived rows and linking state kept in memory between batches (0 = none)")
      ->envname("FOURKEYS_WORKER_CACHE_MB")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--keep-linked", keep_linked,
                 "how much of each service's recent past (before its latest deployment) its cached state keeps; "
                 "older rows are final, and an event that would change them makes the worker read the service "
                 "from Postgres again")
      ->envname("FOURKEYS_WORKER_KEEP_LINKED")->capture_default_str();
  app.add_option("--prune-at", link.prune_at_deployments,
                 "a cached state forgets its older part once this many of its deployments are older than it keeps")
      ->envname("FOURKEYS_WORKER_PRUNE_AT")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--read-connections", read_connections,
                 "Postgres connections (and threads) answering the read API; queries beyond them wait in a queue")
      ->envname("FOURKEYS_READ_CONNECTIONS")->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--dora-series-refresh", dora_series_refresh,
                 "how often the DORA series on /metrics are read from the metric tables")
      ->envname("FOURKEYS_DORA_SERIES_REFRESH")->capture_default_str();
  app.add_option("--session-timeout", session_timeout, "Kafka consumer session.timeout.ms")
      ->envname("FOURKEYS_KAFKA_SESSION_TIMEOUT")->capture_default_str();
  app.add_option("--heartbeat-interval", heartbeat, "Kafka consumer heartbeat.interval.ms")
      ->envname("FOURKEYS_KAFKA_HEARTBEAT_INTERVAL")->capture_default_str();
  app.add_option("--reconnect-backoff-max", reconnect_backoff_max, "Kafka reconnect.backoff.max.ms")
      ->envname("FOURKEYS_KAFKA_RECONNECT_BACKOFF_MAX")->capture_default_str();
  app.add_option("--kafka-fetch-wait", fetch_wait, "Kafka consumer fetch.wait.max.ms (bounds webhook-to-row time)")
      ->envname("FOURKEYS_KAFKA_FETCH_WAIT")->capture_default_str();
  app.add_option("--kafka-ack-timeout", ack_timeout, "longest wait for Kafka to take a dead letter")
      ->envname("FOURKEYS_KAFKA_ACK_TIMEOUT")->capture_default_str();
  app.add_option("--kafka-property", kafka_properties, "extra librdkafka property name=value (repeatable)")
      ->envname("FOURKEYS_KAFKA_PROPERTIES")->delimiter(',');
  app.add_option("--migrate-timeout", migrate_timeout, "how long to wait for Postgres at start")
      ->envname("FOURKEYS_MIGRATE_TIMEOUT")->capture_default_str();
  app.add_flag("--migrate-only", migrate_only, "apply the schema migrations and exit");
  app.add_flag("--rebuild", rebuild, "recompute every derived table from events_raw and exit");
  bool pipeline = true;
  app.add_option("--pipeline", pipeline,
                 "under a backlog, apply the next batch on a second Postgres connection while one is linked "
                 "and written (true/false)")
      ->envname("FOURKEYS_WORKER_PIPELINE")->capture_default_str();
  bool renormalize = false;
  app.add_flag("--renormalize", renormalize,
               "with --rebuild: normalize every stored delivery again (done anyway when a service map is set)");
  RenormalizeSettings renormalize_settings;
  std::string service_map_path, deploy_workflows;
  app.add_option("--service-map", service_map_path,
                 "the receiver's service map; --rebuild re-derives services, teams and environments with it")
      ->envname("FOURKEYS_SERVICE_MAP");
  app.add_option("--incident-label", renormalize_settings.incident_label,
                 "as the receiver's, for --rebuild with a service map or --renormalize")
      ->envname("FOURKEYS_INCIDENT_LABEL")->capture_default_str();
  app.add_option("--github-deploy-workflows", deploy_workflows,
                 "as the receiver's, for --rebuild with a service map or --renormalize")
      ->envname("FOURKEYS_GITHUB_DEPLOY_WORKFLOWS");
  app.add_option("--log-level", log_level, "debug, info, warn, error")
      ->envname("FOURKEYS_LOG_LEVEL")->capture_default_str();
  app.add_option("--port-file", port_file, "write the bound HTTP port to this file once listening");
  CLI11_PARSE(app, argc, argv);

  log::init("fourkeys-worker", log::parse_level(log_level));
  // Replaced by FOURKEYS_WORKER_CACHE_MB: rows did not bound the linking
  // state, which was most of the memory.
  if (const char* rows = std::getenv("FOURKEYS_WORKER_CACHE_ROWS"); rows && *rows) {
    log::warn("FOURKEYS_WORKER_CACHE_ROWS is no longer read; the cache is bounded by FOURKEYS_WORKER_CACHE_MB",
              {{"cache_mb", cache_mb}});
  }
  std::chrono::milliseconds ack{5000}, migrate_wait{60000}, series_refresh{15000};
  std::map<std::string, std::string> extra;
  try {
    loop_settings.batch_wait = duration_option(batch_wait, "--batch-wait");
    link.attribution_window = duration_option(attribution_window, "--attribution-window").count();
    link.keep_linked = duration_option(keep_linked, "--keep-linked").count();
    consumer_settings.session_timeout = duration_option(session_timeout, "--session-timeout");
    consumer_settings.heartbeat_interval = duration_option(heartbeat, "--heartbeat-interval");
    consumer_settings.reconnect_backoff_max = duration_option(reconnect_backoff_max, "--reconnect-backoff-max");
    ack = duration_option(ack_timeout, "--kafka-ack-timeout");
    consumer_settings.fetch_wait_max = duration_option(fetch_wait, "--kafka-fetch-wait");
    migrate_wait = duration_option(migrate_timeout, "--migrate-timeout");
    series_refresh = duration_option(dora_series_refresh, "--dora-series-refresh");
    for (const auto& prop : kafka_properties) {
      const auto eq = prop.find('=');
      if (eq == std::string::npos) throw CLI::ValidationError("--kafka-property", "entries must be name=value");
      extra[prop.substr(0, eq)] = prop.substr(eq + 1);
    }
  } catch (const CLI::Error& e) {
    return app.exit(e);
  }
  consumer_settings.extra = extra;

  Database database(database_url);
  if (!migrate_with_retry(database, migrate_wait)) return 1;
  if (migrate_only) return 0;
  if (rebuild) {
    if (!service_map_path.empty() || renormalize) {
      try {
        if (!service_map_path.empty()) renormalize_settings.service_map = parser::ServiceMap::load_file(service_map_path);
      } catch (const parser::ServiceMapError& e) {
        log::error("service map refused", {{"error", e.what()}});
        return 1;
      }
      renormalize_settings.deploy_workflows = parser::parse_deploy_workflows(deploy_workflows);
      const DeliveryRenormalizer renormalizer(renormalize_settings);
      return run_rebuild(database, link, listen, &renormalizer);
    }
    return run_rebuild(database, link, listen, nullptr);
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    ProducerSettings producer_settings;
    producer_settings.brokers = consumer_settings.brokers;
    producer_settings.ack_timeout = ack;
    producer_settings.expected_topics = {{deadletter_topic, 1}};
    producer_settings.extra = extra;
    EventProducer producer(producer_settings);
    KafkaDeadLetterSink dead_letters(producer, deadletter_topic, ack);
    WorkerMetrics metrics;
    const auto cache_bytes = static_cast<std::size_t>(cache_mb * 1024 * 1024);
    ServiceCache cache(cache_bytes);
    // Batches are written on `database` and, pipelined, on `ahead_database`;
    // the consumer's callbacks and readiness checks use `control_database`,
    // free whenever a pipelined batch's transaction is open.
    Database ahead_database(database_url);
    Database control_database(database_url);
    BatchProcessor processor(database, dead_letters, link, cache_bytes > 0 ? &cache : nullptr,
                             pipeline ? &ahead_database : nullptr);

    const GapPolicy policy = on_gap == "halt" ? GapPolicy::halt : GapPolicy::continue_;
    BatchLoop* loop_ptr = nullptr;
    GroupConsumer consumer(
        consumer_settings, policy,
        [&](const std::vector<std::int32_t>& partitions) {
          pqxx::work tx(control_database.get());
          auto offsets = load_offsets(tx, consumer_settings.topic, partitions);
          tx.commit();
          return offsets;
        },
        [&](const OffsetGap& gap) {
          try {
            pqxx::work tx(control_database.get());
            record_gap(tx, gap.topic, gap.partition, gap.from_offset, gap.to_offset,
                       policy == GapPolicy::continue_);
            tx.commit();
          } catch (const std::exception& e) {
            log::error("cannot record the gap in ingest_gaps", {{"error", describe_database_error(e)}});
          }
          if (loop_ptr) loop_ptr->gap_found(gap, policy == GapPolicy::halt);
        },
        [&](std::int32_t partition, std::int64_t stored, std::int64_t start) {
          pqxx::work tx(control_database.get());
          reset_offset(tx, consumer_settings.topic, partition, stored, start);
          tx.commit();
        });
    BatchLoop loop(loop_settings, control_database, consumer, processor, metrics);
    loop_ptr = &loop;

    QueryPool::Settings pool_settings;
    pool_settings.database_url = database_url;
    pool_settings.connections = read_connections;
    QueryPool read_pool(pool_settings);
    ReadEndpoints read_endpoints(read_pool);
    DoraSeriesExposer dora_series(database_url, series_refresh);
    WorkerEndpoints endpoints([&loop] { return loop.readiness(); }, metrics, &read_endpoints, &dora_series);
    http::ServerSettings server_settings;
    server_settings.listen = listen;
    server_settings.threads = 1;
    server_settings.body_limit = 64 * 1024;
    server_settings.server_name = "fourkeys-worker";
    http::Server server(server_settings, endpoints);
    if (!port_file.empty()) std::ofstream(port_file) << server.port() << "\n";
    std::thread http_thread([&] { server.run(); });
    log::info("consuming", {{"topic", consumer_settings.topic}, {"group", consumer_settings.group_id},
                            {"kafka", consumer_settings.brokers}, {"listen", listen}, {"port", server.port()},
                            {"heap", heap_allocator()}});

    std::thread signal_thread([&] {
      int sig = 0;
      sigwait(&stop_signals, &sig);
      log::info("stopping: finishing the current batch", {{"signal", sig}});
      loop.stop();
    });
    loop.run();
    consumer.close();
    server.stop();
    http_thread.join();
    producer.shutdown();
    signal_thread.join();
    log::info("stopped");
  } catch (const std::exception& e) {
    log::error("fatal", {{"error", e.what()}});
    return 1;
  }
  return 0;
}
