#include "common/kafka_reader.h"

#include <librdkafka/rdkafka.h>

#include <stdexcept>

namespace fourkeys {

std::optional<std::string> ReadMessage::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

ReadMessage copy_message(const rd_kafka_message_s& message) {
  // librdkafka's accessors take non-const pointers but do not modify.
  auto* m = const_cast<rd_kafka_message_t*>(&message);
  ReadMessage out;
  out.topic = rd_kafka_topic_name(m->rkt);
  out.partition = m->partition;
  out.offset = m->offset;
  if (m->key) out.key.assign(static_cast<const char*>(m->key), m->key_len);
  if (m->payload) out.value.assign(static_cast<const char*>(m->payload), m->len);
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR && headers) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
      out.headers.emplace_back(name, value ? std::string(static_cast<const char*>(value), size) : std::string());
    }
  }
  return out;
}

struct TopicReader::Impl {
  rd_kafka_t* rk = nullptr;
  ~Impl() {
    if (rk) {
      rd_kafka_unsubscribe(rk);
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
  }
};

TopicReader::TopicReader(const std::string& brokers, const std::string& topic, Start start,
                         std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const char* name, const std::string& value) {
    if (rd_kafka_conf_set(conf, name, value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(std::string("kafka setting ") + name + ": " + errstr);
    }
  };
  set("bootstrap.servers", brokers);
  set("group.id", "fourkeys-topic-reader");  // required by librdkafka; no commits are made
  set("enable.auto.commit", "false");
  set("enable.partition.eof", "false");
  set("log_level", "3");
  impl_->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (!impl_->rk) throw std::runtime_error(std::string("kafka consumer: ") + errstr);
  rd_kafka_poll_set_consumer(impl_->rk);

  rd_kafka_topic_t* t = rd_kafka_topic_new(impl_->rk, topic.c_str(), nullptr);
  const struct rd_kafka_metadata* md = nullptr;
  const auto err = rd_kafka_metadata(impl_->rk, 0, t, &md, static_cast<int>(timeout.count()));
  rd_kafka_topic_destroy(t);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 || md->topics[0].err) {
    if (md) rd_kafka_metadata_destroy(md);
    throw std::runtime_error("kafka metadata for " + topic + ": " + rd_kafka_err2str(err));
  }
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
  for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
    const int32_t partition = md->topics[0].partitions[i].id;
    int64_t offset = RD_KAFKA_OFFSET_BEGINNING;
    if (start == Start::end) {
      // The exact high watermark now, not OFFSET_END, which would be resolved
      // later and could skip messages produced in between.
      int64_t low = 0, high = 0;
      const auto werr = rd_kafka_query_watermark_offsets(impl_->rk, topic.c_str(), partition, &low, &high,
                                                         static_cast<int>(timeout.count()));
      if (werr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_metadata_destroy(md);
        throw std::runtime_error("kafka watermarks for " + topic + ": " + rd_kafka_err2str(werr));
      }
      offset = high;
    }
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), partition)->offset = offset;
  }
  rd_kafka_metadata_destroy(md);
  rd_kafka_assign(impl_->rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
}

TopicReader::~TopicReader() = default;

std::optional<ReadMessage> TopicReader::next(std::chrono::milliseconds timeout) {
  rd_kafka_message_t* msg = rd_kafka_consumer_poll(impl_->rk, static_cast<int>(timeout.count()));
  if (!msg) return std::nullopt;
  if (msg->err) {
    rd_kafka_message_destroy(msg);
    return std::nullopt;
  }
  ReadMessage out = copy_message(*msg);
  rd_kafka_message_destroy(msg);
  seen_.push_back(out);
  return out;
}

}  // namespace fourkeys
