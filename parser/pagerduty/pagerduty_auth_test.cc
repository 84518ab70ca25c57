// X-PagerDuty-Signature verification, with go-pagerduty's test vector, and
// how the source recognizes PagerDuty deliveries on `POST /`.
#include <catch2/catch.hpp>

#include "parser/pagerduty/pagerduty_signature.h"
#include "parser/pagerduty/pagerduty_source.h"
#include "tests/support/fixtures.h"

namespace fourkeys::parser {
namespace {

// From PagerDuty/go-pagerduty webhookv3_test.go (see fixtures/SOURCES.md).
constexpr const char* kSecret = "lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK";
constexpr const char* kGood = "v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd";
constexpr const char* kWrong =
    "v1=7020c8a7ec668a9b7012bc3dd82e483394b038f4230acc6785efbf2a7d8bcaf5";

std::string signed_body() {
  return testing::read_fixture("pagerduty/v3/incident.priority_updated.go-pagerduty-signed.json");
}

SourceSettings settings_with(std::vector<std::string> secrets) {
  SourceSettings s;
  s.pagerduty_secrets.values = std::move(secrets);
  s.pagerduty_secrets.origin = "FOURKEYS_PAGERDUTY_SECRET";
  return s;
}

AuthResult authenticate(const SourceSettings& settings, const Headers& headers,
                        const std::string& body) {
  const auto source = make_pagerduty_source(settings);
  return source->authenticate(Delivery{"/webhooks/pagerduty", headers, body});
}

}  // namespace

TEST_CASE("the signed fixture is byte-exact (no trailing newline)", "[pagerduty][auth]") {
  const std::string body = signed_body();
  CHECK(body.size() == 1655);
  CHECK(body.back() == '}');
}

TEST_CASE("PagerDuty signatures", "[pagerduty][auth]") {
  const std::string body = signed_body();
  const auto one_secret = settings_with({kSecret});

  SECTION("the documented signature is accepted") {
    CHECK(authenticate(one_secret, {{"X-PagerDuty-Signature", kGood}}, body).ok());
  }
  SECTION("header names compare case-insensitively, hex case does not matter") {
    std::string upper = kGood;
    for (std::size_t i = 3; i < upper.size(); ++i)
      upper[i] = static_cast<char>(std::toupper(upper[i]));
    CHECK(authenticate(one_secret, {{"x-pagerduty-signature", upper}}, body).ok());
  }
  SECTION("a non-matching signature is a mismatch") {
    const auto r = authenticate(one_secret, {{"X-PagerDuty-Signature", kWrong}}, body);
    CHECK(r.status == AuthStatus::mismatch);
    CHECK(r.message.find(kSecret) == std::string::npos);
  }
  SECTION("one changed byte of the body is a mismatch") {
    std::string tampered = body;
    tampered[10] = tampered[10] == 'a' ? 'b' : 'a';
    CHECK(authenticate(one_secret, {{"X-PagerDuty-Signature", kGood}}, tampered).status ==
          AuthStatus::mismatch);
  }
  SECTION("no header is missing") {
    CHECK(authenticate(one_secret, {{"Content-Type", "application/json"}}, body).status ==
          AuthStatus::missing);
  }
  SECTION("a header with no v1 entry is missing") {
    const std::string v0 = std::string("v0=") + (kGood + 3);
    CHECK(authenticate(one_secret, {{"X-PagerDuty-Signature", v0}}, body).status ==
          AuthStatus::missing);
  }
  SECTION("no secret configured: not_configured naming the setting") {
    const auto r = authenticate(SourceSettings{}, {{"X-PagerDuty-Signature", kGood}}, body);
    CHECK(r.status == AuthStatus::not_configured);
    CHECK(r.message.find("FOURKEYS_PAGERDUTY_SECRET") != std::string::npos);
    CHECK(r.message.find("FOURKEYS_PAGERDUTY_SECRET_FILE") != std::string::npos);
  }
}

TEST_CASE("PagerDuty secret rotation", "[pagerduty][auth]") {
  const std::string body = signed_body();
  SECTION("several entries in the header, the right one last") {
    const std::string header = std::string(kWrong) + "," + kGood;
    CHECK(authenticate(settings_with({kSecret}), {{"X-PagerDuty-Signature", header}}, body).ok());
  }
  SECTION("entries separated by a comma and spaces, other versions skipped") {
    const std::string header = std::string("v2=abc, ") + kWrong + " ,  " + kGood;
    CHECK(authenticate(settings_with({kSecret}), {{"X-PagerDuty-Signature", header}}, body).ok());
  }
  SECTION("two configured secrets, the second matches") {
    CHECK(authenticate(settings_with({"the-old-secret", kSecret}),
                       {{"X-PagerDuty-Signature", kGood}}, body)
              .ok());
  }
  SECTION("two configured secrets, neither matches") {
    CHECK(authenticate(settings_with({"the-old-secret", "another"}),
                       {{"X-PagerDuty-Signature", kGood}}, body)
              .status == AuthStatus::mismatch);
  }
}

TEST_CASE("PagerDuty signature header parsing", "[pagerduty][auth]") {
  const auto sigs = pagerduty_v1_signatures("v1=aa, v1=bb,v0=cc ,v1=dd,garbage,");
  REQUIRE(sigs.size() == 3);
  CHECK(sigs[0] == "aa");
  CHECK(sigs[1] == "bb");
  CHECK(sigs[2] == "dd");
  CHECK(pagerduty_v1_signatures("").empty());
}

TEST_CASE("the PagerDuty source's name, route and recognition", "[pagerduty]") {
  const auto source = make_pagerduty_source(SourceSettings{});
  CHECK(source->name() == "pagerduty");
  CHECK(source->routes() == std::vector<std::string>{"/webhooks/pagerduty"});
  CHECK(source->recognizes({{"x-pagerduty-signature", "v1=00"}}));
  CHECK(source->recognizes({{"User-Agent", "PagerDuty-Webhook/V3.0"}}));
  CHECK_FALSE(source->recognizes({{"User-Agent", "GitHub-Hookshot/abc"}}));
  CHECK_FALSE(source->recognizes({}));
}

TEST_CASE("the source normalizes through the interface", "[pagerduty]") {
  const auto source = make_pagerduty_source(SourceSettings{});
  const std::string body = testing::read_fixture("pagerduty/v3/incident.resolved.zulip.json");
  const Headers headers{{"Content-Type", "application/json"}};
  NormalizeOptions options;
  options.received_at_millis = 1700000000000;
  const Outcome out = source->normalize(Delivery{"/webhooks/pagerduty", headers, body}, options);
  REQUIRE(out.disposition == Disposition::publish);
  CHECK(out.envelope.incident->id == "PCPZE64");
}

}  // namespace fourkeys::parser
