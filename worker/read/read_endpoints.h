// The read side's routes on the worker's HTTP listener:
//   GET /metrics/dora/{service}, GET /metrics/change-failure-rate   (the seed's API)
//   GET /api/v1/dora, /api/v1/services, /api/v1/deployments,
//       /api/v1/incidents, /api/v1/openapi.json
//   GET / and /page/*                                             (the built-in page)
// Queries run on the QueryPool, never on the HTTP threads.
#pragma once

#include "common/http_server.h"

namespace fourkeys::worker {

class QueryPool;

class ReadEndpoints {
 public:
  // `pool` must outlive this object.
  explicit ReadEndpoints(QueryPool& pool);

  // Answers through `respond` and returns true when the path is the read
  // side's; returns false (and leaves `respond` alone) otherwise.
  bool handle(const http::Request& request, http::Responder& respond);

 private:
  QueryPool& pool_;
};

}  // namespace fourkeys::worker
