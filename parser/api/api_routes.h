// Internal to the api source: one mapper per kind of body. Each takes the
// envelope already started (id from the canonical body, received_at,
// signature) and the parsed body object, and returns the outcome; the caller
// puts the body into `raw` when it is published.
#pragma once

#include <boost/json/value.hpp>

#include "parser/source.h"

namespace fourkeys::parser::api {

// Which of the deployment routes a body came to. They take the same fields;
// the seed's CI snippets (`/deployments`) leave out more of them.
enum class DeploymentRoute { events_deployment, deployments };

// The seed's DeploymentEvent (`/events/deployment`) and CI snippet bodies
// (`/deployments`). Requires `body` to be an object.
Outcome map_deployment(const boost::json::value& body, Envelope env, DeploymentRoute route);

// The seed's IncidentEvent (`/events/incident`). Requires `body` to be an object.
Outcome map_incident(const boost::json::value& body, Envelope env);

}  // namespace fourkeys::parser::api
