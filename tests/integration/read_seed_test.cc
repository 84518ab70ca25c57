// The seed's metric endpoints against the seed's own service: the same
// bodies go to our receiver and to the runnable seed service
// (../shared/peers/seed_service.py, Debian's python3-fastapi), and the
// answers of GET /metrics/dora/{service} must be the same text.

#include "common/time.h"
#include "tests/support/fixtures.h"
#include "tests/support/http_client.h"
#include "tests/support/receiver_harness.h"
#include "tests/support/worker_harness.h"

#include <catch2/catch.hpp>


#include <sstream>

using namespace fourkeys;
using namespace fourkeys::testing;
using namespace std::chrono_literals;

namespace {


// The seed's service on its own database.
class SeedService {
 public:
  explicit SeedService(const std::string& database_url) : port_(free_port()) {
    process_ = std::make_unique<ChildProcess>(
        "/usr/bin/python3",
        std::vector<std::string>{"-m", "uvicorn", "--app-dir", fixtures_dir() + "/../peers", "seed_service:app",
                                 "--host", "127.0.0.1", "--port", std::to_string(port_), "--log-level", "warning",
                                 "--no-access-log"},
        std::map<std::string, std::string>{{"DATABASE_URL", database_url}}, false, log_file("seed-service"));
  }
  unsigned short port() const { return port_; }
  HttpReply get(const std::string& target) { return client().request("GET", target); }
  HttpReply post(const std::string& target, const std::string& body) {
    return client().request("POST", target, {{"Content-Type", "application/json"}}, body);
  }
  bool wait_ready() {
    return eventually(
        [&] {
          try {
            client_.reset();
            return get("/openapi.json").status == 200;
          } catch (...) {
            return false;
          }
        },
        30s);
  }

 private:
  HttpClient& client() {
    if (!client_) client_ = std::make_unique<HttpClient>("127.0.0.1", port_);
    return *client_;
  }
  unsigned short port_;
  std::unique_ptr<ChildProcess> process_;
  std::unique_ptr<HttpClient> client_;
};

// Whole seconds, so both services store the same instants.
const EpochMillis kNow = now_millis() / 1000 * 1000;

std::string ago(double hours, int extra_minutes = 0) {
  return format_time(kNow - static_cast<EpochMillis>(hours * 3'600'000) + extra_minutes * 60'000LL)
             .substr(0, 19) + "Z";
}

std::string deployment_body(const std::string& service, const std::string& environment, const std::string& sha,
                            const std::string& commit_time, const std::string& deployed_at, bool rollback = false,
                            bool hotfix = false) {
  std::ostringstream o;
  o << R"({"service":")" << service << R"(","environment":")" << environment << R"(","commit_sha":")" << sha
    << R"(","commit_timestamp":")" << commit_time << R"(","deployed_at":")" << deployed_at
    << R"(","is_rollback":)" << (rollback ? "true" : "false") << R"(,"is_hotfix":)" << (hotfix ? "true" : "false")
    << "}";
  return o.str();
}

std::string incident_body(const std::string& service, const std::string& id, const std::string& detected,
                          const std::string& resolved = "") {
  std::string body = R"({"incident_id":")" + id + R"(","service":")" + service + R"(","severity":"high","detected_at":")" +
                     detected + "\"";
  if (!resolved.empty()) body += R"(,"resolved_at":")" + resolved + "\"";
  return body + "}";
}

std::string sha_of(const std::string& service, int i) {
  std::string hex;
  const auto h = std::hash<std::string>{}(service + std::to_string(i));
  std::ostringstream o;
  o << std::hex << h << h << h;
  hex = o.str();
  return hex.substr(0, 40);
}

struct Both {
  ReceiverProcess& receiver;
  SeedService& seed;
  std::unique_ptr<HttpClient> ours = receiver.client();
  int posted = 0;

  void post(const std::string& path, const std::string& body) {
    const auto reply = ours->request("POST", path, bearer_headers(), body);
    INFO(path << " " << body << " -> " << reply.body);
    REQUIRE(reply.status == 202);
    REQUIRE(seed.post(path, body).status == 200);
    ++posted;
  }
};

}  // namespace

TEST_CASE("the seed's /metrics/dora answers equal the seed service's on the seed's bodies", "[read][seed]") {
  EmbeddedKafka kafka(true);
  TestDatabase ours, theirs;
  ReceiverProcess receiver(kafka.brokers());
  REQUIRE(receiver.wait_ready(30s));
  WorkerProcess worker(kafka.brokers(), ours.url());
  REQUIRE(worker.wait_ready(30s));
  SeedService seed(theirs.url());
  REQUIRE(seed.wait_ready());

  const std::string s = unique_suffix();
  const std::string a = "checkout-" + s, b = "rollbacks-" + s, c = "pager-" + s, d = "nothing-" + s,
                    e = "linked-" + s;
  Both both{receiver, seed};

  // a: deployments spread over 200 days with varied lead times, one
  // rollback, one hotfix, a staging deployment, incidents far from any
  // deployment (so neither service links them), one left open.
  const int days_back[] = {0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 200};
  for (int i = 0; i < 12; ++i) {
    const double deployed = 24.0 * days_back[i] + 5;
    both.post("/events/deployment",
              deployment_body(a, "production", sha_of(a, i), ago(deployed, -((i + 1) * 37)), ago(deployed), i == 3,
                              i == 6));
  }
  both.post("/events/deployment", deployment_body(a, "staging", sha_of(a, 100), ago(30), ago(29)));
  both.post("/events/incident", incident_body(a, "A-1-" + s, ago(160)));
  both.post("/events/incident", incident_body(a, "A-1-" + s, ago(160), ago(160, 95)));
  both.post("/events/incident", incident_body(a, "A-2-" + s, ago(1000), ago(1000, 180)));
  both.post("/events/incident", incident_body(a, "A-3-" + s, ago(80)));

  // b: nothing but rollbacks.
  for (int i = 0; i < 3; ++i) {
    const double deployed = 24.0 * (i == 0 ? 1 : i == 1 ? 4 : 20) + 5;
    both.post("/events/deployment",
              deployment_body(b, "production", sha_of(b, i), ago(deployed, -600), ago(deployed), true));
  }
  // c: incidents only, most unresolved.
  both.post("/events/incident", incident_body(c, "C-1-" + s, ago(10)));
  both.post("/events/incident", incident_body(c, "C-2-" + s, ago(100)));
  both.post("/events/incident", incident_body(c, "C-3-" + s, ago(300), ago(300, 45)));
  // e: an incident an hour after a deployment: linked to it here (the
  // seed's caused_incident), not by the seed's service.
  both.post("/events/deployment", deployment_body(e, "production", sha_of(e, 0), ago(60), ago(53)));
  both.post("/events/deployment", deployment_body(e, "production", sha_of(e, 1), ago(150), ago(149)));
  both.post("/events/incident", incident_body(e, "E-1-" + s, ago(52)));
  both.post("/events/incident", incident_body(e, "E-1-" + s, ago(52), ago(52, 20)));

  REQUIRE(eventually(
      [&] {
        return std::stoll(ours.scalar("SELECT count(*) FROM events_raw")) == both.posted &&
               std::stoll(ours.scalar("SELECT coalesce(sum(next_offset), 0) FROM ingest_offsets")) >= both.posted;
      },
      60s));

  for (const std::string& service : {a, b, c, d, e}) {
    for (int days : {1, 7, 30, 90, 365}) {
      const std::string target = "/metrics/dora/" + service + "?days=" + std::to_string(days);
      INFO(target);
      const auto [status, body] = worker.get(target);
      const auto peer = seed.get(target);
      REQUIRE(status == 200);
      REQUIRE(peer.status == 200);
      std::string expected = peer.body;
      if (service == e && days >= 7) {
        // One of the two deployments caused the incident.
        const std::string seed_cfr = R"("change_failure_rate":{"value":0.0,"unit":"percent","rating":"elite"})";
        REQUIRE(expected.find(seed_cfr) != std::string::npos);
        expected.replace(expected.find(seed_cfr), seed_cfr.size(),
                         R"("change_failure_rate":{"value":50.0,"unit":"percent","rating":"low"})");
      }
      CHECK(body == expected);
    }
  }

  // The seed's change-failure-rate endpoint (not in its runnable service):
  // counted by hand from the bodies above.
  CHECK(worker.get("/metrics/change-failure-rate?service=" + a + "&days=30").second ==
        R"({"service":")" + a + R"(","period_days":30,"total_deployments":8,"failed_deployments":2,)"
        R"("change_failure_rate":25.0,"rating":"high"})");
  CHECK(worker.get("/metrics/change-failure-rate?service=" + a + "&days=7").second ==
        R"({"service":")" + a + R"(","period_days":7,"total_deployments":5,"failed_deployments":1,)"
        R"("change_failure_rate":20.0,"rating":"high"})");
  CHECK(worker.get("/metrics/change-failure-rate?service=" + b).second ==
        R"({"service":")" + b + R"(","period_days":30,"total_deployments":3,"failed_deployments":3,)"
        R"("change_failure_rate":100.0,"rating":"low"})");
  CHECK(worker.get("/metrics/change-failure-rate?service=" + e + "&days=7").second ==
        R"({"service":")" + e + R"(","period_days":7,"total_deployments":2,"failed_deployments":1,)"
        R"("change_failure_rate":50.0,"rating":"low"})");
  CHECK(worker.get("/metrics/change-failure-rate?service=" + d + "&days=365").second ==
        R"({"service":")" + d + R"(","period_days":365,"total_deployments":0,"failed_deployments":0,)"
        R"("change_failure_rate":0,"rating":"elite"})");

  // FastAPI's validation answers.
  {
    const auto [status, body] = worker.get("/metrics/dora/" + a + "?days=soon");
    const auto peer = seed.get("/metrics/dora/" + a + "?days=soon");
    CHECK(status == 422);
    CHECK(peer.status == 422);
    CHECK(body == peer.body);
  }
  CHECK(worker.get("/metrics/change-failure-rate?days=7") ==
        std::pair<int, std::string>{422, R"({"detail":[{"loc":["query","service"],"msg":"field required","type":"value_error.missing"}]})"});
  CHECK(worker.get("/metrics/change-failure-rate?service=x&days=0") ==
        std::pair<int, std::string>{422, R"({"detail":[{"loc":["query","days"],"msg":"ensure this value is greater than or equal to 1","type":"value_error.number.not_ge","ctx":{"limit_value":1}}]})"});
  CHECK(worker.get("/metrics/dora/x?days=366") ==
        std::pair<int, std::string>{422, R"({"detail":[{"loc":["query","days"],"msg":"ensure this value is less than or equal to 365","type":"value_error.number.not_le","ctx":{"limit_value":365}}]})"});
  CHECK(worker.get("/metrics/dora/" + a + "?days=+7").second == worker.get("/metrics/dora/" + a + "?days=7").second);
}
