// The Kafka producer both programs use: idempotent, acks=all, compressed,
// with a completion callback per message so that a caller can answer its
// own client only once Kafka has the message.
//
// Threads: produce() may be called from any thread and never blocks on the
// network. Callbacks run on the producer's own poll thread; they must be
// quick and must not call back into the producer synchronously in a way
// that waits (posting to an io_context is the intended use).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace fourkeys {

struct KafkaMessage {
  std::string topic;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

enum class DeliveryStatus {
  delivered,    // Kafka acknowledged the message (acks=all)
  queue_full,   // the local queue is full; nothing was sent
  unavailable,  // the producer is being rebuilt after a fatal error
  too_large,    // over the producer's or the broker's message size limit
  failed,       // Kafka did not take it in time, or refused it
};

struct DeliveryResult {
  DeliveryStatus status = DeliveryStatus::failed;
  std::string error;  // librdkafka's text, for logs; empty when delivered
  std::chrono::microseconds latency{0};
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

// Called exactly once per produce() call: from the poll thread, or from the
// calling thread when the message could not be queued.
using DeliveryCallback = std::function<void(const DeliveryResult&)>;

struct ProducerSettings {
  std::string brokers = "localhost:9092";
  // Longest time a message may wait for Kafka (message.timeout.ms).
  std::chrono::milliseconds ack_timeout{5000};
  std::string compression = "lz4";
  std::size_t queue_max_messages = 100000;
  // Largest message produced (message.max.bytes). The broker and topic must
  // allow it too (max.message.bytes), or large deliveries fail as too_large.
  std::size_t max_message_bytes = 1000000;
  // Topics /readyz expects to exist, with their minimum partition counts
  // (0 = any).
  std::map<std::string, int> expected_topics;
  // Extra librdkafka properties (name -> value), applied last.
  std::map<std::string, std::string> extra;
};

// Health as last observed by the background metadata check.
struct KafkaHealth {
  bool metadata_ok = false;       // the last metadata request succeeded
  bool topics_ok = false;         // expected topics exist with enough partitions
  std::string detail;             // what is wrong, for /readyz
  std::map<std::string, int> partitions;  // topic -> partition count seen
};

class EventProducer {
 public:
  // Throws std::runtime_error when librdkafka rejects the configuration.
  explicit EventProducer(ProducerSettings settings);
  // Calls shutdown().
  ~EventProducer();

  // Flushes for up to ack_timeout, stops the threads, and reports what is
  // still pending as failed: when it returns, every callback has run and none
  // will run again. Call it before destroying what callbacks use.
  void shutdown();

  EventProducer(const EventProducer&) = delete;
  EventProducer& operator=(const EventProducer&) = delete;

  // Queues `message`; `done` runs once with the outcome.
  void produce(KafkaMessage message, DeliveryCallback done);

  // Waits until every queued message has a delivery report, or `timeout`.
  // Returns true when nothing is left.
  bool flush(std::chrono::milliseconds timeout);

  // Messages queued and not yet reported.
  std::size_t in_flight() const { return in_flight_.load(); }

  // Times the producer was rebuilt after a fatal error.
  std::uint64_t rebuilds() const { return rebuilds_.load(); }

  KafkaHealth health() const;

  // Fetches topic metadata now (blocking, up to `timeout`). For start-up
  // checks and tests; servers use health().
  KafkaHealth check_now(std::chrono::milliseconds timeout);

 private:
  struct Handle;
  std::shared_ptr<Handle> build_handle();
  void poll_loop();
  void health_loop();
  std::shared_ptr<Handle> current() const;

  ProducerSettings settings_;
  mutable std::mutex handle_mutex_;
  std::shared_ptr<Handle> handle_;
  std::atomic<bool> running_{true};
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::uint64_t> rebuilds_{0};
  mutable std::mutex health_mutex_;
  KafkaHealth health_;
  std::thread poll_thread_;
  std::thread health_thread_;
};

}  // namespace fourkeys
