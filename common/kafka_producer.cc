#include "common/kafka_producer.h"

#include "common/log.h"

#include <librdkafka/rdkafka.h>

#include <condition_variable>
#include <stdexcept>

namespace fourkeys {
namespace {

struct PendingDelivery {
  DeliveryCallback done;
  std::chrono::steady_clock::time_point queued_at;
  std::atomic<std::size_t>* in_flight;
};

void finish(PendingDelivery* pending, DeliveryResult result) {
  result.latency = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - pending->queued_at);
  auto* in_flight = pending->in_flight;
  auto done = std::move(pending->done);
  delete pending;
  try {
    done(result);
  } catch (const std::exception& e) {
    // Runs inside librdkafka's poll: an exception must not cross its C frames.
    log::error("delivery callback failed", {{"error", e.what()}});
  }
  // Counted down only after the callback, so flush() waits for callbacks too.
  in_flight->fetch_sub(1);
}

DeliveryStatus status_of(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR: return DeliveryStatus::delivered;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL: return DeliveryStatus::queue_full;
    case RD_KAFKA_RESP_ERR__FATAL: return DeliveryStatus::unavailable;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE: return DeliveryStatus::too_large;
    default: return DeliveryStatus::failed;
  }
}

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  auto* pending = static_cast<PendingDelivery*>(msg->_private);
  if (!pending) return;
  DeliveryResult result;
  result.status = status_of(msg->err);
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    result.partition = msg->partition;
    result.offset = msg->offset;
  } else {
    result.error = rd_kafka_err2str(msg->err);
  }
  finish(pending, std::move(result));
}

}  // namespace

// One librdkafka handle. Replaced as a whole after a fatal error, which is
// the only recovery librdkafka allows for an idempotent producer.
struct EventProducer::Handle {
  rd_kafka_t* rk = nullptr;
  std::atomic<bool> fatal{false};
  ~Handle() {
    if (rk) rd_kafka_destroy(rk);
  }
};

namespace {
void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* fatal = static_cast<std::atomic<bool>*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    const auto orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
    log::error("kafka producer fatal error; rebuilding the producer",
               {{"error", rd_kafka_err2name(orig)}, {"detail", buf}});
    fatal->store(true);
    return;
  }
  log::warn("kafka client error", {{"error", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))},
                                   {"detail", reason ? reason : ""}});
}
}  // namespace

EventProducer::EventProducer(ProducerSettings settings) : settings_(std::move(settings)) {
  handle_ = build_handle();
  poll_thread_ = std::thread([this] { poll_loop(); });
  health_thread_ = std::thread([this] { health_loop(); });
}

EventProducer::~EventProducer() { shutdown(); }

void EventProducer::shutdown() {
  if (!running_.load()) return;
  flush(settings_.ack_timeout);
  running_ = false;
  if (poll_thread_.joinable()) poll_thread_.join();
  if (health_thread_.joinable()) health_thread_.join();
  auto handle = current();
  if (handle && handle->rk) {
    // What Kafka did not take in time is reported as failed, here, so that
    // every callback has run before shutdown() returns.
    rd_kafka_purge(handle->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < until) rd_kafka_poll(handle->rk, 20);
  }
}

std::shared_ptr<EventProducer::Handle> EventProducer::build_handle() {
  auto handle = std::make_shared<Handle>();
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& name, const std::string& value) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error("kafka setting " + name + ": " + errstr);
    }
  };
  set("bootstrap.servers", settings_.brokers);
  set("enable.idempotence", "true");
  set("acks", "all");
  set("compression.codec", settings_.compression);
  set("message.timeout.ms", std::to_string(settings_.ack_timeout.count()));
  set("queue.buffering.max.messages", std::to_string(settings_.queue_max_messages));
  // 1 ms: measured best for 7 KB deliveries at 32 connections (bench/RESULTS.md);
  // 0 makes tiny batches that queue behind the 5 requests in flight.
  set("linger.ms", "1");
  set("message.max.bytes", std::to_string(settings_.max_message_bytes));
  set("log_level", "4");
  for (const auto& [name, value] : settings_.extra) set(name, value);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_error_cb(conf, on_error);
  rd_kafka_conf_set_opaque(conf, &handle->fatal);
  handle->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!handle->rk) {
    rd_kafka_conf_destroy(conf);  // rd_kafka_new owns it only on success
    throw std::runtime_error(std::string("kafka producer: ") + errstr);
  }
  return handle;
}

std::shared_ptr<EventProducer::Handle> EventProducer::current() const {
  std::lock_guard lock(handle_mutex_);
  return handle_;
}

void EventProducer::produce(KafkaMessage message, DeliveryCallback done) {
  auto handle = current();
  auto* pending = new PendingDelivery{std::move(done), std::chrono::steady_clock::now(), &in_flight_};
  in_flight_.fetch_add(1);
  if (!handle || handle->fatal.load()) {
    finish(pending, {DeliveryStatus::unavailable, "the producer is being rebuilt", {}, -1, -1});
    return;
  }
  rd_kafka_headers_t* headers = rd_kafka_headers_new(message.headers.size());
  for (const auto& [name, value] : message.headers) {
    rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                        static_cast<ssize_t>(value.size()));
  }
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      handle->rk, RD_KAFKA_V_TOPIC(message.topic.c_str()),
      RD_KAFKA_V_KEY(message.key.data(), message.key.size()),
      RD_KAFKA_V_VALUE(message.value.data(), message.value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
      RD_KAFKA_V_OPAQUE(pending), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(headers);  // ownership passes to librdkafka only on success
    finish(pending, {status_of(err), rd_kafka_err2str(err), {}, -1, -1});
  }
}

bool EventProducer::flush(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return in_flight_.load() == 0;
}

void EventProducer::poll_loop() {
  while (running_.load()) {
    auto handle = current();
    rd_kafka_poll(handle->rk, 20);
    if (handle->fatal.load()) {
      // Fail what the broken producer still holds, then replace it. Until the
      // new one exists, produce() reports unavailable (the receiver answers 503).
      rd_kafka_purge(handle->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(handle->rk, 0);
      try {
        auto fresh = build_handle();
        {
          std::lock_guard lock(handle_mutex_);
          handle_ = fresh;
        }
        rebuilds_.fetch_add(1);
        log::info("kafka producer rebuilt after a fatal error", {{"rebuilds", rebuilds_.load()}});
      } catch (const std::exception& e) {
        log::error("kafka producer rebuild failed; retrying", {{"error", e.what()}});
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      // The purged messages are reported on the old handle's queue: drain it
      // so every caller hears back before the handle is destroyed.
      const auto drain_until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (rd_kafka_outq_len(handle->rk) > 0 && std::chrono::steady_clock::now() < drain_until) {
        rd_kafka_poll(handle->rk, 20);
      }
      rd_kafka_poll(handle->rk, 0);
    }
  }
}

KafkaHealth EventProducer::check_now(std::chrono::milliseconds timeout) {
  KafkaHealth h;
  auto handle = current();
  const struct rd_kafka_metadata* md = nullptr;
  const auto err = rd_kafka_metadata(handle->rk, 1, nullptr, &md, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    h.detail = std::string("kafka metadata unavailable: ") + rd_kafka_err2str(err);
  } else {
    h.metadata_ok = true;
    for (int i = 0; i < md->topic_cnt; ++i) {
      if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        h.partitions[md->topics[i].topic] = md->topics[i].partition_cnt;
      }
    }
    rd_kafka_metadata_destroy(md);
    h.topics_ok = true;
    for (const auto& [topic, min_partitions] : settings_.expected_topics) {
      auto it = h.partitions.find(topic);
      if (it == h.partitions.end()) {
        h.topics_ok = false;
        h.detail += "topic " + topic + " does not exist; ";
      } else if (it->second < min_partitions) {
        h.topics_ok = false;
        h.detail += "topic " + topic + " has " + std::to_string(it->second) + " partitions, expected " +
                    std::to_string(min_partitions) + "; ";
      }
    }
  }
  std::lock_guard lock(health_mutex_);
  health_ = h;
  return h;
}

KafkaHealth EventProducer::health() const {
  std::lock_guard lock(health_mutex_);
  return health_;
}

void EventProducer::health_loop() {
  // Metadata requests block, so they run here and not on the poll thread
  // that completes deliveries.
  while (running_.load()) {
    check_now(std::chrono::milliseconds(1500));
    for (int i = 0; i < 20 && running_.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace fourkeys
