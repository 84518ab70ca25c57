// The receiver's request handling: route, authenticate, normalize, publish,
// answer. Answers 2xx for an accepted delivery only after Kafka has
// acknowledged it; answers 503 with Retry-After when Kafka cannot take it
// within the acknowledgement bound.
#pragma once

#include "common/http_server.h"
#include "common/kafka_producer.h"
#include "parser/server/receiver_metrics.h"
#include "parser/service_map/service_map.h"
#include "parser/source.h"
#include "parser/source_routes.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fourkeys::parser {

struct RouterSettings {
  std::string events_topic = "fourkeys.events.v1";
  std::string deadletter_topic = "fourkeys.deadletter.v1";
  std::chrono::milliseconds ack_timeout{5000};
  bool insecure_no_auth = false;
  std::string incident_label = "Incident";
  std::vector<std::pair<std::string, std::string>> deploy_workflows;
  // FOURKEYS_SERVICE_MAP, when set: applied to every envelope before it is
  // published (services, teams, environment names). Shared with whoever
  // reloads it.
  std::shared_ptr<ServiceMapSlot> service_map;
};

class WebhookRouter : public http::Handler {
 public:
  // Borrows everything; all must outlive the router. `io` runs the
  // acknowledgement timers.
  WebhookRouter(RouterSettings settings, std::vector<std::unique_ptr<Source>> sources,
                EventProducer& producer, ReceiverMetrics& metrics);
  ~WebhookRouter() override;

  void handle(http::Request request, http::Responder respond) override;
  void on_rejected(const http::Request& partial, int status, std::string_view reason) override;

 private:
  // A request being handled, and once handed to Kafka, waiting for its
  // acknowledgement. One allocation per request holds everything the
  // answer needs. Whoever sets `done` first (the delivery report or the
  // deadline sweep) answers and then releases the request; the sweep drops
  // the emptied object on its next round.
  struct Waiting {
    std::atomic<bool> done{false};
    std::atomic<std::size_t> unacknowledged{0};  // messages Kafka has not yet acknowledged
    http::Request request;
    http::Responder respond;
    std::string source;
    std::string event;
    http::Response accepted;  // the answer once Kafka has the message
  };

  void handle_post(const Source& source, http::Request request, http::Responder respond);
  // Produces `messages` (one, or the parts of a delivery the service map
  // split) and answers `waiting` (its `accepted` set) once Kafka has
  // acknowledged every one, or with an error at the first that fails or
  // after the acknowledgement bound. A sender retrying after an error
  // publishes all parts again; their ids make the copies harmless.
  void publish(std::vector<KafkaMessage> messages, std::shared_ptr<Waiting> waiting);
  void on_delivery_report(const std::shared_ptr<Waiting>& waiting, const DeliveryResult& result);
  // True for the first caller only: it alone may then read `waiting`'s
  // fields and must answer with answer_claimed.
  static bool claim(Waiting& waiting) { return !waiting.done.exchange(true); }
  // Answers with `response` and releases what the answer no longer needs.
  // Requires claim(waiting) to have returned true to the caller.
  void answer_claimed(Waiting& waiting, http::Response response, std::string_view note = {});
  void answer(const http::Request& request, std::string_view source, std::string_view event,
              http::Response response, const http::Responder& respond, std::string_view note = {});
  // 503 with Retry-After.
  http::Response unavailable(std::string_view why) const;

  void sweep_deadlines();

  RouterSettings settings_;
  std::vector<std::unique_ptr<Source>> sources_;
  SourceRoutes routes_;
  EventProducer& producer_;
  ReceiverMetrics& metrics_;
  const std::string retry_after_;  // seconds, for 503 answers

  // Every delivery gets the same acknowledgement bound, so arrival order is
  // deadline order: a FIFO and one sweeping thread replace a timer per
  // request. The sweep also drops answered deliveries from the front.
  std::mutex deadlines_mutex_;
  std::condition_variable deadlines_cv_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<Waiting>>> deadlines_;
  bool stopping_ = false;
  std::thread sweeper_;
};

}  // namespace fourkeys::parser
