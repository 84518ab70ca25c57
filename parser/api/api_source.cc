#include "parser/api/api_source.h"

#include "common/crypto.h"
#include "common/json.h"
#include "parser/api/api_routes.h"
#include "parser/bearer_auth.h"
#include "parser/normalize_support.h"

namespace fourkeys::parser {
namespace {

constexpr std::string_view kDeploymentRoute = "/events/deployment";
constexpr std::string_view kIncidentRoute = "/events/incident";
constexpr std::string_view kDeploymentsRoute = "/deployments";
constexpr std::string_view kForm = "application/x-www-form-urlencoded";

// The route's event name: the last path segment.
std::string route_event(std::string_view path) {
  if (path == kDeploymentRoute) return "deployment";
  if (path == kIncidentRoute) return "incident";
  if (path == kDeploymentsRoute) return "deployments";
  return {};
}

class ApiSource final : public Source {
 public:
  explicit ApiSource(SecretSet tokens) : tokens_(std::move(tokens)) {}

  std::string_view name() const override { return "api"; }
  std::vector<std::string> routes() const override {
    return {std::string(kDeploymentRoute), std::string(kIncidentRoute),
            std::string(kDeploymentsRoute)};
  }
  // Scripts have no telltale headers: the API is reached only by its routes.
  bool recognizes(const Headers&) const override { return false; }

  AuthResult authenticate(const Delivery& delivery) const override {
    return check_bearer(delivery.headers, tokens_, "FOURKEYS_API_TOKEN");
  }

  Outcome normalize(const Delivery& delivery, const NormalizeOptions& options) const override {
    return normalize_api(delivery, options);
  }

 private:
  SecretSet tokens_;
};

}  // namespace

std::unique_ptr<Source> make_api_source(const SourceSettings& settings) {
  return std::make_unique<ApiSource>(settings.api_tokens);
}

Outcome normalize_api(const Delivery& delivery, const NormalizeOptions& options) {
  const std::string event = route_event(delivery.path);
  if (event.empty()) {
    return dead_letter("", "no API route at " + std::string(delivery.path));
  }
  const std::string type = media_type(delivery.headers);
  std::optional<boost::json::value> body;
  if (type == kForm) {
    // `curl -d '{...}'` without -H sends JSON labelled as a form; a real
    // form (key=value pairs) is not read.
    json::ParseError error;
    body = json::parse(delivery.body, error);
    if (!body) {
      return unsupported(event,
                         "form fields are not read: send the JSON body with "
                         "Content-Type: application/json");
    }
  } else if (type.empty() || type == "application/json") {
    Outcome outcome;
    body = parse_body(delivery.body, outcome);
    if (!body) {
      outcome.source_event = event;
      return outcome;
    }
  } else {
    return unsupported(event, "the API takes application/json, not " + type);
  }
  if (!body->is_object()) return dead_letter(event, "the body is not a JSON object");

  // The id is the hash of the canonical body: a re-post of the same body
  // (in any key order or spacing) is a redelivery, and an update such as an
  // incident's resolved_at is a new event.
  Envelope env = start_envelope("api", event, sha256_hex(json::canonical(*body)), delivery.body,
                                boost::json::value(), options);
  Outcome out =
      event == "incident"
          ? api::map_incident(*body, std::move(env))
          : api::map_deployment(*body, std::move(env),
                                event == "deployments" ? api::DeploymentRoute::deployments
                                                       : api::DeploymentRoute::events_deployment);
  if (out.disposition == Disposition::publish) json::move_into(out.envelope.raw, std::move(*body));
  return out;
}

}  // namespace fourkeys::parser
