// The receiver's Prometheus series. prometheus-cpp's families are
// thread-safe; handlers call these from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace prometheus {
class Counter;
class Histogram;
class Registry;
}

namespace fourkeys::parser {

// Each series is looked up by its labels once, on first use, and then kept:
// prometheus-cpp's Family::Add builds and hashes a label map on every call.
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
  struct RequestSeries;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> f_;
  // The series of each (source, event label, status) seen, by
  // "source\nevent\nstatus".
  std::mutex request_series_mutex_;
  std::unordered_map<std::string, RequestSeries> request_series_;
  // Kafka's series, set on first use (Family::Add returns the same series
  // for the same labels, so two threads setting one at once agree).
  std::atomic<prometheus::Counter*> kafka_delivered_{nullptr};
  std::atomic<prometheus::Counter*> kafka_failed_{nullptr};
  std::atomic<prometheus::Histogram*> kafka_seconds_{nullptr};
};

}  // namespace fourkeys::parser
