// The receiver's Prometheus series. prometheus-cpp's families are
// thread-safe; handlers call these from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace prometheus {
class Registry;
}

namespace fourkeys::parser {

class ReceiverMetrics {
 public:
  ReceiverMetrics();
  ~ReceiverMetrics();

  // One answered request. `event` must be bounded (authenticated senders'
  // event names, or "" before authentication).
  void request(std::string_view source, std::string_view event, int status, double seconds);
  void kafka_delivery(double seconds, bool ok);
  void dead_letter(std::string_view source);
  void ignored(std::string_view source, std::string_view event);
  void default_taken(std::string_view source, std::string_view field);
  void set_in_flight(double messages);
  void set_producer_rebuilds(double count);

  // The text exposition format (version 0.0.4).
  std::string render() const;

 private:
  struct Families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> f_;
};

}  // namespace fourkeys::parser
