// The worker's HTTP side on FOURKEYS_WORKER_LISTEN: /healthz, /readyz,
// /metrics (pipeline series, plus the DORA series when this worker exposes
// them), and the read side's routes.
#pragma once

#include "common/http_server.h"

#include <functional>

namespace fourkeys::worker {

class WorkerMetrics;
class ReadEndpoints;
class DoraSeriesExposer;
struct Readiness;

class WorkerEndpoints : public http::Handler {
 public:
  // `readiness` answers /readyz (the batch loop's, or "rebuilding").
  // `metrics`, and `read` and `series` when given, must outlive the handler;
  // without `read` only the health and metrics endpoints are served (as
  // during --rebuild).
  WorkerEndpoints(std::function<Readiness()> readiness, const WorkerMetrics& metrics,
                  ReadEndpoints* read = nullptr, const DoraSeriesExposer* series = nullptr);
  void handle(http::Request request, http::Responder respond) override;

 private:
  std::function<Readiness()> readiness_;
  const WorkerMetrics& metrics_;
  ReadEndpoints* read_;
  const DoraSeriesExposer* series_;
};

}  // namespace fourkeys::worker
