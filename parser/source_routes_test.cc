#include "parser/registry.h"
#include "parser/source_routes.h"

#include <catch2/catch.hpp>

namespace fourkeys::parser {
namespace {

std::string name_of(const Source* s) { return s ? std::string(s->name()) : "(none)"; }

Headers headers_of(std::initializer_list<std::pair<const char*, const char*>> fields) {
  Headers h;
  for (const auto& [name, value] : fields) h.add(name, value);
  return h;
}

// A source that names a route and recognizes nothing.
class RouteOnly final : public Source {
 public:
  RouteOnly(std::string name, std::string route) : name_(std::move(name)), route_(std::move(route)) {}
  std::string_view name() const override { return name_; }
  std::vector<std::string> routes() const override { return {route_}; }
  bool recognizes(const Headers&) const override { return false; }
  AuthResult authenticate(const Delivery&) const override { return {}; }
  Outcome normalize(const Delivery&, const NormalizeOptions&) const override { return {}; }

 private:
  std::string name_, route_;
};

}  // namespace

TEST_CASE("each route of the registered sources finds its source", "[routes]") {
  const auto sources = build_sources(SourceSettings{});
  const SourceRoutes routes(sources);
  for (const auto& s : sources) {
    for (const auto& route : s->routes()) {
      INFO(route);
      CHECK(name_of(routes.by_path(route)) == s->name());
      // The path decides, whatever the headers say.
      CHECK(name_of(routes.find(route, headers_of({{"X-Gitlab-Event", "Push Hook"}}))) == s->name());
    }
  }
  CHECK(routes.by_path("/webhooks/bitbucket") == nullptr);
  CHECK(routes.by_path("/webhooks/github/") == nullptr);  // exact match only
  CHECK(routes.find("/webhooks/bitbucket", headers_of({{"X-GitHub-Event", "push"}})) == nullptr);
}

TEST_CASE("POST / finds the sender by its headers, as Four Keys does", "[routes]") {
  const auto sources = build_sources(SourceSettings{});
  const SourceRoutes routes(sources);
  CHECK(name_of(routes.find("/", headers_of({{"X-GitHub-Event", "push"}}))) == "github");
  CHECK(name_of(routes.find("/", headers_of({{"User-Agent", "GitHub-Hookshot/abc"}}))) == "github");
  CHECK(name_of(routes.find("/", headers_of({{"X-Gitlab-Event", "Push Hook"}}))) == "gitlab");
  CHECK(name_of(routes.find("/", headers_of({{"X-PagerDuty-Signature", "v1=00"}}))) == "pagerduty");
  CHECK(name_of(routes.find("/", headers_of({{"ce-specversion", "1.0"}}))) == "cdevents");
  CHECK(routes.find("/", headers_of({{"User-Agent", "curl/8"}})) == nullptr);
  // Headers of two senders: the first registered wins.
  CHECK(name_of(routes.find("/", headers_of({{"X-Gitlab-Event", "Push Hook"}, {"X-GitHub-Event", "push"}}))) ==
        "github");
  // Only "/" looks at the headers.
  CHECK(routes.find("/other", headers_of({{"X-GitHub-Event", "push"}})) == nullptr);
}

TEST_CASE("a route two sources name goes to the later one", "[routes]") {
  std::vector<std::unique_ptr<Source>> sources;
  sources.push_back(std::make_unique<RouteOnly>("first", "/shared"));
  sources.push_back(std::make_unique<RouteOnly>("second", "/shared"));
  sources.push_back(std::make_unique<RouteOnly>("third", "/own"));
  const SourceRoutes routes(sources);
  CHECK(name_of(routes.by_path("/shared")) == "second");
  CHECK(name_of(routes.by_path("/own")) == "third");
  CHECK(routes.by_headers(Headers{}) == nullptr);
}

}  // namespace fourkeys::parser
