#include "parser/service_map/service_resolver.h"

#include <algorithm>

namespace fourkeys::parser {
namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return !name.empty() && std::find(names.begin(), names.end(), name) != names.end();
}

// Of several services built from one repository, the one this deployment
// is for, or null.
const MappedService* deployment_service(const std::vector<const MappedService*>& candidates, const Envelope& e) {
  const std::string& environment = e.deployment->environment;  // as sent: aliases come after
  for (const MappedService* s : candidates) {
    const DeploymentMatch& m = s->deployments;
    if (contains(m.environments, environment) || contains(m.tasks, e.origin.deployment_task) ||
        contains(m.tasks, e.origin.deployment_service) || contains(m.workflows, e.origin.workflow)) {
      return s;
    }
  }
  return nullptr;
}

const MappedService* service_of_repository(const ServiceMap& map, const Envelope& e) {
  if (e.repository.empty()) return nullptr;
  const std::string source = e.source == "cdevents" ? "github" : e.source;
  auto candidates = map.services_of_repository(source, e.repository);
  if (candidates.empty() && e.source == "cdevents") candidates = map.services_of_repository("gitlab", e.repository);
  if (candidates.size() == 1) return candidates.front();
  if (candidates.size() > 1 && e.deployment) return deployment_service(candidates, e);
  return nullptr;
}

const MappedService* find_service(const ServiceMap& map, const Envelope& e) {
  if (e.source == "pagerduty") {
    return map.service_of_pagerduty(e.origin.pagerduty_service_id, e.service);
  }
  if (e.source == "cdevents") {
    if (const auto* s = map.service_of_cdevents(e.origin.cdevents_source)) return s;
  }
  if (e.source == "github" || e.source == "gitlab" || e.source == "cdevents") {
    if (const auto* s = service_of_repository(map, e)) return s;
  }
  return map.find(e.service);
}

}  // namespace

bool apply_service_map(const ServiceMap& map, Envelope& envelope) {
  const MappedService* service = find_service(map, envelope);
  if (envelope.deployment) envelope.deployment->environment = map.environment(envelope.deployment->environment);
  if (envelope.incident && !envelope.incident->environment.empty()) {
    envelope.incident->environment = map.environment(envelope.incident->environment);
  }
  if (!service) return false;
  envelope.service = service->name;
  envelope.team = service->team;
  return true;
}

}  // namespace fourkeys::parser
