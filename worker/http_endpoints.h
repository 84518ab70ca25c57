// The worker's HTTP side on FOURKEYS_WORKER_LISTEN: /healthz, /readyz and
// /metrics.
#pragma once

#include "common/http_server.h"

#include <functional>

namespace fourkeys::worker {

class BatchLoop;
class WorkerMetrics;

class WorkerEndpoints : public http::Handler {
 public:
  // Both must outlive the handler.
  WorkerEndpoints(const BatchLoop& loop, const WorkerMetrics& metrics);
  void handle(http::Request request, http::Responder respond) override;

 private:
  const BatchLoop& loop_;
  const WorkerMetrics& metrics_;
};

}  // namespace fourkeys::worker
