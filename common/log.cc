#include "common/log.h"

#include "common/json.h"
#include "common/time.h"

#include <boost/json/serialize.hpp>
#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <string>

namespace fourkeys::log {
namespace {

std::string g_program = "fourkeys";
std::atomic<int> g_level{static_cast<int>(Level::info)};

// Lines a stalled stderr (a full pipe, a slow disk) may queue before a
// writer waits: about 8 MB of typical lines.
constexpr std::size_t kQueuedLines = 16384;

// Lines are written by a thread of their own, so that a request handler or
// a Kafka delivery report never waits on a write to stderr; once the queue
// is full, writers wait (nothing is dropped). The queue is drained when the
// program exits normally.
spdlog::logger& logger() {
  static auto instance = [] {
    // The writing thread takes no signals: the programs wait for theirs
    // (SIGTERM, SIGHUP) in a thread of their own, and a signal the kernel
    // handed to this thread instead would take its default action.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    spdlog::init_thread_pool(kQueuedLines, 1);
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    auto l = spdlog::create_async<spdlog::sinks::stderr_sink_mt>("fourkeys-json");
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *instance;
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
  logger();
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
  logger().info(line);
}

void write(Level level, std::string_view msg, const boost::json::object& fields) {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
  boost::json::object line;
  line["ts"] = format_time(now_millis());
  line["level"] = level_name(level);
  line["program"] = g_program;
  line["msg"] = msg;
  for (const auto& kv : fields) line[kv.key()] = kv.value();
  logger().info(boost::json::serialize(line));
}

}  // namespace fourkeys::log
