// The worker's HTTP side on FOURKEYS_WORKER_LISTEN: /healthz, /readyz and
// /metrics.
#pragma once

#include "common/http_server.h"

#include <functional>

namespace fourkeys::worker {

class WorkerMetrics;
struct Readiness;

class WorkerEndpoints : public http::Handler {
 public:
  // `readiness` answers /readyz (the batch loop's, or "rebuilding");
  // `metrics` must outlive the handler.
  WorkerEndpoints(std::function<Readiness()> readiness, const WorkerMetrics& metrics);
  void handle(http::Request request, http::Responder respond) override;

 private:
  std::function<Readiness()> readiness_;
  const WorkerMetrics& metrics_;
};

}  // namespace fourkeys::worker
