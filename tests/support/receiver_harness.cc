#include "tests/support/receiver_harness.h"

#include "common/crypto.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <thread>

namespace fourkeys::testing {

EmbeddedKafka::EmbeddedKafka(bool own, bool control) {
  if (!own) {
    if (const char* b = std::getenv("FOURKEYS_KAFKA_BROKERS"); b && *b) {
      brokers_ = b;
      return;
    }
  }
  std::vector<std::string> args;
  if (control) args.push_back("--control-stdin");
  process_ = std::make_unique<ChildProcess>(devkafka_binary(), args, std::map<std::string, std::string>{},
                                            control, log_file("devkafka"));
  brokers_ = process_->read_line(std::chrono::seconds(15));
}

std::string EmbeddedKafka::command(const std::string& line) {
  if (!process_) throw std::runtime_error("not an own embedded Kafka");
  process_->write_line(line);
  return process_->read_line(std::chrono::seconds(5));
}

ReceiverProcess::ReceiverProcess(const std::string& brokers, const std::map<std::string, std::string>& env,
                                 const std::vector<std::string>& args) {
  const std::string port_file = temp_path("parser-port");
  log_path_ = log_file("parser");
  std::map<std::string, std::string> full = {
      {"FOURKEYS_KAFKA_BROKERS", brokers},
      {"FOURKEYS_PARSER_LISTEN", "127.0.0.1:0"},
      {"FOURKEYS_PARSER_THREADS", "2"},
      {"FOURKEYS_GITHUB_SECRET", kGithubSecret},
      {"FOURKEYS_GITLAB_TOKEN", kGitlabToken},
      {"FOURKEYS_PAGERDUTY_SECRET", kPagerdutyOldSecret + "," + kPagerdutyNewSecret},
      {"FOURKEYS_API_TOKEN", kApiToken},
      {"FOURKEYS_KAFKA_PROPERTIES", "reconnect.backoff.max.ms=1000"},
  };
  for (const auto& [k, v] : env) {
    if (v.empty()) full.erase(k);
    else full[k] = v;
  }
  std::vector<std::string> all_args = {"--port-file", port_file};
  all_args.insert(all_args.end(), args.begin(), args.end());
  process_ = std::make_unique<ChildProcess>(parser_binary(), all_args, full, false, log_path_);
  port_ = static_cast<unsigned short>(std::stoi(wait_for_file_line(port_file, std::chrono::seconds(20))));
  std::remove(port_file.c_str());
  ::unlink(port_file.c_str());
}

std::unique_ptr<HttpClient> ReceiverProcess::client() const {
  return std::make_unique<HttpClient>("127.0.0.1", port_);
}

bool ReceiverProcess::wait_ready(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto c = client();
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (c->request("GET", "/readyz").status == 200) return true;
    } catch (const std::exception&) {
      c = client();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

HeaderList github_headers(const std::string& event, const std::string& delivery, const std::string& body,
                          const std::string& secret) {
  return {{"Content-Type", "application/json"},
          {"User-Agent", "GitHub-Hookshot/abc123"},
          {"X-GitHub-Event", event},
          {"X-GitHub-Delivery", delivery},
          {"X-Hub-Signature-256", "sha256=" + hmac_sha256_hex(secret, body)}};
}

HeaderList gitlab_headers(const std::string& event, const std::string& uuid, const std::string& token) {
  return {{"Content-Type", "application/json"},
          {"User-Agent", "GitLab/17.5.0"},
          {"X-Gitlab-Event", event},
          {"X-Gitlab-Event-UUID", uuid},
          {"X-Gitlab-Token", token}};
}

HeaderList pagerduty_headers(const std::string& body, const std::vector<std::string>& secrets) {
  std::string sig;
  for (const auto& s : secrets) {
    if (!sig.empty()) sig += ",";
    sig += "v1=" + hmac_sha256_hex(s, body);
  }
  return {{"Content-Type", "application/json"}, {"X-PagerDuty-Signature", sig}, {"X-Webhook-Id", unique_suffix()}};
}

HeaderList bearer_headers(const std::string& token, const std::string& content_type) {
  return {{"Content-Type", content_type}, {"Authorization", "Bearer " + token}};
}

std::string unique_suffix() {
  static std::atomic<int> counter{0};
  static const auto seed = std::random_device{}();
  return std::to_string(::getpid()) + "-" + std::to_string(seed % 100000) + "-" + std::to_string(++counter);
}

}  // namespace fourkeys::testing
