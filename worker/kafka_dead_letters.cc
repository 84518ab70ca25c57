#include "worker/kafka_dead_letters.h"

#include "common/kafka_producer.h"

#include <condition_variable>
#include <mutex>

namespace fourkeys::worker {

KafkaMessage dead_letter_message(const DeadLetter& letter, const std::string& topic) {
  KafkaMessage m;
  m.topic = topic;
  m.key = letter.message->key;
  m.value = letter.message->value;
  m.headers = {
      {"fourkeys_reason", letter.reason},
      {"fourkeys_stage", letter.stage},
      {"fourkeys_origin_topic", letter.message->topic},
      {"fourkeys_origin_partition", std::to_string(letter.message->partition)},
      {"fourkeys_origin_offset", std::to_string(letter.message->offset)},
  };
  for (const auto& h : letter.message->headers) m.headers.push_back(h);
  return m;
}

KafkaDeadLetterSink::KafkaDeadLetterSink(EventProducer& producer, std::string topic,
                                         std::chrono::milliseconds timeout)
    : producer_(producer), topic_(std::move(topic)), timeout_(timeout) {}

void KafkaDeadLetterSink::send(const std::vector<DeadLetter>& letters) {
  if (letters.empty()) return;
  struct Waiter {
    std::mutex mutex;
    std::condition_variable done;
    std::size_t pending = 0;
    std::string error;
  };
  auto waiter = std::make_shared<Waiter>();
  waiter->pending = letters.size();
  for (const auto& letter : letters) {
    producer_.produce(dead_letter_message(letter, topic_), [waiter](const DeliveryResult& r) {
      std::lock_guard lock(waiter->mutex);
      if (r.status != DeliveryStatus::delivered && waiter->error.empty()) {
        waiter->error = r.error.empty() ? "not delivered" : r.error;
      }
      if (--waiter->pending == 0) waiter->done.notify_all();
    });
  }
  std::unique_lock lock(waiter->mutex);
  // The producer reports every message within its own ack timeout; the
  // extra second covers the report's way back.
  if (!waiter->done.wait_for(lock, timeout_ + std::chrono::seconds(1), [&] { return waiter->pending == 0; })) {
    throw StageUnavailable("dead-letter topic: Kafka did not acknowledge in time");
  }
  if (!waiter->error.empty()) throw StageUnavailable("dead-letter topic: " + waiter->error);
}

}  // namespace fourkeys::worker
