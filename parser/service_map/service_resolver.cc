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

namespace {

// The services a push's commits are split between, or none when the
// repository's services are not told apart by paths.
std::vector<const MappedService*> path_services(const ServiceMap& map, const Envelope& e) {
  if (!e.change || e.change->number || e.change->commits.empty()) return {};
  if (e.source != "github" && e.source != "gitlab") return {};
  auto candidates = map.services_of_repository(e.source, e.repository);
  const bool by_paths = std::any_of(candidates.begin(), candidates.end(),
                                    [](const MappedService* s) { return !s->paths.empty(); });
  return by_paths ? candidates : std::vector<const MappedService*>{};
}

bool touches(const MappedService& service, const Commit& commit) {
  if (commit.files.empty()) return true;
  return std::any_of(commit.files.begin(), commit.files.end(),
                     [&](const std::string& path) { return service.owns_path(path); });
}

}  // namespace

std::vector<Envelope> resolve_services(const ServiceMap& map, Envelope envelope) {
  const auto services = path_services(map, envelope);
  apply_service_map(map, envelope);
  std::vector<Envelope> parts;
  if (services.empty()) {
    parts.push_back(std::move(envelope));
    return parts;
  }
  std::vector<std::string> chain;
  chain.reserve(envelope.change->commits.size());
  for (const Commit& c : envelope.change->commits) chain.push_back(c.sha);
  parts.reserve(services.size());
  for (const MappedService* service : services) {
    Envelope part;
    // The last part takes the original instead of copying it.
    if (service == services.back()) {
      part = std::move(envelope);
    } else {
      part = envelope;
    }
    std::vector<Commit> kept;
    for (Commit& c : part.change->commits) {
      if (touches(*service, c)) kept.push_back(std::move(c));
    }
    part.change->commits = std::move(kept);
    part.change->chain = chain;
    part.service = service->name;
    part.team = service->team;
    if (services.size() > 1) {
      part.part_of = part.id;
      part.id += "#" + service->name;
    }
    parts.push_back(std::move(part));
  }
  return parts;
}

std::vector<Envelope> envelopes_to_publish(Envelope envelope, const Delivery& delivery, const ServiceMap* map) {
  envelope.delivery_path = std::string(delivery.path);
  envelope.delivery_headers = normalization_headers(delivery.headers);
  envelope.raw = RawJson();
  if (map) return resolve_services(*map, std::move(envelope));
  std::vector<Envelope> one;
  one.push_back(std::move(envelope));
  return one;
}

}  // namespace fourkeys::parser
