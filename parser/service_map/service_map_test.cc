// The service map's format and checks: lookups on the example map, and each
// kind of bad file refused with the place and the reason.

#include "parser/service_map/service_map.h"

#include <catch2/catch.hpp>

using namespace fourkeys::parser;

namespace {

std::string error_of(const std::string& yaml) {
  try {
    ServiceMap::parse(yaml, "map.yaml");
  } catch (const ServiceMapError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("the example map: repositories, monorepo paths, PagerDuty, CDEvents and aliases", "[service-map]") {
  const auto map = ServiceMap::load_file(FOURKEYS_EXAMPLE_SERVICE_MAP);
  REQUIRE(map->services().size() == 4);

  const auto shop = map->services_of_repository("github", "Acme/Shop");
  REQUIRE(shop.size() == 3);
  CHECK(shop[0]->name == "checkout");
  CHECK(shop[0]->team == "payments");
  CHECK(shop[2]->team == "discovery");
  CHECK(map->services_of_repository("gitlab", "acme/shop").empty());
  CHECK(map->services_of_repository("gitlab", "acme/web/storefront").at(0)->name == "storefront");

  const MappedService& checkout = *map->find("checkout");
  CHECK(checkout.owns_path("services/checkout/api/main.go"));
  CHECK(checkout.owns_path("libs/payments/card.go"));
  CHECK_FALSE(checkout.owns_path("services/checkoutv2/main.go"));
  CHECK_FALSE(checkout.owns_path("services/cart/main.go"));
  CHECK(map->find("cart")->paths == std::vector<std::string>{"services/cart/"});
  CHECK(map->find("storefront")->owns_path("anything/at/all"));

  CHECK(map->service_of_pagerduty("PCHK001", "")->name == "checkout");
  CHECK(map->service_of_pagerduty("PUNKNOWN", "checkout api")->name == "checkout");
  CHECK(map->service_of_pagerduty("", "Search")->name == "search");
  CHECK(map->service_of_pagerduty("P1", "Billing") == nullptr);
  CHECK(map->service_of_cdevents("/ci/storefront")->name == "storefront");
  CHECK(map->service_of_cdevents("/ci/other") == nullptr);

  CHECK(map->environment("prod") == "production");
  CHECK(map->environment("Production") == "production");
  CHECK(map->environment("stg") == "staging");
  CHECK(map->environment("production") == "production");
  CHECK(map->environment("qa") == "qa");
  CHECK(map->counted("production"));
  CHECK_FALSE(map->counted("staging"));
}

TEST_CASE("a map without environments counts production and has no aliases", "[service-map]") {
  const auto map = ServiceMap::parse("services:\n  - name: api\n    github: acme/api\n", "inline");
  CHECK(map->counted_environments() == std::vector<std::string>{"production"});
  CHECK(map->environment("prod") == "prod");
  CHECK(map->find("api")->team.empty());
}

TEST_CASE("bad service maps are refused with the line, the column and what is wrong", "[service-map]") {
  CHECK(error_of("services:\n  - name: api\n    github: acme/api\n    pagerduty_id: P1\n") ==
        "service map map.yaml line 4, column 5: unknown key \"pagerduty_id\" in service \"api\" (allowed: name, "
        "team, github, gitlab, paths, deployments, pagerduty, cdevents)");
  CHECK(error_of("services:\n  - name: api\n  - name: web\n  - name: api\n") ==
        "service map map.yaml line 4, column 11: service \"api\" is declared twice (first at line 2)");
  CHECK(error_of("services:\n  - name: a\n    github: acme/shop\n  - name: b\n    github: Acme/Shop\n"
                 "    paths: [b/]\n") ==
        "service map map.yaml line 4, column 5: GitHub repository \"Acme/Shop\" is claimed by services \"a\" and "
        "\"b\"; a repository shared by several services needs \"paths\" on each of them");
  CHECK(error_of("services:\n  - name: a\n    github: acme/shop\n    paths: a/\n  - name: b\n"
                 "    github: acme/shop\n    paths: b/\n    deployments: {tasks: [deploy:b]}\n") ==
        "service map map.yaml line 2, column 5: service \"a\" shares repository \"acme/shop\" with other services "
        "but has no \"deployments\" saying which deployments are its own");
  const std::string bad_yaml = error_of("services:\n  - name: [api\n");
  CHECK(bad_yaml.rfind("service map map.yaml line 3, column 1: not valid YAML: ", 0) == 0);
  CHECK(error_of("services:\n  - name: a\n    pagerduty: P1\n  - name: b\n    pagerduty: p1\n") ==
        "service map map.yaml line 4, column 5: PagerDuty service \"p1\" is claimed by services \"a\" and \"b\"");
  CHECK(error_of("services:\n  - name: a\nenvironments:\n  aliases:\n    production: [prod]\n    live: prod\n") ==
        "service map map.yaml line 6, column 11: environment alias \"prod\" is given to both \"production\" and "
        "\"live\"");
  CHECK(error_of("services:\n  - team: x\n") == "service map map.yaml line 2, column 5: a service has no \"name\"");
  CHECK(error_of("services: []\n") == "service map map.yaml line 1, column 1: \"services\" is missing or empty");
  CHECK(error_of("services:\n  - name: a\n    github: shop\n") ==
        "service map map.yaml line 3, column 13: GitHub repository \"shop\" of service \"a\" must be \"owner/name\"");
  CHECK(error_of("services:\n  - name: a\n    team: [x]\n") ==
        "service map map.yaml line 3, column 11: \"team\" of service \"a\" must be a non-empty string");
  CHECK(error_of("services:\n  - name: a\n    name: b\n") ==
        "service map map.yaml line 3, column 5: key \"name\" appears twice in service \"a\"");
  CHECK(error_of("sevrices: []\n") ==
        "service map map.yaml line 1, column 1: unknown key \"sevrices\" in the top level (allowed: services, "
        "environments)");
  CHECK_THROWS_WITH(ServiceMap::load_file("/nonexistent/map.yaml"),
                    "service map /nonexistent/map.yaml: cannot be read");
}
