// fourkeys-backfill: reads incident history from PagerDuty's REST API and
// publishes it on the events topic as the envelopes PagerDuty's webhooks
// would have given, so incidents from before the webhooks were set up count
// too. Every setting is a flag and an environment variable (--help lists
// both with defaults).

#include "common/log.h"
#include "common/settings.h"
#include "tools/backfill/backfill.h"

#include <CLI/CLI.hpp>

#include <iostream>

namespace {

using namespace fourkeys;
using namespace fourkeys::backfill;

std::chrono::milliseconds duration_option(const std::string& text, const std::string& name) {
  auto d = parse_duration(text);
  if (!d || d->count() < 0) throw CLI::ValidationError(name, "not a duration: " + text + " (use 500ms, 5s, 2m)");
  return *d;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fourkeys-backfill: publishes PagerDuty incident history as fourkeys envelopes"};
  std::string api_url = "https://api.pagerduty.com";
  std::string token, token_file;
  std::vector<std::string> service_ids;
  std::string since, until;
  std::string statuses = "resolved,acknowledged,triggered";
  std::int64_t page_size = 100;
  int max_attempts = 8;
  std::string retry_base = "1s", http_timeout = "30s";
  std::string brokers = "localhost:9092";
  std::string topic = "fourkeys.events.v1";
  std::string ack_timeout = "30s";
  std::string compression = "lz4";
  std::vector<std::string> kafka_properties;
  bool dry_run = false;
  std::string log_level = "info";

  app.add_option("--api-url", api_url, "PagerDuty REST API base URL (http:// only for local fakes)")
      ->envname("FOURKEYS_PAGERDUTY_API_URL")->capture_default_str();
  app.add_option("--token", token, "PagerDuty REST API key (read-only is enough; never logged)")
      ->envname("FOURKEYS_PAGERDUTY_API_TOKEN");
  app.add_option("--token-file", token_file, "file holding the PagerDuty REST API key")
      ->envname("FOURKEYS_PAGERDUTY_API_TOKEN_FILE");
  app.add_option("--service-id", service_ids, "PagerDuty service id to read (repeatable; none = every service)")
      ->envname("FOURKEYS_BACKFILL_SERVICE_IDS")->delimiter(',');
  app.add_option("--since", since, "start of the range, by incident creation: RFC 3339 or YYYY-MM-DD")
      ->envname("FOURKEYS_BACKFILL_SINCE")->required();
  app.add_option("--until", until, "end of the range (exclusive; a date includes its day); default now")
      ->envname("FOURKEYS_BACKFILL_UNTIL");
  app.add_option("--statuses", statuses, "incident statuses to read, comma-separated")
      ->envname("FOURKEYS_BACKFILL_STATUSES")->capture_default_str();
  app.add_option("--page-size", page_size, "incidents per request (PagerDuty allows at most 100)")
      ->envname("FOURKEYS_BACKFILL_PAGE_SIZE")->capture_default_str()->check(CLI::Range(1, 100));
  app.add_option("--max-attempts", max_attempts, "requests per page before giving up (429, 5xx, network errors)")
      ->envname("FOURKEYS_BACKFILL_MAX_ATTEMPTS")->capture_default_str()->check(CLI::Range(1, 100));
  app.add_option("--retry-base", retry_base,
                 "first backoff when the API gives no Retry-After / ratelimit-reset; doubles up to 60s")
      ->envname("FOURKEYS_BACKFILL_RETRY_BASE")->capture_default_str();
  app.add_option("--http-timeout", http_timeout, "longest time for one API request")
      ->envname("FOURKEYS_BACKFILL_HTTP_TIMEOUT")->capture_default_str();
  app.add_option("--kafka-brokers", brokers, "Kafka bootstrap servers")
      ->envname("FOURKEYS_KAFKA_BROKERS")->capture_default_str();
  app.add_option("--events-topic", topic)->envname("FOURKEYS_EVENTS_TOPIC")->capture_default_str();
  app.add_option("--kafka-ack-timeout", ack_timeout, "longest wait for Kafka to acknowledge an envelope")
      ->envname("FOURKEYS_KAFKA_ACK_TIMEOUT")->capture_default_str();
  app.add_option("--kafka-compression", compression, "lz4, zstd, snappy, gzip or none")
      ->envname("FOURKEYS_KAFKA_COMPRESSION")->capture_default_str();
  app.add_option("--kafka-property", kafka_properties, "extra librdkafka property name=value (repeatable)")
      ->envname("FOURKEYS_KAFKA_PROPERTIES")->delimiter(',');
  app.add_flag("--dry-run", dry_run, "print the envelopes as JSON lines on stdout instead of publishing them");
  app.add_option("--log-level", log_level, "debug, info, warn, error")
      ->envname("FOURKEYS_LOG_LEVEL")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  log::init("fourkeys-backfill", log::parse_level(log_level));
  RunSettings run;
  try {
    std::string error;
    if (!parse_endpoint(api_url, run.endpoint, error)) throw CLI::ValidationError("--api-url", error);
    run.walk.base_path = run.endpoint.base_path;
    const auto from = parse_range_argument(since, false);
    if (!from) throw CLI::ValidationError("--since", "not RFC 3339 or YYYY-MM-DD: " + since);
    const auto to = until.empty() ? std::optional<EpochMillis>(now_millis()) : parse_range_argument(until, true);
    if (!to) throw CLI::ValidationError("--until", "not RFC 3339 or YYYY-MM-DD: " + until);
    if (*from >= *to) throw CLI::ValidationError("--since", "must be before --until");
    run.walk.since = *from;
    run.walk.until = *to;
    const auto status_list = parse_statuses(statuses, error);
    if (!status_list) throw CLI::ValidationError("--statuses", error);
    run.walk.statuses = *status_list;
    run.walk.service_ids = service_ids;
    run.walk.page_size = page_size;
    run.walk.retry.max_attempts = max_attempts;
    run.walk.retry.base = duration_option(retry_base, "--retry-base");
    run.http_timeout = duration_option(http_timeout, "--http-timeout");
    run.producer.ack_timeout = duration_option(ack_timeout, "--kafka-ack-timeout");
    if (run.http_timeout.count() < 1 || run.producer.ack_timeout.count() < 1) {
      throw CLI::ValidationError("--http-timeout/--kafka-ack-timeout", "must be at least 1ms");
    }
  } catch (const CLI::Error& e) {
    return app.exit(e);
  }

  try {
    const SecretSet secret = load_secrets(token, token_file, "FOURKEYS_PAGERDUTY_API_TOKEN");
    if (secret.empty()) {
      log::error("no PagerDuty API key: set FOURKEYS_PAGERDUTY_API_TOKEN (or _FILE) or --token");
      return 2;
    }
    run.walk.token = secret.values.front();
  } catch (const std::exception& e) {
    log::error("cannot read the PagerDuty API key", {{"error", e.what()}});
    return 2;
  }

  run.dry_run = dry_run;
  run.topic = topic;
  run.producer.brokers = brokers;
  run.producer.compression = compression;
  run.producer.expected_topics = {{topic, 1}};
  for (const auto& prop : kafka_properties) {
    const auto eq = prop.find('=');
    if (eq == std::string::npos) {
      // The text may be part of a secret (a value holding a comma): never log it.
      log::error("--kafka-property / FOURKEYS_KAFKA_PROPERTIES entries must be name=value");
      return 2;
    }
    run.producer.extra[prop.substr(0, eq)] = prop.substr(eq + 1);
  }

  log::info("backfill starting", {{"api", api_url},
                                  {"since", format_time(run.walk.since)},
                                  {"until", format_time(run.walk.until)},
                                  {"services", static_cast<std::int64_t>(service_ids.size())},
                                  {"dry_run", dry_run},
                                  {"kafka", dry_run ? std::string() : brokers}});
  try {
    return run_backfill(run, std::cout);
  } catch (const std::exception& e) {
    log::error("fatal", {{"error", e.what()}});
    return 1;
  }
}
