#include "parser/server/receiver_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace fourkeys::parser {

struct ReceiverMetrics::Families {
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Histogram>& request_seconds;
  prometheus::Family<prometheus::Histogram>& kafka_seconds;
  prometheus::Family<prometheus::Counter>& kafka_deliveries;
  prometheus::Family<prometheus::Counter>& dead_letters;
  prometheus::Family<prometheus::Counter>& ignored;
  prometheus::Family<prometheus::Counter>& defaults;
  prometheus::Gauge& in_flight;
  prometheus::Gauge& rebuilds;
};

// A request's series. prometheus-cpp keeps a series at one address until it
// is removed, which the receiver never does.
struct ReceiverMetrics::RequestSeries {
  prometheus::Counter* requests;
  prometheus::Histogram* seconds;
};

namespace {
// The series `add` returns, looked up once and kept in `cache`.
template <typename Series, typename Add>
Series& cached(std::atomic<Series*>& cache, Add add) {
  Series* series = cache.load(std::memory_order_acquire);
  if (!series) {
    series = &add();
    cache.store(series, std::memory_order_release);
  }
  return *series;
}

// Event names come from senders' headers: keep the label set small and
// printable whatever a sender writes.
std::string event_label(std::string_view event) {
  if (event.size() > 64) return "other";
  for (char c : event) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return "other";
  }
  return std::string(event);
}

const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

ReceiverMetrics::ReceiverMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  f_.reset(new Families{
      prometheus::BuildCounter().Name("fourkeys_receiver_requests_total")
          .Help("Requests answered, by source, sender event and HTTP status").Register(r),
      prometheus::BuildHistogram().Name("fourkeys_receiver_request_duration_seconds")
          .Help("Time from a complete request header to the answer").Register(r),
      prometheus::BuildHistogram().Name("fourkeys_kafka_delivery_duration_seconds")
          .Help("Time from produce to Kafka's acknowledgement").Register(r),
      prometheus::BuildCounter().Name("fourkeys_kafka_deliveries_total")
          .Help("Kafka delivery reports, by result").Register(r),
      prometheus::BuildCounter().Name("fourkeys_receiver_dead_letters_total")
          .Help("Authenticated deliveries sent to the dead-letter topic").Register(r),
      prometheus::BuildCounter().Name("fourkeys_receiver_ignored_total")
          .Help("Deliveries answered as ignored (no DORA signal)").Register(r),
      prometheus::BuildCounter().Name("fourkeys_receiver_defaults_total")
          .Help("Defaults taken because the sender left a field out").Register(r),
      prometheus::BuildGauge().Name("fourkeys_kafka_messages_in_flight")
          .Help("Messages produced and not yet acknowledged").Register(r).Add({}),
      prometheus::BuildGauge().Name("fourkeys_kafka_producer_rebuilds")
          .Help("Producers rebuilt after a fatal error since start").Register(r).Add({}),
  });
}

ReceiverMetrics::~ReceiverMetrics() = default;

void ReceiverMetrics::request(std::string_view source, std::string_view event, int status, double seconds) {
  std::string label = event_label(event);
  std::string status_text = std::to_string(status);
  std::string key;
  key.reserve(source.size() + label.size() + status_text.size() + 2);
  key.append(source).append(1, '\n').append(label).append(1, '\n').append(status_text);
  RequestSeries series;
  {
    std::lock_guard lock(request_series_mutex_);
    auto it = request_series_.find(key);
    if (it == request_series_.end()) {
      const RequestSeries added{
          &f_->requests.Add({{"source", std::string(source)}, {"event", std::move(label)},
                             {"status", std::move(status_text)}}),
          &f_->request_seconds.Add({{"source", std::string(source)}}, kLatencyBuckets)};
      it = request_series_.emplace(std::move(key), added).first;
    }
    series = it->second;
  }
  series.requests->Increment();
  series.seconds->Observe(seconds);
}

void ReceiverMetrics::kafka_delivery(double seconds, bool ok) {
  if (!ok) {
    cached(kafka_failed_, [&]() -> auto& { return f_->kafka_deliveries.Add({{"result", "failed"}}); }).Increment();
    return;
  }
  cached(kafka_delivered_, [&]() -> auto& { return f_->kafka_deliveries.Add({{"result", "delivered"}}); })
      .Increment();
  cached(kafka_seconds_, [&]() -> auto& { return f_->kafka_seconds.Add({}, kLatencyBuckets); }).Observe(seconds);
}

void ReceiverMetrics::dead_letter(std::string_view source) {
  f_->dead_letters.Add({{"source", std::string(source)}}).Increment();
}

void ReceiverMetrics::ignored(std::string_view source, std::string_view event) {
  f_->ignored.Add({{"source", std::string(source)}, {"event", event_label(event)}}).Increment();
}

void ReceiverMetrics::default_taken(std::string_view source, std::string_view field) {
  f_->defaults.Add({{"source", std::string(source)}, {"field", std::string(field)}}).Increment();
}

void ReceiverMetrics::set_in_flight(double messages) { f_->in_flight.Set(messages); }
void ReceiverMetrics::set_producer_rebuilds(double count) { f_->rebuilds.Set(count); }

std::string ReceiverMetrics::render() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace fourkeys::parser
