// Starts the real programs for integration tests: the embedded Kafka (or
// the one scripts/test started, from FOURKEYS_KAFKA_BROKERS) and a
// fourkeys-parser on a free port.
#pragma once

#include "tests/support/http_client.h"
#include "tests/support/process.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fourkeys::testing {

// Secrets every test receiver is configured with.
inline const std::string kGithubSecret = "gh-test-secret";
inline const std::string kGitlabToken = "gl-test-token";
inline const std::string kPagerdutyOldSecret = "pd-old-secret";
inline const std::string kPagerdutyNewSecret = "pd-new-secret";
inline const std::string kApiToken = "api-test-token";
// The PagerDuty REST API token fourkeys-backfill is given.
inline const std::string kPagerdutyApiToken = "pd-api-token-7f3e";

// Every secret above: none may appear in a log line or an answer
// (secrets_not_leaked checks the whole suite's).
inline const std::vector<std::string> kAllTestSecrets = {kGithubSecret, kGitlabToken, kPagerdutyOldSecret,
                                                         kPagerdutyNewSecret, kApiToken, kPagerdutyApiToken};

class EmbeddedKafka {
 public:
  // With `own` false, reuses FOURKEYS_KAFKA_BROKERS when set.
  explicit EmbeddedKafka(bool own = false, bool control = false);
  const std::string& brokers() const { return brokers_; }
  // Sends a fault-injection command (needs own + control); returns the reply.
  std::string command(const std::string& line);

 private:
  std::string brokers_;
  std::unique_ptr<ChildProcess> process_;
};

class ReceiverProcess {
 public:
  // `env` overrides the default test configuration (all sources configured).
  ReceiverProcess(const std::string& brokers, const std::map<std::string, std::string>& env = {},
                  const std::vector<std::string>& args = {});
  unsigned short port() const { return port_; }
  ChildProcess& process() { return *process_; }
  std::unique_ptr<HttpClient> client() const;
  // Waits until /readyz answers 200.
  bool wait_ready(std::chrono::milliseconds timeout);
  const std::string& log_path() const { return log_path_; }

 private:
  std::unique_ptr<ChildProcess> process_;
  unsigned short port_ = 0;
  std::string log_path_;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Headers a real sender would put on a delivery of `body`.
HeaderList github_headers(const std::string& event, const std::string& delivery, const std::string& body,
                          const std::string& secret = kGithubSecret);
HeaderList gitlab_headers(const std::string& event, const std::string& uuid, const std::string& token = kGitlabToken);
HeaderList pagerduty_headers(const std::string& body, const std::vector<std::string>& secrets);
HeaderList bearer_headers(const std::string& token = kApiToken,
                          const std::string& content_type = "application/json");

// A string unique to this test run, for ids and service names.
std::string unique_suffix();

}  // namespace fourkeys::testing
