#include "parser/server/kafka_record.h"

#include <boost/json/serialize.hpp>

#include <cctype>

namespace fourkeys::parser {

namespace {
KafkaMessage event_record_with_value(const Envelope& envelope, std::string topic, std::string value) {
  KafkaMessage m;
  m.topic = std::move(topic);
  // All of a service's events share a partition, so one worker applies them in order.
  m.key = envelope.service;
  m.value = std::move(value);
  m.headers = {
      {"ce_specversion", "1.0"},
      {"ce_id", envelope.id},
      {"ce_source", "fourkeys/" + envelope.source},
      {"ce_type", cloudevents_type(envelope)},
      {"ce_time", envelope.occurred_at},
      {"content-type", "application/json"},
  };
  return m;
}
}  // namespace

KafkaMessage event_record(const Envelope& envelope, std::string topic) {
  return event_record_with_value(envelope, std::move(topic),
                                 serialize_envelope(envelope, raw_json_text(envelope)));
}

KafkaMessage event_record(const Envelope& envelope, std::string topic, std::string_view raw_json) {
  return event_record_with_value(envelope, std::move(topic), serialize_envelope(envelope, raw_json));
}

KafkaMessage dead_letter_record(std::string_view source, std::string_view reason,
                                const Delivery& delivery, std::string_view received_at,
                                std::string topic) {
  KafkaMessage m;
  m.topic = std::move(topic);
  m.key = std::string(source);
  m.value = std::string(delivery.body);
  m.headers = {
      {"fourkeys_reason", std::string(reason)},
      {"fourkeys_source", std::string(source)},
      {"fourkeys_path", std::string(delivery.path)},
      {"fourkeys_received_at", std::string(received_at)},
  };
  for (const auto& [name, value] : delivery.headers.all()) {
    std::string lowered;
    for (char c : name) lowered += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool credential = lowered == "authorization" || lowered == "x-gitlab-token" ||
                            lowered == "cookie" || lowered == "proxy-authorization";
    m.headers.emplace_back("http_" + lowered, credential ? "[redacted]" : value);
  }
  return m;
}

}  // namespace fourkeys::parser
