// Applies the service map to a normalized envelope: which service it is
// about, the team that owns it, and the environment's canonical name.
// Pure: the same map and envelope give the same result.
#pragma once

#include "parser/envelope.h"
#include "parser/service_map/service_map.h"

namespace fourkeys::parser {

// Rewrites `envelope.service`, `team` and the deployment's or incident's
// environment from `map`:
//   - environments: an alias becomes its canonical name;
//   - GitHub and GitLab events: the service built from the repository (for
//     a repository shared by several services, a deployment's service is
//     the one whose `deployments` match its environment as sent, its task
//     or payload service, or its workflow; other events stay unmapped);
//   - PagerDuty incidents: the service claiming the PagerDuty service id or
//     name; CDEvents: the service claiming the event's source, else its
//     repository;
//   - an event already named after a mapped service (the API's bodies)
//     keeps the name and gets the team.
// An envelope the map says nothing about keeps the normalizer's service
// and no team. Returns true when a mapped service was found.
bool apply_service_map(const ServiceMap& map, Envelope& envelope);

}  // namespace fourkeys::parser
