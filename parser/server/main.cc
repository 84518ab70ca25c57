// fourkeys-parser: the webhook receiver. Verifies deliveries from GitHub,
// GitLab, PagerDuty, CDEvents emitters and CI jobs, normalizes them into
// envelopes and answers only once Kafka has them. Every setting is a flag
// and an environment variable (--help lists both with defaults).

#include "common/http_server.h"
#include "common/kafka_producer.h"
#include "common/log.h"
#include "common/settings.h"
#include "parser/registry.h"
#include "parser/server/receiver_metrics.h"
#include "parser/server/webhook_router.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <initializer_list>
#include <set>
#include <thread>
#include <tuple>

namespace {

using namespace fourkeys;

struct SecretOption {
  std::string value;
  std::string file;
};

void add_secret(CLI::App& app, const std::string& flag, const std::string& env_name, SecretOption& option,
                const std::string& what) {
  app.add_option("--" + flag, option.value, what + " (comma-separated for rotation)")->envname(env_name);
  app.add_option("--" + flag + "-file", option.file, "file holding " + what)->envname(env_name + "_FILE");
}

std::chrono::milliseconds duration_option(const std::string& text, const std::string& name) {
  auto d = parse_duration(text);
  if (!d) throw CLI::ValidationError(name, "not a duration: " + text + " (use 500ms, 5s, 2m)");
  return *d;
}

// The sources named in FOURKEYS_PARSERS (or the Four Keys name PARSERS), or
// all of them when unset. A source left out has no routes (404) and `POST /`
// never picks it, so a deployment exposes only the senders it expects.
std::vector<std::unique_ptr<parser::Source>> select_sources(std::vector<std::unique_ptr<parser::Source>> all,
                                                            const std::string& list, const std::string& setting) {
  if (list.empty()) return all;
  std::string known;
  for (const auto& s : all) known += (known.empty() ? "" : ", ") + std::string(s->name());
  std::set<std::string> wanted;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string name = list.substr(start, end - start);
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!name.empty()) {
      const bool exists = std::any_of(all.begin(), all.end(), [&](const auto& s) { return s->name() == name; });
      if (!exists) {
        throw CLI::ValidationError(setting, "unknown source '" + name + "' (known: " + known + ")");
      }
      wanted.insert(name);
    }
    start = end + 1;
  }
  if (wanted.empty()) throw CLI::ValidationError(setting, "names no source (known: " + known + ")");
  std::vector<std::unique_ptr<parser::Source>> selected;
  for (auto& s : all) {
    if (wanted.count(std::string(s->name()))) selected.push_back(std::move(s));
  }
  return selected;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fourkeys-parser: verifies and normalizes DORA webhooks onto Kafka"};
  http::ServerSettings server;
  std::string brokers = "localhost:9092";
  parser::RouterSettings router;
  std::string ack_timeout = "5s", read_timeout = "30s", idle_timeout = "60s", body_limit = "25MiB";
  std::string compression = "lz4";
  std::vector<std::string> kafka_properties;
  int expected_partitions = 1;
  SecretOption github, gitlab, pagerduty, api;
  bool github_sha1 = false;
  std::string log_level = "info";
  std::string port_file;
  std::string parsers;

  server.listen = "0.0.0.0:8080";
  app.add_option("--listen", server.listen, "host:port to listen on (port 0 picks one)")
      ->envname("FOURKEYS_PARSER_LISTEN")->capture_default_str();
  app.add_option("--threads", server.threads, "I/O threads (0 = one per core)")
      ->envname("FOURKEYS_PARSER_THREADS")->capture_default_str();
  app.add_option("--kafka-brokers", brokers, "Kafka bootstrap servers")
      ->envname("FOURKEYS_KAFKA_BROKERS")->capture_default_str();
  app.add_option("--events-topic", router.events_topic)->envname("FOURKEYS_EVENTS_TOPIC")->capture_default_str();
  app.add_option("--deadletter-topic", router.deadletter_topic)
      ->envname("FOURKEYS_DEADLETTER_TOPIC")->capture_default_str();
  app.add_option("--kafka-ack-timeout", ack_timeout, "longest wait for Kafka before answering 503")
      ->envname("FOURKEYS_KAFKA_ACK_TIMEOUT")->capture_default_str();
  app.add_option("--kafka-compression", compression, "lz4, zstd, snappy, gzip or none")
      ->envname("FOURKEYS_KAFKA_COMPRESSION")->capture_default_str();
  app.add_option("--kafka-property", kafka_properties, "extra librdkafka property name=value (repeatable)")
      ->envname("FOURKEYS_KAFKA_PROPERTIES")->delimiter(',');
  app.add_option("--expected-partitions", expected_partitions,
                 "partitions the topics must have for /readyz")
      ->envname("FOURKEYS_EXPECTED_PARTITIONS")->capture_default_str();
  app.add_option("--body-limit", body_limit, "largest request body (413 above)")
      ->envname("FOURKEYS_BODY_LIMIT")->capture_default_str();
  app.add_option("--read-timeout", read_timeout, "time allowed to read one request")
      ->envname("FOURKEYS_READ_TIMEOUT")->capture_default_str();
  app.add_option("--idle-timeout", idle_timeout, "keep-alive idle time before closing")
      ->envname("FOURKEYS_IDLE_TIMEOUT")->capture_default_str();
  add_secret(app, "github-secret", "FOURKEYS_GITHUB_SECRET", github, "GitHub webhook secret(s)");
  app.add_flag("--github-allow-sha1", github_sha1, "also accept the legacy X-Hub-Signature (SHA-1)")
      ->envname("FOURKEYS_GITHUB_ALLOW_SHA1");
  add_secret(app, "gitlab-token", "FOURKEYS_GITLAB_TOKEN", gitlab, "GitLab webhook secret token(s)");
  add_secret(app, "pagerduty-secret", "FOURKEYS_PAGERDUTY_SECRET", pagerduty, "PagerDuty v3 signing secret(s)");
  add_secret(app, "api-token", "FOURKEYS_API_TOKEN", api, "bearer token(s) for the API and CDEvents routes");
  app.add_flag("--insecure-no-auth", router.insecure_no_auth,
               "accept every delivery without checking signatures (local experiments only)")
      ->envname("FOURKEYS_INSECURE_NO_AUTH");
  app.add_option("--incident-label", router.incident_label, "issue label that marks an incident")
      ->envname("FOURKEYS_INCIDENT_LABEL")->capture_default_str();
  std::string deploy_workflows;
  app.add_option("--github-deploy-workflows", deploy_workflows,
                 "GitHub workflow/check names whose completion is a deployment: name[=environment],...")
      ->envname("FOURKEYS_GITHUB_DEPLOY_WORKFLOWS");
  std::string service_map_path;
  app.add_option("--service-map", service_map_path,
                 "YAML file naming services, teams, their repositories, PagerDuty services and environment "
                 "aliases (examples/service-map.yaml); reloaded on SIGHUP and when the file changes")
      ->envname("FOURKEYS_SERVICE_MAP");
  app.add_option("--log-level", log_level, "debug, info, warn, error")
      ->envname("FOURKEYS_LOG_LEVEL")->capture_default_str();
  auto* parsers_option =
      app.add_option("--parsers", parsers,
                     "sources to serve, comma-separated: github, gitlab, pagerduty, cdevents, api "
                     "(default all; also read from PARSERS)")
          ->envname("FOURKEYS_PARSERS");
  app.add_option("--port-file", port_file, "write the bound port to this file once listening");
  CLI11_PARSE(app, argc, argv);
  std::string parsers_setting = "--parsers/FOURKEYS_PARSERS";
  if (parsers_option->count() == 0) {
    // Four Keys' own deployments set PARSERS; they keep working unchanged.
    if (const char* v = std::getenv("PARSERS"); v && *v) {
      parsers = v;
      parsers_setting = "PARSERS";
    }
  }

  log::init("fourkeys-parser", log::parse_level(log_level));
  try {
    router.ack_timeout = duration_option(ack_timeout, "--kafka-ack-timeout");
    if (router.ack_timeout.count() < 1 || router.ack_timeout > std::chrono::minutes(5)) {
      throw CLI::ValidationError("--kafka-ack-timeout", "must be between 1ms and 5m");
    }
    server.read_timeout = duration_option(read_timeout, "--read-timeout");
    server.idle_timeout = duration_option(idle_timeout, "--idle-timeout");
    for (const auto* t : {&server.read_timeout, &server.idle_timeout}) {
      if (t->count() < 1 || *t > std::chrono::hours(24)) {
        throw CLI::ValidationError("--read-timeout/--idle-timeout", "must be between 1ms and 24h");
      }
    }
    auto limit = parse_size(body_limit);
    if (!limit) throw CLI::ValidationError("--body-limit", "not a size: " + body_limit);
    server.body_limit = *limit;
  } catch (const CLI::Error& e) {
    return app.exit(e);
  }
  server.server_name = "fourkeys-parser";
  router.deploy_workflows = parser::parse_deploy_workflows(deploy_workflows);
  if (!service_map_path.empty()) {
    // A bad map is refused at start, saying where; it is never half used.
    try {
      router.service_map = std::make_shared<parser::ServiceMapSlot>();
      router.service_map->set(parser::ServiceMap::load_file(service_map_path));
      log::info("service map loaded", {{"path", service_map_path},
                                       {"services", static_cast<int>(router.service_map->get()->services().size())}});
    } catch (const parser::ServiceMapError& e) {
      log::error("service map refused", {{"error", e.what()}});
      return 2;
    }
  }

  parser::SourceSettings sources;
  try {
    sources.github_secrets = load_secrets(github.value, github.file, "FOURKEYS_GITHUB_SECRET");
    sources.gitlab_tokens = load_secrets(gitlab.value, gitlab.file, "FOURKEYS_GITLAB_TOKEN");
    sources.pagerduty_secrets = load_secrets(pagerduty.value, pagerduty.file, "FOURKEYS_PAGERDUTY_SECRET");
    sources.api_tokens = load_secrets(api.value, api.file, "FOURKEYS_API_TOKEN");
  } catch (const std::exception& e) {
    log::error("cannot load secrets", {{"error", e.what()}});
    return 2;
  }
  sources.github_allow_sha1 = github_sha1;
  std::vector<std::unique_ptr<parser::Source>> served;
  try {
    served = select_sources(parser::build_sources(sources), parsers, parsers_setting);
  } catch (const CLI::Error& e) {
    return app.exit(e);
  }
  std::string served_names;
  for (const auto& s : served) served_names += (served_names.empty() ? "" : ",") + std::string(s->name());
  const auto serves = [&](std::initializer_list<std::string_view> names) {
    return std::any_of(served.begin(), served.end(), [&](const auto& s) {
      return std::find(names.begin(), names.end(), s->name()) != names.end();
    });
  };
  if (router.insecure_no_auth) {
    log::warn("FOURKEYS_INSECURE_NO_AUTH is on: every source accepts unsigned deliveries; "
              "use only for local experiments");
  }
  for (const auto& [name, set, used] :
       {std::tuple{"FOURKEYS_GITHUB_SECRET", &sources.github_secrets, serves({"github"})},
        std::tuple{"FOURKEYS_GITLAB_TOKEN", &sources.gitlab_tokens, serves({"gitlab"})},
        std::tuple{"FOURKEYS_PAGERDUTY_SECRET", &sources.pagerduty_secrets, serves({"pagerduty"})},
        std::tuple{"FOURKEYS_API_TOKEN", &sources.api_tokens, serves({"api", "cdevents"})}}) {
    if (used && set->empty() && !router.insecure_no_auth) {
      log::warn("source not configured: its deliveries get 401", {{"setting", name}});
    }
  }

  // Stop signals (and SIGHUP, which reloads the service map) go to one
  // waiting thread, not to whichever thread runs.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  ProducerSettings producer_settings;
  producer_settings.brokers = brokers;
  producer_settings.ack_timeout = router.ack_timeout;
  producer_settings.compression = compression;
  // An envelope holds the whole body plus its own fields.
  producer_settings.max_message_bytes =
      std::min<std::size_t>(1'000'000'000, server.body_limit + 1024 * 1024);
  producer_settings.expected_topics = {{router.events_topic, expected_partitions},
                                       {router.deadletter_topic, expected_partitions}};
  for (const auto& prop : kafka_properties) {
    const auto eq = prop.find('=');
    if (eq == std::string::npos) {
      // The text may be part of a secret (a value holding a comma): never log it.
      log::error("--kafka-property / FOURKEYS_KAFKA_PROPERTIES entries must be name=value");
      return 2;
    }
    producer_settings.extra[prop.substr(0, eq)] = prop.substr(eq + 1);
  }

  try {
    EventProducer producer(producer_settings);
    const KafkaHealth health = producer.check_now(std::chrono::milliseconds(3000));
    if (!health.metadata_ok || !health.topics_ok) {
      log::error("kafka is not ready yet; /readyz stays false until it is", {{"detail", health.detail}});
    }
    parser::ReceiverMetrics metrics;
    parser::WebhookRouter handler(router, std::move(served), producer, metrics);
    auto http_server = std::make_unique<http::Server>(server, handler);

    const auto port = http_server->port();
    if (!port_file.empty()) {
      std::ofstream(port_file) << port << "\n";
    }
    log::info("listening", {{"listen", server.listen}, {"port", port}, {"kafka", brokers},
                            {"events_topic", router.events_topic}, {"sources", served_names}});

    // The map is reloaded on SIGHUP, and when its file changes (checked
    // every kMapCheckInterval: a Kubernetes ConfigMap or an editor replaces
    // the file without anyone sending a signal).
    const auto map_stamp = [&]() -> std::string {
      std::error_code ec;
      const auto time = std::filesystem::last_write_time(service_map_path, ec);
      const auto size = std::filesystem::file_size(service_map_path, ec);
      if (ec) return {};
      return std::to_string(time.time_since_epoch().count()) + "/" + std::to_string(size);
    };
    std::string loaded_stamp = router.service_map ? map_stamp() : std::string();
    const auto reload_map = [&](const char* why) {
      loaded_stamp = map_stamp();
      // The old map stays in use when the new file is refused.
      try {
        router.service_map->set(parser::ServiceMap::load_file(service_map_path));
        log::info("service map reloaded", {{"path", service_map_path}, {"why", why},
                                           {"services", static_cast<int>(router.service_map->get()->services().size())}});
      } catch (const parser::ServiceMapError& e) {
        log::error("service map not reloaded; the previous one stays in use", {{"error", e.what()}});
      }
    };
    std::thread signal_thread([&] {
      constexpr timespec kMapCheckInterval{2, 0};
      int sig = 0;
      for (;;) {
        sig = router.service_map ? sigtimedwait(&stop_signals, nullptr, &kMapCheckInterval)
                                 : sigwaitinfo(&stop_signals, nullptr);
        if (sig < 0) {
          if (router.service_map && map_stamp() != loaded_stamp) reload_map("file changed");
          continue;
        }
        if (sig != SIGHUP) break;
        if (!router.service_map) {
          log::info("SIGHUP: no service map to reload (FOURKEYS_SERVICE_MAP is not set)");
          continue;
        }
        reload_map("SIGHUP");
      }
      log::info("stopping: finishing requests in flight", {{"signal", sig}});
      http_server->stop();
    });
    http_server->run();
    // Every callback into the router, the metrics and the sessions has run
    // once this returns; only then may they be destroyed.
    const bool flushed = producer.flush(router.ack_timeout);
    producer.shutdown();
    log::info("stopped", {{"kafka_flushed", flushed}});
    signal_thread.join();
  } catch (const std::exception& e) {
    log::error("fatal", {{"error", e.what()}});
    return 1;
  }
  return 0;
}
