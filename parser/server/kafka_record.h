// How an outcome becomes a Kafka message: the events-topic record of an
// envelope (key = service, CloudEvents binary-mode headers) and the
// dead-letter record of a delivery (raw bytes, reason and original headers).
// Pure functions, unit-tested on their own.
#pragma once

#include "common/kafka_producer.h"
#include "parser/delivery.h"
#include "parser/envelope.h"

#include <string_view>

namespace fourkeys::parser {

// The record for `fourkeys.events.v1` (or the configured topic). With
// `raw_json`, the value's `raw` is that text byte for byte (see
// serialize_envelope); without, raw_json_text(envelope).
KafkaMessage event_record(const Envelope& envelope, std::string topic);
KafkaMessage event_record(const Envelope& envelope, std::string topic, std::string_view raw_json);

// The record for the dead-letter topic: the body byte for byte, headers
// fourkeys_reason, fourkeys_source, fourkeys_path, fourkeys_received_at and
// each original header as `http_<name>`. Credentials sent in clear
// (Authorization, X-Gitlab-Token, Cookie) are replaced by "[redacted]".
KafkaMessage dead_letter_record(std::string_view source, std::string_view reason,
                                const Delivery& delivery, std::string_view received_at,
                                std::string topic);

}  // namespace fourkeys::parser
