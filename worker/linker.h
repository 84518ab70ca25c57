// Linking: what a service's base rows mean. A pure function, the single
// definition of the metrics' semantics (DESIGN.md "What the metrics mean");
// the materialize stage and --rebuild both call it, so an incremental result
// always equals a rebuild.
#pragma once

#include "worker/model.h"

namespace fourkeys::worker {

// Derives deployments (every attempt), their changes with lead times, and
// incidents with their attributed deployment, from everything stored about
// one service. The result depends only on the rows, not on their order in
// the vectors (ties are broken by ids), so any arrival order of the same
// events gives the same rows.
DerivedService derive_service(const ServiceHistory& history, const LinkSettings& settings);

}  // namespace fourkeys::worker
