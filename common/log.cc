#include "common/log.h"

#include "common/json.h"
#include "common/time.h"

#include <boost/json/serialize.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>
#include <string>

namespace fourkeys::log {
namespace {

std::string g_program = "fourkeys";
std::atomic<int> g_level{static_cast<int>(Level::info)};

spdlog::logger& logger() {
  static auto instance = [] {
    auto l = spdlog::stderr_logger_mt("fourkeys-json");
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *instance;
}

// Lines are handed to a thread of their own, which writes what has gathered
// every few milliseconds in one write: a request handler or a Kafka delivery
// report never waits on stderr (a full pipe, a slow disk), and a busy
// receiver makes one write per batch rather than one per request, without
// waking a thread per line. Once kMaxPending bytes wait, writers wait too:
// nothing is dropped. Whatever waits is written when the program exits
// normally.
class LineBatcher {
 public:
  LineBatcher() {
    logger();  // constructed first, so destroyed after this
    // The writing thread takes no signals: the programs wait for theirs
    // (SIGTERM, SIGHUP) in a thread of their own, and a signal the kernel
    // handed to this thread instead would take its default action.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    thread_ = std::thread([this] { run(); });
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }
  ~LineBatcher() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  void add(const std::string& line) {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return pending_.size() < kMaxPending || stopping_; });
    const bool was_empty = pending_.empty();
    if (!was_empty) pending_ += '\n';
    pending_ += line;
    lock.unlock();
    if (was_empty) wake_.notify_one();
  }

 private:
  static constexpr std::size_t kMaxPending = 8 << 20;
  static constexpr std::chrono::milliseconds kGather{5};

  void run() {
    std::string batch;
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, everything written
      // Let a few more lines join the batch.
      if (!stopping_) wake_.wait_for(lock, kGather, [&] { return stopping_; });
      batch.clear();
      batch.swap(pending_);
      lock.unlock();
      space_.notify_all();
      logger().info(batch);  // the sink ends the batch with a line break
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable space_;
  std::string pending_;
  bool stopping_ = false;
  std::thread thread_;
};

LineBatcher& batcher() {
  static LineBatcher instance;
  return instance;
}

const char* level_name(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "info";
}

}  // namespace

void init(std::string_view program, Level level) {
  g_program = std::string(program);
  g_level = static_cast<int>(level);
  batcher();
}

Level parse_level(std::string_view text) {
  if (text == "debug") return Level::debug;
  if (text == "warn" || text == "warning") return Level::warn;
  if (text == "error") return Level::error;
  return Level::info;
}

Fields& Fields::add(std::string_view name, std::string_view value) {
  key(name);
  json::append_string(text_, value);
  return *this;
}

Fields& Fields::add(std::string_view name, std::int64_t value) {
  key(name);
  text_ += std::to_string(value);
  return *this;
}

Fields& Fields::add(std::string_view name, double value) {
  key(name);
  // The shortest text that reads back as the same double, as boost::json writes it.
  text_ += boost::json::serialize(boost::json::value(value));
  return *this;
}

void Fields::key(std::string_view name) {
  text_ += ",\"";
  text_ += name;
  text_ += "\":";
}

bool enabled(Level level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

void write(Level level, std::string_view msg, const Fields& fields) {
  if (!enabled(level)) return;
  std::string line = "{\"ts\":\"";
  line += format_time(now_millis());
  line += "\",\"level\":\"";
  line += level_name(level);
  line += "\",\"program\":";
  json::append_string(line, g_program);
  line += ",\"msg\":";
  json::append_string(line, msg);
  line += fields.text();
  line += '}';
  batcher().add(line);
}

void write(Level level, std::string_view msg, const boost::json::object& fields) {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
  boost::json::object line;
  line["ts"] = format_time(now_millis());
  line["level"] = level_name(level);
  line["program"] = g_program;
  line["msg"] = msg;
  for (const auto& kv : fields) line[kv.key()] = kv.value();
  batcher().add(boost::json::serialize(line));
}

}  // namespace fourkeys::log
