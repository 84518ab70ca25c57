#include "parser/server/webhook_router.h"

#include "common/log.h"
#include "common/time.h"
#include "parser/server/kafka_record.h"

#include <boost/json/serialize.hpp>

#include <atomic>
#include <cmath>

namespace fourkeys::parser {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

http::Response json_response(int status, boost::json::object body) {
  http::Response r;
  r.status = status;
  r.body = boost::json::serialize(body);
  return r;
}

bool is_read(const http::Request& request) { return request.method == "GET" || request.method == "HEAD"; }

// 405 for the health and metrics endpoints.
http::Response read_only() {
  auto r = http::json_error(405, "use GET");
  r.headers.emplace_back("Allow", "GET, HEAD");
  return r;
}

Headers to_headers(const http::Request& request) {
  Headers h;
  for (const auto& [k, v] : request.headers) h.add(k, v);
  return h;
}

}  // namespace

WebhookRouter::WebhookRouter(RouterSettings settings, std::vector<std::unique_ptr<Source>> sources,
                             EventProducer& producer, ReceiverMetrics& metrics)
    : settings_(std::move(settings)), sources_(std::move(sources)), producer_(producer),
      metrics_(metrics),
      // Senders should come back once the longest wait for Kafka has passed.
      retry_after_(std::to_string(
          std::max<long long>(1, static_cast<long long>(std::ceil(settings_.ack_timeout.count() / 1000.0))))) {
  sweeper_ = std::thread([this] { sweep_deadlines(); });
}

WebhookRouter::~WebhookRouter() {
  {
    std::lock_guard lock(deadlines_mutex_);
    stopping_ = true;
  }
  deadlines_cv_.notify_all();
  sweeper_.join();
}

void WebhookRouter::sweep_deadlines() {
  std::unique_lock lock(deadlines_mutex_);
  while (!stopping_) {
    if (deadlines_.empty()) {
      deadlines_cv_.wait(lock);
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    if (deadlines_.front().first > now) {
      deadlines_cv_.wait_until(lock, deadlines_.front().first);
      continue;
    }
    auto pending = std::move(deadlines_.front().second);
    deadlines_.pop_front();
    if (pending->done.exchange(true)) continue;  // already answered by its delivery report
    lock.unlock();
    try {
      pending->on_timeout();
    } catch (const std::exception& e) {
      log::error("answering a timed-out delivery failed", {{"error", e.what()}});
    }
    lock.lock();
  }
}

const Source* WebhookRouter::detect_source(const http::Request& request) const {
  const Headers headers = to_headers(request);
  for (const auto& s : sources_) {
    if (s->recognizes(headers)) return s.get();
  }
  return nullptr;
}

void WebhookRouter::handle(http::Request request, http::Responder respond) {
  const std::string& path = request.path;
  if (path == "/healthz") {
    if (!is_read(request)) return answer(request, "", "", read_only(), respond);
    return respond(json_response(200, {{"status", "ok"}}));
  }
  if (path == "/readyz") {
    if (!is_read(request)) return answer(request, "", "", read_only(), respond);
    const KafkaHealth h = producer_.health();
    const bool ready = h.metadata_ok && h.topics_ok;
    boost::json::object body{{"status", ready ? "ready" : "not_ready"}};
    if (!ready) body["reason"] = h.detail.empty() ? "kafka not checked yet" : h.detail;
    return respond(json_response(ready ? 200 : 503, std::move(body)));
  }
  if (path == "/metrics") {
    if (!is_read(request)) return answer(request, "", "", read_only(), respond);
    metrics_.set_in_flight(static_cast<double>(producer_.in_flight()));
    metrics_.set_producer_rebuilds(static_cast<double>(producer_.rebuilds()));
    http::Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_.render();
    return respond(std::move(r));
  }

  const Source* source = nullptr;
  bool known_path = false;
  if (path == "/") {
    known_path = true;
    if (request.method == "POST") {
      source = detect_source(request);
      if (!source) {
        return answer(request, "unknown", "",
                      http::json_error(400, "cannot tell the sender from the headers: expected "
                                            "X-Gitlab-Event, a GitHub-Hookshot User-Agent, "
                                            "X-PagerDuty-Signature or CloudEvents ce-* headers"),
                      respond);
      }
    }
  } else {
    for (const auto& s : sources_) {
      for (const auto& route : s->routes()) {
        if (route == path) {
          known_path = true;
          source = s.get();
        }
      }
    }
  }
  if (!known_path) {
    return answer(request, "unknown", "", http::json_error(404, "no such endpoint: " + path), respond);
  }
  if (request.method != "POST") {
    auto r = http::json_error(405, "this endpoint takes POST");
    r.headers.emplace_back("Allow", "POST");
    return answer(request, source ? source->name() : "unknown", "", std::move(r), respond);
  }
  handle_post(*source, std::move(request), std::move(respond));
}

void WebhookRouter::handle_post(const Source& source, http::Request request, http::Responder respond) {
  auto shared = std::make_shared<http::Request>(std::move(request));
  const Headers headers = to_headers(*shared);
  const Delivery delivery{shared->path, headers, shared->body};
  const std::string source_name(source.name());

  if (!settings_.insecure_no_auth) {
    const AuthResult auth = source.authenticate(delivery);
    if (!auth.ok()) {
      return answer(*shared, source_name, "", http::json_error(401, auth.message), respond);
    }
  }

  NormalizeOptions options;
  options.received_at_millis = now_millis();
  options.incident_label = settings_.incident_label;
  options.deploy_workflows = settings_.deploy_workflows;
  Outcome outcome;
  try {
    outcome = source.normalize(delivery, options);
  } catch (const std::exception& e) {
    // A normalizer bug must not lose an authenticated delivery.
    outcome.disposition = Disposition::dead_letter;
    outcome.reason = std::string("normalizer error: ") + e.what();
  }
  const std::string event = outcome.source_event;

  switch (outcome.disposition) {
    case Disposition::publish: {
      for (const auto& field : outcome.envelope.defaults) metrics_.default_taken(source_name, field);
      http::Response accepted = json_response(
          202, {{"status", "accepted"}, {"id", outcome.envelope.id}, {"kind", to_string(outcome.envelope.kind)}});
      const std::string_view raw_json =
          outcome.envelope.raw_text.empty() ? delivery.body : std::string_view(outcome.envelope.raw_text);
      auto record = event_record(outcome.envelope, settings_.events_topic, raw_json);
      return publish(std::move(record), shared, source_name, event, std::move(accepted), std::move(respond));
    }
    case Disposition::dead_letter: {
      auto record = dead_letter_record(source_name, outcome.reason, delivery,
                                       format_time(options.received_at_millis), settings_.deadletter_topic);
      http::Response accepted = json_response(202, {{"status", "dead_lettered"}, {"reason", outcome.reason}});
      metrics_.dead_letter(source_name);
      return publish(std::move(record), shared, source_name, event, std::move(accepted), std::move(respond));
    }
    case Disposition::ignored:
      metrics_.ignored(source_name, event);
      return answer(*shared, source_name, event,
                    json_response(200, {{"status", "ignored"}, {"reason", outcome.reason}}), respond);
    case Disposition::bad_request:
      return answer(*shared, source_name, event, http::json_error(400, outcome.reason), respond);
    case Disposition::unsupported:
      return answer(*shared, source_name, event, http::json_error(415, outcome.reason), respond);
  }
}

void WebhookRouter::publish(KafkaMessage message, std::shared_ptr<http::Request> request, std::string source,
                            std::string event, http::Response accepted, http::Responder respond) {
  auto unavailable = [retry_after = retry_after_](std::string_view why) {
    auto r = http::json_error(503, why);
    r.headers.emplace_back("Retry-After", retry_after);
    return r;
  };

  auto pending = std::make_shared<PendingAnswer>();
  pending->on_timeout = [this, request, source, event, respond, unavailable] {
    answer(*request, source, event, unavailable("Kafka did not acknowledge the event in time; retry later"),
           respond, "kafka ack timeout");
  };
  {
    std::lock_guard lock(deadlines_mutex_);
    const bool was_empty = deadlines_.empty();
    deadlines_.emplace_back(std::chrono::steady_clock::now() + settings_.ack_timeout, pending);
    if (was_empty) deadlines_cv_.notify_one();
  }

  producer_.produce(std::move(message), [this, pending, request, source, event, respond, unavailable,
                                         accepted = std::move(accepted)](const DeliveryResult& result) mutable {
    metrics_.kafka_delivery(std::chrono::duration<double>(result.latency).count(),
                            result.status == DeliveryStatus::delivered);
    if (pending->done.exchange(true)) return;
    pending->on_timeout = nullptr;  // drops the captured request early
    if (result.status == DeliveryStatus::delivered) {
      return answer(*request, source, event, std::move(accepted), respond);
    }
    if (result.status == DeliveryStatus::too_large) {
      return answer(*request, source, event,
                    http::json_error(413, "the event is larger than Kafka accepts (producer or broker "
                                          "message size limit)"),
                    respond, result.error);
    }
    std::string why;
    switch (result.status) {
      case DeliveryStatus::queue_full: why = "the Kafka producer queue is full; retry later"; break;
      case DeliveryStatus::unavailable: why = "the Kafka producer is restarting; retry later"; break;
      default: why = "Kafka did not take the event; retry later"; break;
    }
    answer(*request, source, event, unavailable(why), respond, result.error);
  });
}

void WebhookRouter::answer(const http::Request& request, std::string_view source, std::string_view event,
                           http::Response response, const http::Responder& respond, std::string_view note) {
  const double latency = seconds_since(request.started);
  metrics_.request(source, event, response.status, latency);
  boost::json::object fields{{"request_id", request.request_id},
                             {"method", request.method},
                             {"path", request.path},
                             {"source", source},
                             {"event", event},
                             {"status", response.status},
                             {"latency_ms", std::round(latency * 1e5) / 100.0}};
  if (!note.empty()) fields["detail"] = note;
  if (response.status >= 500) {
    log::warn("request", fields);
  } else {
    log::info("request", fields);
  }
  response.headers.emplace_back("X-Request-Id", request.request_id);
  respond(std::move(response));
}

void WebhookRouter::on_rejected(const http::Request& partial, int status, std::string_view reason) {
  metrics_.request("unknown", "", status, seconds_since(partial.started));
  log::info("request rejected", {{"request_id", partial.request_id},
                                 {"method", partial.method},
                                 {"path", partial.path},
                                 {"status", status},
                                 {"reason", reason}});
}

}  // namespace fourkeys::parser
