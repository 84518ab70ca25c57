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
