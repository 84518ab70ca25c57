// Applies the service map to a normalized envelope: which service it is
// about, the team that owns it, and the environment's canonical name.
// Pure: the same map and envelope give the same result.
#pragma once

#include "parser/delivery.h"
#include "parser/envelope.h"
#include "parser/service_map/service_map.h"

#include <vector>

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

// apply_service_map, then, for a push to a repository whose services are
// told apart by paths (a monorepo), one envelope per service of that
// repository, in the map's order:
//   - `change.commits` keeps the commits with a file under one of the
//     service's paths (a commit listing no files at all is kept by every
//     service: nothing says where it belongs), so a commit touching two
//     services belongs to both;
//   - `change.chain` holds every commit of the push, so that a deployment
//     of the service finds its commits behind pushes that touched only
//     others (those parts have no commits and still carry the chain);
//   - with several services, each part's id is "<id>#<service>" (stable:
//     a redelivery gives the same ids) and `part_of` the delivery's id.
// Anything else comes back as the one envelope apply_service_map made.
std::vector<Envelope> resolve_services(const ServiceMap& map, Envelope envelope);

// What is published for a delivery normalized into `envelope`: the envelope
// keeps the delivery's path and normalization_headers (so that it can be
// normalized again), then resolve_services with `map` when there is one.
// `raw` is released: the caller writes the body text with
// serialize_envelope, and takes `raw_text` out first if it needs it.
std::vector<Envelope> envelopes_to_publish(Envelope envelope, const Delivery& delivery, const ServiceMap* map);

}  // namespace fourkeys::parser
