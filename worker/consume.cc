#include "worker/consume.h"

#include "common/log.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace fourkeys::worker {

struct GroupConsumer::Impl {
  ConsumerSettings settings;
  GapPolicy policy;
  OffsetLookup lookup;
  GapReporter on_gap;
  OffsetReset on_reset;
  rd_kafka_t* rk = nullptr;
  std::set<std::int32_t> assigned;
  std::set<std::int32_t> halted;
  // Where each assigned partition was last sought to. Kafka reports no
  // position for a partition nothing was read from since, so the lag of an
  // idle partition is counted from here.
  std::map<std::int32_t, std::int64_t> started_at;
  std::vector<ConsumedMessage>* building = nullptr;  // the batch poll_batch is filling
  bool resync = false;
  bool closed = false;
  std::uint64_t rebalances = 0;

  rd_kafka_topic_partition_list_t* list_of(const std::set<std::int32_t>& partitions) const {
    auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
    for (auto p : partitions) rd_kafka_topic_partition_list_add(list, settings.topic.c_str(), p);
    return list;
  }

  // The offset to start `partition` at, given the stored one; reports a gap
  // when Kafka no longer has it. nullopt: do not consume (halted).
  std::optional<std::int64_t> start_offset(std::int32_t partition, std::optional<std::int64_t> stored) {
    std::int64_t low = 0, high = 0;
    const auto err = rd_kafka_query_watermark_offsets(rk, settings.topic.c_str(), partition, &low, &high, 5000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Unknown watermarks: start where the database says and let the fetch
      // report an out-of-range offset if there is one.
      return stored ? *stored : RD_KAFKA_OFFSET_BEGINNING;
    }
    if (!stored) {
      if (low > 0) {
        log::info("partition has no stored offset; starting at the oldest message Kafka has",
                  {{"topic", settings.topic}, {"partition", partition}, {"offset", low}});
      }
      return RD_KAFKA_OFFSET_BEGINNING;
    }
    if (*stored < low) return gap(partition, *stored, low);
    if (*stored > high) return reset(partition, *stored, low, high);
    return *stored;
  }

  // The partition ends (`high`) before the offset the database stored: it
  // was emptied and started again. Nothing of it is lost by reading it from
  // its start; events stored before are recognized by their ids.
  std::int64_t reset(std::int32_t partition, std::int64_t stored, std::int64_t low, std::int64_t high) {
    log::warn("the partition ends before the offset the database stored (the topic was recreated, or its broker "
              "lost its log: the embedded broker keeps nothing across restarts); reading it from its start",
              {{"topic", settings.topic},
               {"partition", partition},
               {"stored_offset", stored},
               {"end_offset", high},
               {"from_offset", low}});
    on_reset(partition, stored, low);
    return low;
  }

  std::optional<std::int64_t> gap(std::int32_t partition, std::int64_t from, std::int64_t to) {
    OffsetGap g{settings.topic, partition, from, to};
    log::error("events lost: Kafka no longer has offsets the database has not stored",
               {{"topic", g.topic},
                {"partition", partition},
                {"from_offset", from},
                {"to_offset", to},
                {"policy", policy == GapPolicy::halt ? "halt" : "continue"}});
    if (on_gap) on_gap(g);
    if (policy == GapPolicy::halt) {
      halted.insert(partition);
      return std::nullopt;
    }
    return to;
  }

  // Starting offsets for `partitions`; throws when the database is down.
  std::map<std::int32_t, std::optional<std::int64_t>> plan(const std::set<std::int32_t>& partitions) {
    std::vector<std::int32_t> list(partitions.begin(), partitions.end());
    const auto stored = lookup(list);
    std::map<std::int32_t, std::optional<std::int64_t>> out;
    for (auto p : partitions) {
      auto it = stored.find(p);
      out[p] = start_offset(p, it == stored.end() ? std::nullopt : std::optional<std::int64_t>(it->second));
    }
    return out;
  }

  void on_assign(rd_kafka_topic_partition_list_t* partitions) {
    std::set<std::int32_t> parts;
    for (int i = 0; i < partitions->cnt; ++i) parts.insert(partitions->elems[i].partition);
    assigned = parts;
    halted.clear();
    started_at.clear();
    std::map<std::int32_t, std::optional<std::int64_t>> starts;
    bool db_ok = true;
    try {
      starts = plan(parts);
    } catch (const std::exception& e) {
      db_ok = false;
      log::warn("cannot read stored offsets; partitions stay paused until the database answers",
                {{"error", e.what()}});
    }
    for (int i = 0; i < partitions->cnt; ++i) {
      auto& el = partitions->elems[i];
      if (db_ok && starts[el.partition]) {
        el.offset = *starts[el.partition];
        started_at[el.partition] = el.offset;
      } else {
        el.offset = RD_KAFKA_OFFSET_END;  // never read from here: paused below, sought on resync
      }
    }
    rd_kafka_assign(rk, partitions);
    std::set<std::int32_t> paused;
    if (!db_ok) {
      paused = parts;
      resync = true;
    } else {
      paused = halted;
    }
    if (!paused.empty()) {
      auto* list = list_of(paused);
      rd_kafka_pause_partitions(rk, list);
      rd_kafka_topic_partition_list_destroy(list);
    }
    log::info("partitions assigned", {{"count", partitions->cnt}});
  }

  void on_revoke() {
    if (building) {
      building->clear();  // not stored yet; whoever gets the partitions reads them again
    }
    rd_kafka_assign(rk, nullptr);
    assigned.clear();
    halted.clear();
    started_at.clear();
    log::info("partitions revoked");
  }

  // Seeks every assigned partition to its stored offset and resumes.
  bool try_resync() {
    std::map<std::int32_t, std::optional<std::int64_t>> starts;
    try {
      halted.clear();
      starts = plan(assigned);
    } catch (const std::exception&) {
      return false;
    }
    std::set<std::int32_t> run;
    for (auto& [p, offset] : starts) {
      if (!offset) continue;
      auto* list = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(list, settings.topic.c_str(), p)->offset = *offset;
      rd_kafka_error_t* error = rd_kafka_seek_partitions(rk, list, 5000);
      rd_kafka_topic_partition_list_destroy(list);
      if (error) {
        log::warn("seek failed; will retry", {{"partition", p}, {"error", rd_kafka_error_string(error)}});
        rd_kafka_error_destroy(error);
        return false;
      }
      run.insert(p);
      started_at[p] = *offset;
    }
    if (!run.empty()) {
      auto* list = list_of(run);
      rd_kafka_resume_partitions(rk, list);
      rd_kafka_topic_partition_list_destroy(list);
    }
    resync = false;
    log::info("consumption resumed at the stored offsets", {{"partitions", static_cast<int>(run.size())}});
    return true;
  }

  // What request_resync() does (see consume.h), from inside poll_batch.
  void resync_all() {
    resync = true;
    pause_all();
  }

  void pause_all() {
    if (assigned.empty()) return;
    auto* list = list_of(assigned);
    rd_kafka_pause_partitions(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
  }

  // An out-of-range fetch (auto.offset.reset=error) while consuming.
  void on_offset_out_of_range(std::int32_t partition, std::int64_t wanted) {
    std::int64_t low = 0, high = 0;
    if (rd_kafka_query_watermark_offsets(rk, settings.topic.c_str(), partition, &low, &high, 5000) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Kafka fetches nothing more of the partition until it is sought.
      log::warn("an offset Kafka does not have, and the partition's bounds are unknown; reading again from the "
                "stored offsets",
                {{"topic", settings.topic}, {"partition", partition}, {"offset", wanted}});
      resync_all();
      return;
    }
    if (wanted > high) {
      // The partition was emptied and started again while it was read. What
      // was read of it before may sit in batches not stored yet, and their
      // offsets would undo a reset made now: those batches are dropped and
      // every partition is sought again from the database, where
      // start_offset() finds the stored offset past the end and resets it.
      log::warn("the partition ends before the offset being read; reading again from the stored offsets",
                {{"topic", settings.topic}, {"partition", partition}, {"offset", wanted}, {"end_offset", high}});
      resync_all();
      return;
    }
    if (wanted < 0 || wanted >= low) return;
    const auto next = gap(partition, wanted, low);
    auto* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, settings.topic.c_str(), partition)->offset = next ? *next : low;
    if (next) {
      if (rd_kafka_error_t* e = rd_kafka_seek_partitions(rk, list, 5000)) rd_kafka_error_destroy(e);
      started_at[partition] = *next;
    } else {
      rd_kafka_pause_partitions(rk, list);
    }
    rd_kafka_topic_partition_list_destroy(list);
  }
};

namespace {

void rebalance_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* impl = static_cast<GroupConsumer::Impl*>(opaque);
  ++impl->rebalances;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    impl->on_assign(partitions);
  } else {
    impl->on_revoke();
  }
}

void error_cb(rd_kafka_t*, int err, const char* reason, void*) {
  log::warn("kafka consumer error",
            {{"error", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))}, {"reason", reason}});
}

}  // namespace

GroupConsumer::GroupConsumer(ConsumerSettings settings, GapPolicy policy, OffsetLookup lookup, GapReporter on_gap,
                             OffsetReset on_reset)
    : impl_(std::make_unique<Impl>()) {
  impl_->settings = std::move(settings);
  impl_->policy = policy;
  impl_->lookup = std::move(lookup);
  impl_->on_gap = std::move(on_gap);
  impl_->on_reset = std::move(on_reset);
  const auto& s = impl_->settings;

  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& name, const std::string& value) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error("kafka setting " + name + ": " + errstr);
    }
  };
  set("bootstrap.servers", s.brokers);
  set("group.id", s.group_id);
  set("enable.auto.commit", "false");
  set("enable.auto.offset.store", "false");
  set("auto.offset.reset", "error");  // a missing offset is a gap to report, never a silent jump
  set("enable.partition.eof", "false");
  set("session.timeout.ms", std::to_string(s.session_timeout.count()));
  set("heartbeat.interval.ms", std::to_string(s.heartbeat_interval.count()));
  set("reconnect.backoff.max.ms", std::to_string(s.reconnect_backoff_max.count()));
  set("max.poll.interval.ms", std::to_string(s.max_poll_interval.count()));
  set("fetch.wait.max.ms", std::to_string(s.fetch_wait_max.count()));
  set("partition.assignment.strategy", "range,roundrobin");  // eager: the callbacks below assign
  set("log_level", "3");
  for (const auto& [k, v] : s.extra) set(k, v);
  rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
  rd_kafka_conf_set_error_cb(conf, error_cb);
  rd_kafka_conf_set_opaque(conf, impl_.get());

  impl_->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (!impl_->rk) throw std::runtime_error(std::string("kafka consumer: ") + errstr);
  rd_kafka_poll_set_consumer(impl_->rk);
  auto* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, s.topic.c_str(), RD_KAFKA_PARTITION_UA);
  const auto err = rd_kafka_subscribe(impl_->rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) throw std::runtime_error(std::string("kafka subscribe: ") + rd_kafka_err2str(err));
}

GroupConsumer::~GroupConsumer() {
  close();
  if (impl_->rk) rd_kafka_destroy(impl_->rk);
}

void GroupConsumer::close() {
  if (impl_->closed || !impl_->rk) return;
  impl_->closed = true;
  rd_kafka_consumer_close(impl_->rk);
}

std::vector<ConsumedMessage> GroupConsumer::poll_batch(std::size_t max_messages, std::chrono::milliseconds max_wait) {
  std::vector<ConsumedMessage> batch;
  Impl& impl = *impl_;
  if (impl.resync && !impl.try_resync()) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(impl.rk, static_cast<int>(std::min<long long>(max_wait.count(), 200)));
    if (m) rd_kafka_message_destroy(m);  // read again after the resync
    return batch;
  }
  impl.building = &batch;
  // Wait up to max_wait for the first message, then take what keeps coming
  // without a pause: under load batches fill up, while a lone event is
  // stored at once instead of waiting for company.
  constexpr std::chrono::milliseconds kLinger{5};
  const auto deadline = std::chrono::steady_clock::now() + max_wait;
  while (batch.size() < max_messages) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    const auto wait = batch.empty() ? left : std::min(left, kLinger);
    rd_kafka_message_t* m = rd_kafka_consumer_poll(impl.rk, static_cast<int>(wait.count()));
    if (!m) {
      if (!batch.empty()) break;
      continue;
    }
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
        impl.on_offset_out_of_range(m->partition, m->offset);
      } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        log::warn("kafka consume error", {{"error", rd_kafka_err2name(m->err)}, {"partition", m->partition}});
      }
      rd_kafka_message_destroy(m);
      continue;
    }
    if (impl.resync || !impl.assigned.count(m->partition)) {
      rd_kafka_message_destroy(m);
      continue;
    }
    ConsumedMessage out = copy_message(*m);
    rd_kafka_message_destroy(m);
    batch.push_back(std::move(out));
  }
  impl.building = nullptr;
  return batch;
}

void GroupConsumer::request_resync() { impl_->resync_all(); }

bool GroupConsumer::resync_pending() const { return impl_->resync; }

void GroupConsumer::commit_hint(const std::map<std::int32_t, std::int64_t>& next_offsets) {
  if (next_offsets.empty()) return;
  auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets.size()));
  for (const auto& [p, o] : next_offsets) {
    if (!impl_->assigned.count(p)) continue;
    rd_kafka_topic_partition_list_add(list, impl_->settings.topic.c_str(), p)->offset = o;
  }
  if (list->cnt > 0) rd_kafka_commit(impl_->rk, list, 1);
  rd_kafka_topic_partition_list_destroy(list);
}

std::vector<std::int32_t> GroupConsumer::assignment() const {
  return {impl_->assigned.begin(), impl_->assigned.end()};
}

std::uint64_t GroupConsumer::rebalances() const { return impl_->rebalances; }

std::vector<PartitionLag> GroupConsumer::lag() const {
  std::vector<PartitionLag> out;
  if (impl_->assigned.empty()) return out;
  auto* list = impl_->list_of(impl_->assigned);
  rd_kafka_position(impl_->rk, list);
  for (int i = 0; i < list->cnt; ++i) {
    const auto& el = list->elems[i];
    std::int64_t low = -1, high = -1;
    PartitionLag l{el.partition, -1};
    if (rd_kafka_get_watermark_offsets(impl_->rk, impl_->settings.topic.c_str(), el.partition, &low, &high) ==
            RD_KAFKA_RESP_ERR_NO_ERROR &&
        high >= 0) {
      // Nothing read since the last seek: the next offset is where it went
      // (the oldest message Kafka has when no offset was stored).
      std::int64_t next = el.offset;
      if (next < 0) {
        const auto it = impl_->started_at.find(el.partition);
        if (it != impl_->started_at.end()) next = it->second == RD_KAFKA_OFFSET_BEGINNING ? low : it->second;
      }
      if (next >= 0) l.lag = std::max<std::int64_t>(0, high - next);
    }
    out.push_back(l);
  }
  rd_kafka_topic_partition_list_destroy(list);
  return out;
}

std::int64_t GroupConsumer::backlog() const {
  std::int64_t total = 0;
  for (const PartitionLag& l : lag()) total += std::max<std::int64_t>(0, l.lag);
  return total;
}

}  // namespace fourkeys::worker
