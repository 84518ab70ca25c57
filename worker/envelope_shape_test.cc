// The schema's rules written out (envelope_shape.h) against valijson reading
// schemas/event.v1.schema.json: the same answer for a set of envelopes and
// for every single change to them (each member removed, replaced by values
// of every JSON type and by texts each rule cares about, an unknown member
// added to each object, items added to and replaced in each array).
#include "worker/envelope_shape.h"

#include "common/json.h"
#include "worker/decode.h"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

using namespace fourkeys;
using namespace fourkeys::worker;

const char* const kEnvelopes[] = {
    // A push the service map split, with every optional envelope member.
    R"({"schema":"fourkeys.event.v1","id":"github:72d3162e","source":"github","source_event":"push",
        "kind":"change","service":"shop/api","team":"payments","repository":null,
        "received_at":"2024-03-01T10:00:00.000Z","occurred_at":"2024-03-01T09:59:00.123Z",
        "signature":"0123456789abcdef0123456789abcdef01234567","defaults":["environment","zone"],
        "change":{"ref":"refs/heads/main","before":"1111111111111111111111111111111111111111",
                  "after":"3333333333333333333333333333333333333333",
                  "commits":[{"sha":"2222222222222222222222222222222222222222","time":"2024-03-01T09:58:00.001Z",
                              "author":"Ada","title":"First"},
                             {"sha":"3333333333333333333333333333333333333333","time":null,"author":null,"title":null}],
                  "number":null,"merge_sha":null,"created_at":null,"merged_at":null,"base_ref":null,
                  "chain":["2222222222222222222222222222222222222222","3333333333333333333333333333333333333333"]},
        "part_of":"github:72d3162e-whole",
        "delivery":{"path":"/webhooks/github","headers":{"X-GitHub-Event":"push"}},
        "raw":{"ref":"refs/heads/main","commits":[{"id":"x"}]}})",
    // A merged pull request.
    R"({"schema":"fourkeys.event.v1","id":"gitlab:mr-7","source":"gitlab","source_event":"merge_request",
        "kind":"change","service":"shop/api","team":null,"repository":"shop/api",
        "received_at":"2024-03-01T10:00:00.000Z","occurred_at":"2024-03-01T10:00:00.000Z",
        "signature":"0123456789abcdef0123456789abcdef01234567","defaults":[],
        "change":{"ref":null,"before":null,"after":null,"commits":[],"number":42,
                  "merge_sha":"4444444444444444444444444444444444444444","created_at":"2024-02-28T08:00:00.000Z",
                  "merged_at":"2024-03-01T09:00:00.000Z","base_ref":"main"},
        "raw":{}})",
    // A deployment.
    R"({"schema":"fourkeys.event.v1","id":"api:deploy-1","source":"api","source_event":"deployment",
        "kind":"deployment","service":"shop/api","team":null,"repository":null,
        "received_at":"2024-03-01T10:00:00.000Z","occurred_at":"2024-03-01T10:00:00.000Z",
        "signature":"0123456789abcdef0123456789abcdef01234567","defaults":["id"],
        "deployment":{"id":"d-1","environment":"production","sha":"4444444444444444444444444444444444444444",
                      "status":"success","started_at":"2024-03-01T09:55:00.000Z",
                      "finished_at":"2024-03-01T10:00:00.000Z","is_rollback":false,"is_hotfix":true,
                      "additional_shas":["5555555555555555555555555555555555555555"],"commit_time":null},
        "raw":[1,"two",{"three":3}]})",
    // An incident.
    R"({"schema":"fourkeys.event.v1","id":"pagerduty:inc-1","source":"pagerduty","source_event":"incident.resolved",
        "kind":"incident","service":"shop/api","team":null,"repository":null,
        "received_at":"2024-03-01T10:00:00.000Z","occurred_at":"2024-03-01T10:00:00.000Z",
        "signature":"0123456789abcdef0123456789abcdef01234567","defaults":[],
        "incident":{"id":"INC-1","status":"resolved","created_at":"2024-03-01T09:00:00.000Z",
                    "resolved_at":"2024-03-01T10:00:00.000Z","root_cause_sha":null,"severity":"SEV2",
                    "title":"latency","environment":"production"},
        "raw":"text"})",
    // Another kind of delivery: the common members only.
    R"({"schema":"fourkeys.event.v1","id":"cdevents:x-1","source":"cdevents","source_event":"dev.cdevents.other",
        "kind":"other","service":"shop/api","team":null,"repository":null,
        "received_at":"2024-03-01T10:00:00.000Z","occurred_at":"2024-03-01T10:00:00.000Z",
        "signature":"0123456789abcdef0123456789abcdef01234567","defaults":[],"raw":null})",
};

// Values each member is set to in turn: every JSON type, and texts on both
// sides of each rule (times, ids, signatures, the enums' words).
std::vector<boost::json::value> candidates() {
  const char* const texts[] = {
      "", "x", "\n", "fourkeys.event.v1", "fourkeys.event.v2",
      "github:x", "github:", "gitlab:a:b", "api:a\nb", "pagerduty:a\rb", "cdevents:\xC3\xA9", "githubx:1", ":x",
      "2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.000Z\n", "2024-01-01T00:00:00Z", "2024-01-01 00:00:00.000Z",
      "2024-13-45T99:99:99.999Z", "2024-01-01T00:00:00.000z", "x2024-01-01T00:00:00.000Z",
      "0123456789abcdef0123456789abcdef01234567", "0123456789ABCDEF0123456789ABCDEF01234567",
      "0123456789abcdef0123456789abcdef0123456", "0123456789abcdef0123456789abcdef012345678",
      "0123456789abcdef0123456789abcdef0123456g", "2024-0a-01T00:00:00.000Z", "2024-01-01T00:00:00.00Z0",
      "github", "gitlab", "pagerduty", "api", "cdevents", "change", "deployment", "incident", "other",
      "id", "service", "environment", "zone", "occurred_at", "status", "success", "failure", "error",
      "in_progress", "queued", "cancelled", "open", "acknowledged", "resolved", "Success"};
  std::vector<boost::json::value> values = {nullptr, true, false, 0, -1, 7, 1.0, 1.5, 18446744073709551615ULL};
  for (const char* t : texts) values.emplace_back(t);
  values.emplace_back(boost::json::array{});
  values.emplace_back(boost::json::array{"x"});
  values.emplace_back(boost::json::array{""});
  values.emplace_back(boost::json::array{1});
  values.emplace_back(boost::json::object{});
  values.emplace_back(boost::json::object{{"x", 1}});
  values.emplace_back(boost::json::object{{"sha", "a"}, {"time", nullptr}, {"author", nullptr}, {"title", nullptr}});
  values.emplace_back(boost::json::object{{"path", "/p"}, {"headers", boost::json::object{}}});
  return values;
}

class Differ {
 public:
  explicit Differ(boost::json::value root) : root_(std::move(root)), candidates_(candidates()) {}

  void run() {
    compare("as it is");
    walk(root_, "$");
  }
  std::size_t compared() const { return compared_; }
  std::size_t accepted() const { return accepted_; }

 private:
  void compare(const std::string& change) {
    ++compared_;
    const std::string text = boost::json::serialize(root_);
    const bool fast = has_envelope_shape(root_);
    const std::string errors = envelope_schema_errors(text);
    if (errors.empty()) ++accepted_;
    INFO(change << "\n" << text << "\nvalijson: " << (errors.empty() ? "valid" : errors));
    CHECK(fast == errors.empty());
  }

  void each_candidate(boost::json::value& slot, const std::string& where) {
    const boost::json::value saved = slot;
    for (const auto& c : candidates_) {
      slot = c;
      compare(where + " = " + boost::json::serialize(c));
    }
    slot = saved;
  }

  void walk(boost::json::value& node, const std::string& path) {
    if (path == "$.raw") return;  // the sender's body: any JSON at all
    if (auto* o = node.if_object()) {
      o->emplace("zz", 1);
      compare(path + ": member zz added");
      o->erase("zz");
      std::vector<std::string> keys;
      for (const auto& kv : *o) keys.emplace_back(kv.key());
      for (const auto& key : keys) {
        const boost::json::value saved = o->at(key);
        o->erase(key);
        compare(path + ": member " + key + " removed");
        (*o)[key] = saved;
        each_candidate(o->at(key), path + "." + key);
        walk(o->at(key), path + "." + key);
      }
    } else if (auto* a = node.if_array()) {
      for (const auto& c : candidates_) {
        a->push_back(c);
        compare(path + ": item " + boost::json::serialize(c) + " added");
        a->pop_back();
      }
      for (std::size_t i = 0; i < a->size(); ++i) {
        const std::string where = path + "[" + std::to_string(i) + "]";
        each_candidate((*a)[i], where);
        walk((*a)[i], where);
      }
    }
  }

  boost::json::value root_;
  const std::vector<boost::json::value> candidates_;
  std::size_t compared_ = 0;
  std::size_t accepted_ = 0;
};

}  // namespace

TEST_CASE("envelope shape: the written-out rules give valijson's answer on every single change",
          "[decode][schema][shape]") {
  for (const char* envelope : kEnvelopes) {
    json::ParseError error;
    auto root = json::parse(envelope, error, json::Nesting::envelope);
    REQUIRE(root);
    INFO(envelope);
    REQUIRE(envelope_schema_errors(envelope).empty());
    Differ differ(std::move(*root));
    differ.run();
    // Both answers occur: the changes reach both sides of the rules.
    CHECK(differ.compared() > 500);
    CHECK(differ.accepted() > 10);
    CHECK(differ.accepted() < differ.compared() / 2);
  }
}
