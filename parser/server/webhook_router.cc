#include "parser/server/webhook_router.h"

#include "common/json.h"
#include "common/log.h"
#include "common/time.h"
#include "parser/server/kafka_record.h"
#include "parser/service_map/service_resolver.h"

#include <boost/json/serialize.hpp>

#include <atomic>
#include <cmath>

namespace fourkeys::parser {
namespace {

// How often the deadline sweep wakes up while deliveries wait for Kafka.
constexpr std::chrono::milliseconds kSweepInterval{10};

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
    : settings_(std::move(settings)), sources_(std::move(sources)), routes_(sources_), producer_(producer),
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
    // Deliveries Kafka has acknowledged leave at once, not at their
    // deadline: a queue holding every delivery of the last ack_timeout
    // would keep tens of thousands of objects alive under load.
    while (!deadlines_.empty() && deadlines_.front().second->done.load()) deadlines_.pop_front();
    if (deadlines_.empty()) continue;
    const auto now = std::chrono::steady_clock::now();
    if (deadlines_.front().first > now) {
      // One wake-up per kSweepInterval, not one per delivery: under load
      // deliveries arrive a fraction of a millisecond apart, and a thread
      // switch for each would cost more than the sweep. A timed-out
      // delivery is answered at most that much late.
      deadlines_cv_.wait_until(lock, std::min(deadlines_.front().first, now + kSweepInterval));
      continue;
    }
    auto waiting = std::move(deadlines_.front().second);
    deadlines_.pop_front();
    if (!claim(*waiting)) continue;  // answered by its delivery report meanwhile
    lock.unlock();
    try {
      answer_claimed(*waiting, unavailable("Kafka did not acknowledge the event in time; retry later"),
                     "kafka ack timeout");
    } catch (const std::exception& e) {
      log::error("answering a timed-out delivery failed", {{"error", e.what()}});
    }
    waiting.reset();
    lock.lock();
  }
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
      source = routes_.by_headers(to_headers(request));
      if (!source) {
        return answer(request, "unknown", "",
                      http::json_error(400, "cannot tell the sender from the headers: expected "
                                            "X-Gitlab-Event, a GitHub-Hookshot User-Agent, "
                                            "X-PagerDuty-Signature or CloudEvents ce-* headers"),
                      respond);
      }
    }
  } else {
    source = routes_.by_path(path);
    known_path = source != nullptr;
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
  auto waiting = std::make_shared<Waiting>();
  waiting->request = std::move(request);
  waiting->respond = std::move(respond);
  waiting->source = std::string(source.name());
  const http::Request& req = waiting->request;
  // The delivery takes the request's own header fields: nothing reads them
  // from the request after this.
  const Headers headers(std::move(waiting->request.headers));
  const Delivery delivery{req.path, headers, req.body};

  if (!settings_.insecure_no_auth) {
    const AuthResult auth = source.authenticate(delivery);
    if (!auth.ok()) {
      return answer(req, waiting->source, "", http::json_error(401, auth.message), waiting->respond);
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
  waiting->event = outcome.source_event;
  const std::string& source_name = waiting->source;
  const std::string& event = waiting->event;

  switch (outcome.disposition) {
    case Disposition::publish: {
      Envelope& envelope = outcome.envelope;
      for (const auto& field : envelope.defaults) metrics_.default_taken(source_name, field);
      // The body is the request's, or raw_text (a form's payload field).
      const std::string raw_text = std::move(envelope.raw_text);
      const std::string_view raw_json = raw_text.empty() ? delivery.body : std::string_view(raw_text);
      const auto map = settings_.service_map ? settings_.service_map->get() : nullptr;
      const std::vector<Envelope> parts = envelopes_to_publish(std::move(envelope), delivery, map.get());
      // {"status":"accepted","id":...,"kind":...}, written without building
      // an object; a split delivery also lists its parts' ids.
      const Envelope& first = parts.front();
      std::string& body = waiting->accepted.body;
      body = R"({"status":"accepted","id":)";
      json::append_string(body, first.part_of.empty() ? first.id : first.part_of);
      body += R"(,"kind":)";
      json::append_string(body, to_string(first.kind));
      if (!first.part_of.empty()) {
        body += R"(,"parts":[)";
        for (const Envelope& part : parts) {
          if (&part != &first) body += ',';
          json::append_string(body, part.id);
        }
        body += ']';
      }
      body += '}';
      waiting->accepted.status = 202;
      std::vector<KafkaMessage> records;
      records.reserve(parts.size());
      for (const Envelope& part : parts) records.push_back(event_record(part, settings_.events_topic, raw_json));
      return publish(std::move(records), std::move(waiting));
    }
    case Disposition::dead_letter: {
      auto record = dead_letter_record(source_name, outcome.reason, delivery,
                                       format_time(options.received_at_millis), settings_.deadletter_topic);
      waiting->accepted = json_response(202, {{"status", "dead_lettered"}, {"reason", outcome.reason}});
      metrics_.dead_letter(source_name);
      std::vector<KafkaMessage> records;
      records.push_back(std::move(record));
      return publish(std::move(records), std::move(waiting));
    }
    case Disposition::ignored:
      metrics_.ignored(source_name, event);
      return answer(req, source_name, event, json_response(200, {{"status", "ignored"}, {"reason", outcome.reason}}),
                    waiting->respond);
    case Disposition::bad_request:
      return answer(req, source_name, event, http::json_error(400, outcome.reason), waiting->respond);
    case Disposition::unsupported:
      return answer(req, source_name, event, http::json_error(415, outcome.reason), waiting->respond);
  }
}

http::Response WebhookRouter::unavailable(std::string_view why) const {
  auto r = http::json_error(503, why);
  r.headers.emplace_back("Retry-After", retry_after_);
  return r;
}

void WebhookRouter::publish(std::vector<KafkaMessage> messages, std::shared_ptr<Waiting> waiting) {
  waiting->unacknowledged.store(messages.size());
  {
    std::lock_guard lock(deadlines_mutex_);
    const bool was_empty = deadlines_.empty();
    deadlines_.emplace_back(std::chrono::steady_clock::now() + settings_.ack_timeout, waiting);
    if (was_empty) deadlines_cv_.notify_one();
  }

  for (KafkaMessage& message : messages) {
    producer_.produce(std::move(message), [this, waiting](const DeliveryResult& result) {
      on_delivery_report(waiting, result);
    });
  }
}

void WebhookRouter::on_delivery_report(const std::shared_ptr<Waiting>& waiting, const DeliveryResult& result) {
  metrics_.kafka_delivery(std::chrono::duration<double>(result.latency).count(),
                          result.status == DeliveryStatus::delivered);
  if (result.status == DeliveryStatus::delivered && waiting->unacknowledged.fetch_sub(1) != 1) {
    return;  // parts of the delivery still wait for Kafka
  }
  if (!claim(*waiting)) return;  // the deadline sweep, or a failed part, answered already
  if (result.status == DeliveryStatus::delivered) {
    return answer_claimed(*waiting, std::move(waiting->accepted));
  }
  if (result.status == DeliveryStatus::too_large) {
    return answer_claimed(*waiting,
                          http::json_error(413, "the event is larger than Kafka accepts (producer or broker "
                                                "message size limit)"),
                          result.error);
  }
  std::string why;
  switch (result.status) {
    case DeliveryStatus::queue_full: why = "the Kafka producer queue is full; retry later"; break;
    case DeliveryStatus::unavailable: why = "the Kafka producer is restarting; retry later"; break;
    default: why = "Kafka did not take the event; retry later"; break;
  }
  answer_claimed(*waiting, unavailable(why), result.error);
}

void WebhookRouter::answer_claimed(Waiting& waiting, http::Response response, std::string_view note) {
  answer(waiting.request, waiting.source, waiting.event, std::move(response), waiting.respond, note);
  // The deadline sweep may hold this object until the bound has passed:
  // keep only the flag.
  waiting.request = {};
  waiting.respond = nullptr;
  waiting.accepted = {};
}

void WebhookRouter::answer(const http::Request& request, std::string_view source, std::string_view event,
                           http::Response response, const http::Responder& respond, std::string_view note) {
  const double latency = seconds_since(request.started);
  metrics_.request(source, event, response.status, latency);
  const log::Level level = response.status >= 500 ? log::Level::warn : log::Level::info;
  if (log::enabled(level)) {
    log::Fields fields;
    fields.add("request_id", request.request_id)
        .add("method", request.method)
        .add("path", request.path)
        .add("source", source)
        .add("event", event)
        .add("status", response.status)
        .add("latency_ms", std::round(latency * 1e5) / 100.0);
    if (!note.empty()) fields.add("detail", note);
    log::write(level, "request", fields);
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
