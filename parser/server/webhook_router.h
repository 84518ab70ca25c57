// The receiver's request handling: route, authenticate, normalize, publish,
// answer. Answers 2xx for an accepted delivery only after Kafka has
// acknowledged it; answers 503 with Retry-After when Kafka cannot take it
// within the acknowledgement bound.
#pragma once

#include "common/http_server.h"
#include "common/kafka_producer.h"
#include "parser/server/receiver_metrics.h"
#include "parser/source.h"

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
  struct Route;
  void handle_post(const Source& source, http::Request request, http::Responder respond);
  void publish(KafkaMessage message, std::shared_ptr<http::Request> request, std::string source,
               std::string event, http::Response accepted, http::Responder respond);
  void answer(const http::Request& request, std::string_view source, std::string_view event,
              http::Response response, const http::Responder& respond, std::string_view note = {});
  const Source* detect_source(const http::Request& request) const;

  // A delivery waiting for Kafka. Whoever sets `done` first (the delivery
  // report or the deadline sweep) answers.
  struct PendingAnswer {
    std::atomic<bool> done{false};
    std::function<void()> on_timeout;
  };
  void sweep_deadlines();

  RouterSettings settings_;
  std::vector<std::unique_ptr<Source>> sources_;
  EventProducer& producer_;
  ReceiverMetrics& metrics_;
  const std::string retry_after_;  // seconds, for 503 answers

  // Every delivery gets the same acknowledgement bound, so arrival order is
  // deadline order: a FIFO and one sweeping thread replace a timer per request.
  std::mutex deadlines_mutex_;
  std::condition_variable deadlines_cv_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<PendingAnswer>>> deadlines_;
  bool stopping_ = false;
  std::thread sweeper_;
};

}  // namespace fourkeys::parser
