// fourkeys-generate: realistic signed deliveries from every source the
// receiver reads, over a chosen number of days ending now, sent to a
// receiver or written to files; with --expect, the DORA numbers that history
// must produce on /api/v1/dora. See tools/generate/README.md.

#include "common/settings.h"
#include "common/time.h"
#include "tools/generate/deliveries.h"
#include "tools/generate/expect.h"
#include "tools/generate/history.h"
#include "tools/generate/sender.h"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <random>
#include <set>

namespace {

using namespace fourkeys;
using namespace fourkeys::generate;

struct SecretOption {
  std::string value;
  std::string file;
};

void add_secret(CLI::App& app, const std::string& flag, const std::string& env_name, SecretOption& option,
                const std::string& what) {
  app.add_option("--" + flag, option.value, what + " (as the receiver's " + env_name + "; comma-separated)")
      ->envname(env_name);
  app.add_option("--" + flag + "-file", option.file, "file holding " + what)->envname(env_name + "_FILE");
}

// The settings each family's senders need, by the receiver's variable name.
std::vector<std::pair<std::string, const std::vector<std::string>*>> needed(const History& h, const Secrets& s) {
  std::set<std::string> names;
  std::vector<std::pair<std::string, const std::vector<std::string>*>> out;
  auto need = [&](const std::string& name, const std::vector<std::string>* values) {
    if (names.insert(name).second) out.emplace_back(name, values);
  };
  for (const Service& service : h.services) {
    switch (service.family) {
      case Family::github:
        need("FOURKEYS_GITHUB_SECRET", &s.github);
        if (!h.options.four_keys) need("FOURKEYS_PAGERDUTY_SECRET", &s.pagerduty);
        break;
      case Family::gitlab: need("FOURKEYS_GITLAB_TOKEN", &s.gitlab); break;
      case Family::api:
      case Family::cdevents: need("FOURKEYS_API_TOKEN", &s.api); break;
    }
  }
  return out;
}

std::string summary_json(const SendResult& r, std::size_t deliveries, const Options& o) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f", r.seconds);
  return std::string("{\"deliveries\":") + std::to_string(deliveries) + ",\"sent\":" + std::to_string(r.sent) +
         ",\"accepted\":" + std::to_string(r.accepted) + ",\"ignored\":" + std::to_string(r.ignored) +
         ",\"dead_lettered\":" + std::to_string(r.dead_lettered) + ",\"failed\":" + std::to_string(r.errors.size()) +
         ",\"unexpected\":" + std::to_string(r.unexpected.size()) + ",\"retries\":" + std::to_string(r.retries) +
         ",\"seconds\":" + seconds + ",\"seed\":" + std::to_string(o.seed) + ",\"now\":\"" + format_time(o.now) +
         "\",\"days\":" + std::to_string(o.days) + "}";
}

void list(const char* heading, const std::vector<std::string>& items) {
  if (items.empty()) return;
  std::cerr << "fourkeys-generate: " << items.size() << " " << heading << ":\n";
  for (std::size_t i = 0; i < items.size() && i < 20; ++i) std::cerr << "  " << items[i] << "\n";
  if (items.size() > 20) std::cerr << "  ... and " << items.size() - 20 << " more\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fourkeys-generate: realistic signed deliveries for every source, sent to a receiver or "
               "written to files; --expect prints the DORA numbers they must produce"};
  std::string url = "http://127.0.0.1:8080";
  int days = 30;
  int services = 4;
  std::uint64_t seed = 0;
  std::string now_text;
  double rate = 0;
  int concurrency = 4;
  int max_attempts = 8;
  std::string out;
  std::string format = "http";
  bool expect = false;
  bool four_keys = false;
  bool quiet = false;
  SecretOption github, gitlab, pagerduty, api;

  app.add_option("--url", url, "the receiver (plain HTTP)")->envname("FOURKEYS_GENERATE_URL")->capture_default_str();
  app.add_option("--days", days, "days of history, ending at --now")->check(CLI::Range(1, 3650))->capture_default_str();
  app.add_option("--services", services, "services: GitHub, GitLab, API and CDEvents ones in turn")
      ->check(CLI::Range(1, 200))
      ->capture_default_str();
  app.add_option("--seed", seed, "seed of the history (default: random, printed); same seed and --now, same deliveries");
  app.add_option("--now", now_text, "end of the history, RFC 3339 (default: the current time)");
  app.add_option("--rate", rate, "deliveries per second, 0 for no limit")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--concurrency", concurrency, "connections sending at once")->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("--max-attempts", max_attempts, "tries per delivery answered 5xx or not at all")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--out", out, "write the deliveries instead of sending them: a folder (--format http) or a file, - for stdout (--format jsonl)");
  app.add_option("--format", format, "http: one file per delivery; jsonl: one JSON object per line")
      ->check(CLI::IsMember({"http", "jsonl"}))
      ->capture_default_str();
  app.add_flag("--expect", expect, "print the numbers /api/v1/dora must answer for this history, send nothing");
  app.add_flag("--four-keys", four_keys,
               "Four Keys' data generator's shapes to POST / (GitHub signed with SHA-1: the receiver needs "
               "FOURKEYS_GITHUB_ALLOW_SHA1)");
  app.add_flag("--quiet", quiet, "no progress line");
  add_secret(app, "github-secret", "FOURKEYS_GITHUB_SECRET", github, "GitHub webhook secret");
  add_secret(app, "gitlab-token", "FOURKEYS_GITLAB_TOKEN", gitlab, "GitLab webhook token");
  add_secret(app, "pagerduty-secret", "FOURKEYS_PAGERDUTY_SECRET", pagerduty, "PagerDuty signing secret(s)");
  add_secret(app, "api-token", "FOURKEYS_API_TOKEN", api, "bearer token of the API and CDEvents routes");
  CLI11_PARSE(app, argc, argv);

  Options options;
  options.days = days;
  options.services = services;
  options.four_keys = four_keys;
  if (now_text.empty()) {
    options.now = now_millis() / kSecond * kSecond;
  } else {
    const auto parsed = parse_time(now_text);
    if (!parsed) {
      std::cerr << "fourkeys-generate: --now: not an RFC 3339 time: " << now_text << "\n";
      return 2;
    }
    options.now = parsed->millis - ((parsed->millis % kSecond) + kSecond) % kSecond;
  }
  if (app.count("--seed") > 0) {
    options.seed = seed;
  } else {
    options.seed = std::random_device{}() % 1'000'000;
    if (!expect) {
      std::cerr << "fourkeys-generate: seed " << options.seed << " (again: --seed " << options.seed << " --now "
                << format_time(options.now) << ")\n";
    }
  }

  History history;
  try {
    history = simulate(options);
  } catch (const std::exception& e) {
    std::cerr << "fourkeys-generate: " << e.what() << "\n";
    return 2;
  }
  if (expect) {
    if (app.count("--seed") == 0 || now_text.empty()) {
      std::cerr << "fourkeys-generate: --expect describes the history of its --seed and --now; give the ones the "
                   "deliveries were sent with\n";
    }
    std::cout << expectations_json(history, expectations(history));
    return 0;
  }

  Secrets secrets;
  try {
    secrets.github = load_secrets(github.value, github.file, "FOURKEYS_GITHUB_SECRET").values;
    secrets.gitlab = load_secrets(gitlab.value, gitlab.file, "FOURKEYS_GITLAB_TOKEN").values;
    secrets.pagerduty = load_secrets(pagerduty.value, pagerduty.file, "FOURKEYS_PAGERDUTY_SECRET").values;
    secrets.api = load_secrets(api.value, api.file, "FOURKEYS_API_TOKEN").values;
  } catch (const std::exception& e) {
    std::cerr << "fourkeys-generate: " << e.what() << "\n";
    return 2;
  }
  std::vector<std::string> missing;
  for (const auto& [name, values] : needed(history, secrets)) {
    if (values->empty()) missing.push_back(name);
  }
  if (!missing.empty()) {
    std::cerr << "fourkeys-generate: " << (out.empty() ? "set what the receiver checks:" : "signing with empty values for:");
    for (const auto& m : missing) std::cerr << " " << m;
    std::cerr << " (or the matching flags, see --help)\n";
    if (out.empty()) return 2;
  }

  const std::vector<Delivery> deliveries = render(history, secrets);

  if (!out.empty()) {
    try {
      if (format == "jsonl") {
        if (out == "-") {
          write_json_lines(deliveries, std::cout);
        } else {
          std::ofstream file(out, std::ios::binary);
          if (!file) throw std::runtime_error("cannot open " + out);
          write_json_lines(deliveries, file);
        }
      } else {
        write_files(deliveries, out);
      }
    } catch (const std::exception& e) {
      std::cerr << "fourkeys-generate: " << e.what() << "\n";
      return 1;
    }
    if (out != "-") std::cerr << "fourkeys-generate: wrote " << deliveries.size() << " deliveries to " << out << "\n";
    return 0;
  }

  SendOptions send;
  try {
    send.target = parse_url(url);
  } catch (const std::exception& e) {
    std::cerr << "fourkeys-generate: " << e.what() << "\n";
    return 2;
  }
  send.rate = rate;
  send.concurrency = concurrency;
  send.max_attempts = max_attempts;
  send.progress = !quiet && ::isatty(STDERR_FILENO);
  if (send.progress) {
    std::cerr << "fourkeys-generate: " << deliveries.size() << " deliveries for " << history.services.size()
              << " services over " << days << " days to " << url << "\n";
  }
  const SendResult result = send_all(deliveries, send);
  list("deliveries answered otherwise than meant (the metrics will differ from --expect)", result.unexpected);
  list("deliveries failed", result.errors);
  std::cout << summary_json(result, deliveries.size(), options) << "\n";
  return result.errors.empty() ? 0 : 1;
}
