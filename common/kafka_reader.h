// Reads a topic's partitions directly (no consumer group, no commits): for
// tools and tests that need to look at what is on a topic. The worker's
// group consumer lives elsewhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct rd_kafka_message_s;

namespace fourkeys {

struct ReadMessage {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;

  // The first header called `name`, or nullopt.
  std::optional<std::string> header(const std::string& name) const;
};

// A copy of a message librdkafka delivered (without error): topic,
// partition, offset, key, value and headers. The caller still destroys it.
ReadMessage copy_message(const rd_kafka_message_s& message);

class TopicReader {
 public:
  enum class Start { beginning, end };

  // Assigns every partition of `topic` from its first message, or from the
  // end as it is now (only messages produced after construction are read).
  // Throws std::runtime_error when the metadata or watermarks cannot be
  // fetched within `timeout`.
  TopicReader(const std::string& brokers, const std::string& topic, Start start = Start::beginning,
              std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~TopicReader();

  TopicReader(const TopicReader&) = delete;
  TopicReader& operator=(const TopicReader&) = delete;

  // Next message, or nullopt when none arrives within `timeout`.
  std::optional<ReadMessage> next(std::chrono::milliseconds timeout);

  // Reads until `match` returns true for a message (returned) or `timeout`
  // passes (nullopt). Every message read on the way is kept in seen().
  template <typename Pred>
  std::optional<ReadMessage> find(Pred match, std::chrono::milliseconds timeout) {
    for (const auto& m : seen_) {
      if (match(m)) return m;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto m = next(std::chrono::milliseconds(200));
      if (m && match(*m)) return m;
    }
    return std::nullopt;
  }

  const std::vector<ReadMessage>& seen() const { return seen_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<ReadMessage> seen_;
};

}  // namespace fourkeys
