// The receiver's request handling: route, authenticate, normalize, publish,
// answer. Answers 2xx for an accepted delivery only after Kafka has
// acknowledged it; answers 503 with Retry-After when Kafka cannot take it
// within the acknowledgement bound.
#pragma once

#include "common/http_server.h"
#include "common/kafka_producer.h"
#include "parser/server/receiver_metrics.h"
#include "parser/source.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace fourkeys::parser {

struct RouterSettings {
  std::string events_topic = "fourkeys.events.v1";
  std::string deadletter_topic = "fourkeys.deadletter.v1";
  std::chrono::milliseconds ack_timeout{5000};
  bool insecure_no_auth = false;
  std::string incident_label = "Incident";
};

class WebhookRouter : public http::Handler {
 public:
  // Borrows everything; all must outlive the router. `io` runs the
  // acknowledgement timers.
  WebhookRouter(RouterSettings settings, std::vector<std::unique_ptr<Source>> sources,
                EventProducer& producer, ReceiverMetrics& metrics, boost::asio::io_context& io);

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

  RouterSettings settings_;
  std::vector<std::unique_ptr<Source>> sources_;
  EventProducer& producer_;
  ReceiverMetrics& metrics_;
  boost::asio::io_context& io_;
};

}  // namespace fourkeys::parser
