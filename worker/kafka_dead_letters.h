// Dead letters from the worker onto fourkeys.deadletter.v1: the message as
// consumed, byte for byte, with why it could not be stored and where it came
// from (fourkeys_reason, fourkeys_stage, fourkeys_origin_topic/partition/offset)
// next to its original headers.
#pragma once

#include "worker/batch_processor.h"

#include <chrono>
#include <string>

namespace fourkeys {
class EventProducer;
struct KafkaMessage;
}  // namespace fourkeys

namespace fourkeys::worker {

KafkaMessage dead_letter_message(const DeadLetter& letter, const std::string& topic);

class KafkaDeadLetterSink : public DeadLetterSink {
 public:
  // `producer` must outlive the sink.
  KafkaDeadLetterSink(EventProducer& producer, std::string topic, std::chrono::milliseconds timeout);
  void send(const std::vector<DeadLetter>& letters) override;

 private:
  EventProducer& producer_;
  std::string topic_;
  std::chrono::milliseconds timeout_;
};

}  // namespace fourkeys::worker
