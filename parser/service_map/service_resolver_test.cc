// apply_service_map on envelopes as the normalizers make them, with the
// example map: repositories, a monorepo's deployments, PagerDuty ids and
// names, CDEvents sources, API names, environment aliases.

#include "parser/service_map/service_resolver.h"

#include <catch2/catch.hpp>

using namespace fourkeys::parser;

namespace {

Envelope event(const std::string& source, const std::string& service, const std::string& repository = "") {
  Envelope e;
  e.source = source;
  e.service = service;
  e.repository = repository;
  return e;
}

Envelope deployment(const std::string& source, const std::string& repository, const std::string& environment) {
  Envelope e = event(source, repository, repository);
  e.kind = Kind::deployment;
  e.deployment = Deployment{};
  e.deployment->environment = environment;
  return e;
}

}  // namespace

TEST_CASE("the service map names services and teams and canonical environments", "[service-map]") {
  const auto map = ServiceMap::load_file(FOURKEYS_EXAMPLE_SERVICE_MAP);

  SECTION("a repository that builds one service") {
    Envelope e = deployment("gitlab", "Acme/Web/Storefront", "prod");
    CHECK(apply_service_map(*map, e));
    CHECK(e.service == "storefront");
    CHECK(e.team == "discovery");
    CHECK(e.deployment->environment == "production");
  }

  SECTION("a monorepo's deployments by environment, task, payload service or workflow") {
    Envelope by_env = deployment("github", "acme/shop", "checkout-production");
    CHECK(apply_service_map(*map, by_env));
    CHECK(by_env.service == "checkout");
    CHECK(by_env.team == "payments");
    CHECK(by_env.deployment->environment == "production");  // checkout-production is an alias

    Envelope by_task = deployment("github", "acme/shop", "production");
    by_task.origin.deployment_task = "deploy:cart";
    CHECK(apply_service_map(*map, by_task));
    CHECK(by_task.service == "cart");

    Envelope by_payload = deployment("github", "acme/shop", "production");
    by_payload.origin.deployment_service = "deploy:checkout";
    CHECK(apply_service_map(*map, by_payload));
    CHECK(by_payload.service == "checkout");

    Envelope by_workflow = deployment("github", "acme/shop", "production");
    by_workflow.origin.workflow = "Deploy search";
    CHECK(apply_service_map(*map, by_workflow));
    CHECK(by_workflow.service == "search");
    CHECK(by_workflow.team == "discovery");

    // Nothing says which of the three: the repository's name stays.
    Envelope unknown = deployment("github", "acme/shop", "production");
    CHECK_FALSE(apply_service_map(*map, unknown));
    CHECK(unknown.service == "acme/shop");
    CHECK(unknown.team.empty());
  }

  SECTION("PagerDuty incidents by service id or name") {
    Envelope by_id = event("pagerduty", "Some other name");
    by_id.kind = Kind::incident;
    by_id.incident = Incident{};
    by_id.incident->environment = "Production";
    by_id.origin.pagerduty_service_id = "PCHK001";
    CHECK(apply_service_map(*map, by_id));
    CHECK(by_id.service == "checkout");
    CHECK(by_id.incident->environment == "production");

    Envelope by_name = event("pagerduty", "checkout api");
    CHECK(apply_service_map(*map, by_name));
    CHECK(by_name.service == "checkout");

    Envelope unmapped = event("pagerduty", "Billing");
    unmapped.origin.pagerduty_service_id = "PBILL";
    CHECK_FALSE(apply_service_map(*map, unmapped));
    CHECK(unmapped.service == "Billing");
  }

  SECTION("CDEvents by source, the API by service name") {
    Envelope cd = event("cdevents", "storefront-prod-deployer");
    cd.origin.cdevents_source = "/ci/storefront";
    CHECK(apply_service_map(*map, cd));
    CHECK(cd.service == "storefront");

    Envelope api = event("api", "cart");
    CHECK(apply_service_map(*map, api));
    CHECK(api.team == "payments");

    Envelope other = event("api", "billing");
    CHECK_FALSE(apply_service_map(*map, other));
    CHECK(other.service == "billing");
  }

  SECTION("environments are canonical even for unmapped services") {
    Envelope e = deployment("github", "acme/unmapped", "prd");
    CHECK_FALSE(apply_service_map(*map, e));
    CHECK(e.deployment->environment == "production");
    CHECK(e.service == "acme/unmapped");
  }
}

namespace {

Commit commit(const std::string& sha, std::vector<std::string> files) {
  Commit c;
  c.sha = sha;
  c.files = std::move(files);
  return c;
}

Envelope push(const std::string& source, const std::string& repository, std::vector<Commit> commits) {
  Envelope e = event(source, repository, repository);
  e.id = source + ":delivery-1";
  e.kind = Kind::change;
  e.change = Change{};
  e.change->before = "b0";
  e.change->after = commits.empty() ? "" : commits.back().sha;
  e.change->commits = std::move(commits);
  return e;
}

std::vector<std::string> shas(const Envelope& e) {
  std::vector<std::string> out;
  for (const auto& c : e.change->commits) out.push_back(c.sha);
  return out;
}

}  // namespace

TEST_CASE("a monorepo's push is split by the files its commits touch", "[service-map]") {
  const auto map = ServiceMap::load_file(FOURKEYS_EXAMPLE_SERVICE_MAP);

  const auto parts = resolve_services(
      *map, push("github", "Acme/Shop",
                 {commit("c1", {"services/checkout/api.go"}),
                  commit("c2", {"services/cart/cart.go", "libs/payments/money.go"}),  // cart and checkout
                  commit("c3", {"README.md"}),                                         // no service
                  commit("c4", {}),                                                    // lists no files: all
                  commit("c5", {"services/search/index.go"})}));
  REQUIRE(parts.size() == 3);
  // The map's order, each part its own stable id and key.
  CHECK(parts[0].service == "checkout");
  CHECK(parts[0].team == "payments");
  CHECK(parts[0].id == "github:delivery-1#checkout");
  CHECK(parts[1].service == "cart");
  CHECK(parts[1].id == "github:delivery-1#cart");
  CHECK(parts[2].service == "search");
  CHECK(parts[2].team == "discovery");
  CHECK(parts[2].id == "github:delivery-1#search");
  for (const auto& p : parts) {
    CHECK(p.part_of == "github:delivery-1");
    CHECK(p.change->chain == std::vector<std::string>{"c1", "c2", "c3", "c4", "c5"});
    CHECK(p.change->before == "b0");
    CHECK(p.change->after == "c5");
  }
  CHECK(shas(parts[0]) == std::vector<std::string>{"c1", "c2", "c4"});
  CHECK(shas(parts[1]) == std::vector<std::string>{"c2", "c4"});
  CHECK(shas(parts[2]) == std::vector<std::string>{"c4", "c5"});

  SECTION("a service no commit touched still gets the chain") {
    const auto only_cart = resolve_services(*map, push("github", "acme/shop", {commit("d1", {"services/cart/x"})}));
    REQUIRE(only_cart.size() == 3);
    CHECK(only_cart[0].change->commits.empty());
    CHECK(only_cart[0].change->chain == std::vector<std::string>{"d1"});
    CHECK(shas(only_cart[1]) == std::vector<std::string>{"d1"});
  }

  SECTION("the same delivery gives the same parts") {
    const auto again = resolve_services(
        *map, push("github", "acme/shop", {commit("c1", {"services/checkout/api.go"})}));
    CHECK(again[0].id == parts[0].id);
  }

  SECTION("a path prefix matches whole names only as written") {
    const auto near = resolve_services(*map, push("github", "acme/shop", {commit("e1", {"services/checkoutx/y"})}));
    CHECK(near[0].change->commits.empty());
  }

  SECTION("a path names a whole folder, with or without a trailing slash") {
    const auto folders = ServiceMap::parse(
        "services:\n  - name: cart\n    github: o/m\n    paths: [services/cart]\n"
        "    deployments: {tasks: [cart]}\n"
        "  - name: docs\n    github: o/m\n    paths: [./docs]\n    deployments: {tasks: [docs]}\n",
        "inline");
    const auto split = resolve_services(
        *folders, push("github", "o/m",
                       {commit("h1", {"services/cartography/x"}), commit("h2", {"services/cart/y"}),
                        commit("h3", {"docs/index.md"}), commit("h4", {"docsx/a.md", "README.md"})}));
    REQUIRE(split.size() == 2);
    CHECK(shas(split[0]) == std::vector<std::string>{"h2"});
    CHECK(shas(split[1]) == std::vector<std::string>{"h3"});
  }

  SECTION("pushes to other repositories, merges and deployments are not split") {
    const auto other = resolve_services(*map, push("gitlab", "acme/web/storefront", {commit("f1", {"a"})}));
    REQUIRE(other.size() == 1);
    CHECK(other[0].service == "storefront");
    CHECK(other[0].part_of.empty());
    CHECK(other[0].change->chain.empty());

    Envelope merge = push("github", "acme/shop", {commit("g1", {"services/cart/x"})});
    merge.change->number = 7;
    const auto merged = resolve_services(*map, std::move(merge));
    REQUIRE(merged.size() == 1);
    CHECK(merged[0].service == "acme/shop");

    const auto deployed = resolve_services(*map, deployment("github", "acme/shop", "cart-production"));
    REQUIRE(deployed.size() == 1);
    CHECK(deployed[0].service == "cart");
  }
}
