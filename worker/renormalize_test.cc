// DeliveryRenormalizer against the receiver's own path (normalize, then
// envelopes_to_publish, then serialize_envelope): the same settings give
// the same envelope text; a changed map gives what a receiver with that map
// would have published.
#include "worker/renormalize.h"

#include "parser/registry.h"
#include "parser/service_map/service_resolver.h"
#include "tests/support/fixtures.h"
#include "worker/decode.h"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace fourkeys;
using namespace fourkeys::worker;

namespace {

constexpr std::int64_t kReceivedAt = 1'746'186'917'204;  // 2025-05-02T11:55:17.204Z

// The envelope texts a receiver with `map` publishes for this delivery.
std::vector<std::string> received(const std::string& path, const parser::Headers& headers, const std::string& body,
                                  const parser::ServiceMap* map) {
  const auto sources = parser::build_sources(parser::SourceSettings{});
  const parser::Source* source = nullptr;
  for (const auto& s : sources) {
    for (const auto& route : s->routes()) {
      if (route == path) source = s.get();
    }
  }
  REQUIRE(source);
  parser::NormalizeOptions options;
  options.received_at_millis = kReceivedAt;
  const parser::Delivery delivery{path, headers, body};
  parser::Outcome outcome = source->normalize(delivery, options);
  REQUIRE(outcome.disposition == parser::Disposition::publish);
  const std::string raw_text = std::move(outcome.envelope.raw_text);
  const std::string_view raw_json = raw_text.empty() ? std::string_view(body) : std::string_view(raw_text);
  std::vector<std::string> texts;
  for (const auto& e : parser::envelopes_to_publish(std::move(outcome.envelope), delivery, map)) {
    texts.push_back(parser::serialize_envelope(e, raw_json));
  }
  return texts;
}

parser::Headers github(const std::string& event, const std::string& delivery,
                       const std::string& content_type = "application/json") {
  return parser::Headers{{"X-GitHub-Event", event},
                         {"X-GitHub-Delivery", delivery},
                         {"X-Hub-Signature-256", "sha256=not-kept"},
                         {"Content-Type", content_type},
                         {"User-Agent", "GitHub-Hookshot/abc"}};
}

std::string monorepo_push() {
  return R"({"ref":"refs/heads/main","before":"a0a0a0a","after":"c3c3c3c",
    "repository":{"full_name":"acme/shop","pushed_at":1746186900},
    "commits":[
      {"id":"c1c1c1c","timestamp":"2025-05-02T10:00:00Z","message":"checkout: fix","author":{"name":"A"},
       "added":[],"modified":["services/checkout/pay.go"],"removed":[]},
      {"id":"c2c2c2c","timestamp":"2025-05-02T10:10:00Z","message":"money","author":{"name":"B"},
       "added":["libs/payments/m.go","services/cart/c.go"],"modified":[],"removed":[]},
      {"id":"c3c3c3c","timestamp":"2025-05-02T10:20:00Z","message":"docs","author":{"name":"C"},
       "added":[],"modified":["README.md"],"removed":[]}],
    "head_commit":{"id":"c3c3c3c","timestamp":"2025-05-02T10:20:00Z","message":"docs","author":{"name":"C"}}})";
}

std::vector<std::string> renormalized(const DeliveryRenormalizer& r, const std::vector<std::string>& stored) {
  std::vector<std::string> out;
  std::string delivery;
  for (const auto& text : stored) {
    const Renormalized result = r.renormalize(text);
    CHECK(result.outcome == Renormalized::Outcome::renormalized);
    CHECK(result.stored_part == (text.find("\"part_of\":") != std::string::npos));
    // Every part names the same delivery, so a rebuild normalizes it once.
    if (!delivery.empty()) CHECK(result.delivery_id == delivery);
    delivery = result.delivery_id;
    if (out.empty()) out = result.envelopes;
    CHECK(result.envelopes == out);
  }
  return out;
}

}  // namespace

TEST_CASE("stored_raw_text finds the top-level raw member byte for byte", "[renormalize]") {
  CHECK(stored_raw_text(R"({"a":"\"raw\":1","b":{"raw":2},"raw" :  {"x":[1,"}]\""],"y" : 2.5e3 } })") ==
        std::string_view(R"({"x":[1,"}]\""],"y" : 2.5e3 })"));
  CHECK(stored_raw_text(R"({"raw":null})") == std::string_view("null"));
  CHECK(stored_raw_text(R"({"raw":"text"})") == std::string_view(R"("text")"));
  CHECK(stored_raw_text(R"({"a":[{"raw":1}],"raw":-12})") == std::string_view("-12"));
  CHECK_FALSE(stored_raw_text(R"({"a":{"raw":1}})"));
  CHECK_FALSE(stored_raw_text("[1]"));
}

TEST_CASE("the same settings give back the envelopes the receiver published", "[renormalize]") {
  const DeliveryRenormalizer renormalizer(RenormalizeSettings{});

  SECTION("every GitHub push fixture") {
    for (const auto& fixture : testing::list_fixtures("github/push")) {
      INFO(fixture);
      const std::string body = testing::read_fixture(fixture);
      const parser::Headers headers = github("push", "d-" + fixture);
      parser::NormalizeOptions options;
      const auto sources = parser::build_sources(parser::SourceSettings{});
      if (sources.front()->normalize({"/webhooks/github", headers, body}, options).disposition !=
          parser::Disposition::publish) {
        continue;  // a tag deletion is ignored by both
      }
      const auto stored = received("/webhooks/github", headers, body, nullptr);
      CHECK(renormalized(renormalizer, stored) == stored);
      CHECK_FALSE(stored.front().find("not-kept") != std::string::npos);  // no signature kept
    }
  }

  SECTION("a GitLab push") {
    const auto fixtures = testing::list_fixtures("gitlab/push");
    REQUIRE_FALSE(fixtures.empty());
    const parser::Headers headers{{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", "secret-not-kept"},
                                  {"X-Gitlab-Event-UUID", "u-1"}, {"Content-Type", "application/json"}};
    const auto stored = received("/webhooks/gitlab", headers, testing::read_fixture(fixtures.front()), nullptr);
    CHECK(renormalized(renormalizer, stored) == stored);
    CHECK(stored.front().find("secret-not-kept") == std::string::npos);
  }

  SECTION("the seed's deployment API") {
    const parser::Headers headers{{"Authorization", "Bearer token-not-kept"}, {"Content-Type", "application/json"}};
    const std::string body =
        R"({"service":"billing","environment":"prod","commit_sha":"abc1234","status":"success",)"
        R"("timestamp":"2025-05-02T11:00:00Z","commit_timestamp":"2025-05-02T09:00:00Z"})";
    const auto stored = received("/events/deployment", headers, body, nullptr);
    CHECK(renormalized(renormalizer, stored) == stored);
    CHECK(stored.front().find("token-not-kept") == std::string::npos);
  }

  SECTION("an envelope without its delivery is kept as it is") {
    const std::string old = R"({"schema":"fourkeys.event.v1","id":"api:x","raw":{}})";
    const Renormalized result = renormalizer.renormalize(old);
    CHECK(result.outcome == Renormalized::Outcome::kept);
    CHECK(result.envelopes == std::vector<std::string>{old});
  }
}

TEST_CASE("a changed map gives what a receiver with that map would have published", "[renormalize]") {
  const auto map = parser::ServiceMap::load_file(FOURKEYS_EXAMPLE_SERVICE_MAP);
  const std::string body = monorepo_push();
  const parser::Headers headers = github("push", "mono-1");
  const auto without_map = received("/webhooks/github", headers, body, nullptr);
  const auto with_map = received("/webhooks/github", headers, body, map.get());
  REQUIRE(without_map.size() == 1);
  REQUIRE(with_map.size() == 3);
  for (const auto& text : with_map) {
    INFO(text);
    CHECK(std::holds_alternative<DecodedEvent>(decode_envelope(text)));
  }

  RenormalizeSettings settings;
  settings.service_map = map;
  const DeliveryRenormalizer mapped(settings);
  CHECK(renormalized(mapped, without_map) == with_map);
  CHECK(renormalized(mapped, with_map) == with_map);

  // The split parts decode to this service's commits on the whole chain.
  const auto checkout = std::get<DecodedEvent>(decode_envelope(with_map[0]));
  CHECK(checkout.service == "checkout");
  CHECK(checkout.team == "payments");
  REQUIRE(checkout.push);
  CHECK(checkout.push->commit_shas == std::vector<std::string>{"c1c1c1c", "c2c2c2c", "c3c3c3c"});
  REQUIRE(checkout.changes.size() == 2);
  CHECK(checkout.changes[0].change_id == "c1c1c1c");
  CHECK(checkout.changes[1].change_id == "c2c2c2c");
  const auto search = std::get<DecodedEvent>(decode_envelope(with_map[2]));
  CHECK(search.service == "search");
  CHECK(search.changes.empty());
  CHECK(search.push->commit_shas.size() == 3);

  // And back: without the map, the parts become the one delivery again.
  const DeliveryRenormalizer unmapped(RenormalizeSettings{});
  CHECK(renormalized(unmapped, with_map) == without_map);
}
