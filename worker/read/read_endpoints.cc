#include "worker/read/read_endpoints.h"

#include "common/time.h"
#include "worker/read/dora_api.h"
#include "worker/read/page_assets.h"
#include "worker/read/query_pool.h"
#include "worker/read/seed_api.h"

#include <string_view>

namespace fourkeys::worker {

extern const char* const kOpenApiText;

namespace {

constexpr std::string_view kSeedDoraPrefix = "/metrics/dora/";

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

http::Response json_response(std::string body) {
  http::Response r;
  r.body = std::move(body);
  return r;
}

// Answers a parse error at once, or runs `query` on the parsed request in
// the pool and answers with the JSON text it returns.
template <typename Parsed, typename Query>
void answer(QueryPool& pool, std::variant<Parsed, http::Response> parsed, http::Responder& respond, Query query) {
  if (auto* error = std::get_if<http::Response>(&parsed)) return respond(std::move(*error));
  pool.submit([p = std::get<Parsed>(std::move(parsed)), query](pqxx::connection_base& c) {
    return json_response(query(c, p));
  }, std::move(respond));
}

}  // namespace

ReadEndpoints::ReadEndpoints(QueryPool& pool) : pool_(pool) {}

bool ReadEndpoints::handle(const http::Request& request, http::Responder& respond) {
  const std::string_view path = request.path;
  const PageAsset* asset = find_page_asset(path);
  const bool ours = asset != nullptr || starts_with(path, kSeedDoraPrefix) ||
                    path == "/metrics/change-failure-rate" || starts_with(path, "/api/v1/");
  if (!ours) return false;
  if (request.method != "GET" && request.method != "HEAD") {
    auto r = http::json_error(405, "use GET");
    r.headers.emplace_back("Allow", "GET, HEAD");
    respond(std::move(r));
    return true;
  }

  if (asset != nullptr) {
    http::Response r;
    r.content_type = std::string(asset->content_type);
    r.body = std::string(asset->body);
    r.headers.emplace_back("Cache-Control", "no-cache");
    respond(std::move(r));
    return true;
  }

  if (starts_with(path, kSeedDoraPrefix)) {
    answer(pool_, parse_seed_dora_request(path.substr(kSeedDoraPrefix.size()), request.query), respond,
           [](pqxx::connection_base& c, const SeedQuery& q) { return render_seed_dora(q, read_seed_figures(c, q, true)); });
    return true;
  }
  if (path == "/metrics/change-failure-rate") {
    answer(pool_, parse_seed_cfr_request(request.query), respond,
           [](pqxx::connection_base& c, const SeedQuery& q) { return render_seed_cfr(q, read_seed_figures(c, q, false)); });
    return true;
  }

  if (path == "/api/v1/openapi.json") {
    respond(json_response(kOpenApiText));
    return true;
  }
  if (path == "/api/v1/services") {
    pool_.submit([](pqxx::connection_base& c) { return json_response(read_services(c)); }, std::move(respond));
    return true;
  }
  using Reader = std::string (*)(pqxx::connection_base&, const ApiSelection&);
  Reader reader = nullptr;
  if (path == "/api/v1/dora") reader = read_dora;
  if (path == "/api/v1/deployments") reader = read_deployments;
  if (path == "/api/v1/incidents") reader = read_incidents;
  if (reader == nullptr) {
    respond(http::json_error(404, "no such endpoint; see /api/v1/openapi.json"));
    return true;
  }
  answer(pool_, parse_api_selection(request.query, now_millis()), respond, reader);
  return true;
}

}  // namespace fourkeys::worker
