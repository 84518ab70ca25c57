#include "worker/http_endpoints.h"

#include "worker/batch_loop.h"
#include "worker/read/dora_series.h"
#include "worker/read/read_endpoints.h"
#include "worker/worker_metrics.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace fourkeys::worker {

WorkerEndpoints::WorkerEndpoints(std::function<Readiness()> readiness, const WorkerMetrics& metrics,
                                 ReadEndpoints* read, const DoraSeriesExposer* series)
    : readiness_(std::move(readiness)), metrics_(metrics), read_(read), series_(series) {}

void WorkerEndpoints::handle(http::Request request, http::Responder respond) {
  const bool read = request.method == "GET" || request.method == "HEAD";
  if (request.path == "/healthz" || request.path == "/readyz" || request.path == "/metrics") {
    if (!read) {
      auto r = http::json_error(405, "use GET");
      r.headers.emplace_back("Allow", "GET, HEAD");
      return respond(std::move(r));
    }
  } else {
    if (read_ != nullptr && read_->handle(request, respond)) return;
    return respond(http::json_error(404, "no such endpoint"));
  }
  http::Response response;
  if (request.path == "/healthz") {
    response.body = R"({"status":"ok"})";
  } else if (request.path == "/readyz") {
    const Readiness r = readiness_();
    response.status = r.ready ? 200 : 503;
    response.body = boost::json::serialize(
        boost::json::value{{"status", r.ready ? "ready" : "not ready"}, {"detail", r.detail}});
  } else {
    response.content_type = "text/plain; version=0.0.4";
    response.body = metrics_.render();
    if (series_ != nullptr) response.body += series_->text();
  }
  respond(std::move(response));
}

}  // namespace fourkeys::worker
