// fourkeys-bench-events: a realistic stream of envelopes for the worker
// benchmark. Many services; per service a linear push chain (1-20 commits per
// push), deployments of chain heads (some failed, some reported in_progress
// first), incidents after some deployments. Envelopes are what the receiver
// publishes (parser::serialize_envelope), with a sender body of ~5 KB.
//
// Produces them to Kafka (key = service) and/or writes them to a file in
// COPY text format (one envelope per line), for the COPY baseline.

#include "common/kafka_producer.h"
#include "common/time.h"
#include "parser/envelope.h"

#include <CLI/CLI.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <stdexcept>
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <thread>
#include <unordered_map>
#include <unistd.h>

namespace {

using namespace fourkeys;

// A sender body shaped like a webhook's: the repository block with its API
// links (as GitHub sends ~100 of them) and the sender, padded with more of
// the same up to `n` bytes. Real payloads compress several times over with
// lz4, and so do these, unlike random text; Kafka, events_raw's compressed
// envelope column and the COPY baseline all see that.
//
// Everything after the sequence number depends on the service alone and is
// made once per service: building it per event was most of the CPU the
// generator spent before the clock starts, and a longer burn of the CPU
// just before measuring slows this machine down for a while after.
class SenderBodies {
 public:
  explicit SenderBodies(std::size_t n) : n_(n) {}

  std::string body(const std::string& service, std::size_t sequence) {
    auto [it, made] = tails_.try_emplace(service);
    if (made) it->second = tail(service);
    return "{\"sequence\":" + std::to_string(sequence) + it->second;
  }

 private:
  std::string tail(const std::string& service) const {
    static const char* const kLinks[] = {"forks", "keys", "collaborators", "teams", "hooks", "issue_events",
                                         "events", "assignees", "branches", "tags", "blobs", "git_tags",
                                         "git_refs", "trees", "statuses", "languages", "stargazers",
                                         "contributors", "subscribers", "subscription", "commits",
                                         "git_commits", "comments", "issue_comment", "contents", "compare",
                                         "merges", "archive", "downloads", "issues", "pulls", "milestones",
                                         "notifications", "labels", "releases", "deployments"};
    std::string body = ",\"repository\":{\"full_name\":\"" + service + "\",\"html_url\":\"https://github.com/" +
                       service + "\"";
    for (std::size_t round = 0; body.size() < n_; ++round) {
      for (const char* link : kLinks) {
        body += ",\"" + std::string(link) + "_url";
        if (round) body += "_" + std::to_string(round);
        body += "\":\"https://api.github.com/repos/" + service + "/" + link + "{/number}\"";
      }
    }
    body += "},\"sender\":{\"login\":\"dev\",\"type\":\"User\",\"site_admin\":false}}";
    return body;
  }

  std::size_t n_;
  std::unordered_map<std::string, std::string> tails_;
};

std::string sha_of(std::uint64_t a, std::uint64_t b) {
  char buf[41];
  std::snprintf(buf, sizeof buf, "%016llx%016llx%08x", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b), static_cast<unsigned>((a * 2654435761u) ^ b));
  return buf;
}

void copy_escape(std::string& out, const std::string& in) {
  for (char c : in) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
}

// CPU seconds this process has used so far (user and system), so the
// benchmark can tell what producing cost while the worker ran.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// The envelopes made before the clock starts, kept in an unlinked file on
// disk rather than in this process's memory, and read back in order while
// producing; pages read are dropped from the page cache behind the reader.
//
// Why not a vector: a million envelopes are ~2.5 GB, and on the benchmark
// machine (a VM) that much anonymous memory held by any process, even idle,
// made Postgres and the worker ~25% slower per event (bench/RESULTS.md,
// "Worker notes", 2026-11-28 noon). Held here, it measured the load
// generator's footprint as if it were the worker's cost.
class EnvelopeSpool {
 public:
  struct Record {
    std::string_view service;
    std::string_view text;
  };

  explicit EnvelopeSpool(const std::string& dir) {
    std::string path = (std::filesystem::path(dir) / "fourkeys-bench-events.XXXXXX").string();
    fd_ = mkstemp(path.data());
    if (fd_ < 0) throw std::runtime_error("cannot make a spool file in " + dir + ": " + std::strerror(errno));
    unlink(path.c_str());
    struct statfs fs {};
    if (fstatfs(fd_, &fs) == 0 && fs.f_type == TMPFS_MAGIC) {
      std::cerr << "warning: " << dir << " is a tmpfs: the envelopes stay in memory (--spool-dir on a disk "
                << "keeps them out of it)\n";
    }
  }
  ~EnvelopeSpool() { close(fd_); }
  EnvelopeSpool(const EnvelopeSpool&) = delete;
  EnvelopeSpool& operator=(const EnvelopeSpool&) = delete;

  void append(const std::string& service, const std::string& text) {
    put_size(service.size());
    put_size(text.size());
    buffer_ += service;
    buffer_ += text;
    if (buffer_.size() >= kChunk) flush();
  }

  // Writes what is buffered, and leaves none of the file in the page cache.
  void finish_writing() {
    flush();
    if (fdatasync(fd_) != 0) throw std::runtime_error(std::string("spool: fdatasync: ") + std::strerror(errno));
    posix_fadvise(fd_, 0, 0, POSIX_FADV_DONTNEED);
    std::string().swap(buffer_);
  }

  // Calls `f(record)` for every record in the order appended. The views
  // last until `f` returns.
  template <typename F>
  void read_all(F&& f) {
    std::string chunk;
    std::size_t used = 0;  // bytes of `chunk` already handed out
    off_t offset = 0;
    for (;;) {
      chunk.erase(0, used);
      used = 0;
      const std::size_t kept = chunk.size();
      chunk.resize(kept + kChunk);
      ssize_t n;
      do n = pread(fd_, chunk.data() + kept, kChunk, offset);
      while (n < 0 && errno == EINTR);
      if (n < 0) throw std::runtime_error(std::string("spool: read: ") + std::strerror(errno));
      chunk.resize(kept + static_cast<std::size_t>(n));
      if (n > 0) posix_fadvise(fd_, offset, n, POSIX_FADV_DONTNEED);
      offset += n;
      for (;;) {
        if (chunk.size() - used < 8) break;
        const std::size_t service_size = get_size(chunk, used), text_size = get_size(chunk, used + 4);
        if (chunk.size() - used - 8 < service_size + text_size) break;
        const char* at = chunk.data() + used + 8;
        f(Record{{at, service_size}, {at + service_size, text_size}});
        used += 8 + service_size + text_size;
      }
      if (n == 0) {
        if (used != chunk.size()) throw std::runtime_error("spool: the file ends inside a record");
        return;
      }
    }
  }

 private:
  static constexpr std::size_t kChunk = 8 << 20;

  void put_size(std::size_t n) {
    if (n > UINT32_MAX) throw std::runtime_error("spool: a record of 4 GiB or more");
    const auto v = static_cast<std::uint32_t>(n);
    buffer_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  static std::size_t get_size(const std::string& from, std::size_t at) {
    std::uint32_t v = 0;
    std::memcpy(&v, from.data() + at, sizeof v);
    return v;
  }
  void flush() {
    for (std::size_t done = 0; done < buffer_.size();) {
      const ssize_t n = write(fd_, buffer_.data() + done, buffer_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error(std::string("spool: write: ") + std::strerror(errno));
      done += static_cast<std::size_t>(n);
    }
    buffer_.clear();
  }

  int fd_ = -1;
  std::string buffer_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fourkeys-bench-events: envelopes for the worker benchmark"};
  std::size_t events = 100000;
  int services = 500;
  std::string brokers, topic = "fourkeys.events.v1", out_file;
  std::uint32_t seed = 1;
  std::size_t body_bytes = 5000;
  std::string database_url;
  std::size_t window = 3000;
  app.add_option("--events", events)->capture_default_str();
  app.add_option("--services", services)->capture_default_str();
  app.add_option("--brokers", brokers, "produce to this Kafka (none: only the file)");
  app.add_option("--topic", topic)->capture_default_str();
  app.add_option("--copy-file", out_file, "also write the envelopes here in COPY text format");
  app.add_option("--seed", seed)->capture_default_str();
  app.add_option("--body-bytes", body_bytes, "size of each sender body")->capture_default_str();
  app.add_option("--follow-database", database_url,
                 "keep at most --window events ahead of what the worker stored (ingest_offsets), so the "
                 "embedded broker's per-partition limit is never reached");
  app.add_option("--window", window)->capture_default_str();
  std::string spool_dir = std::filesystem::temp_directory_path().string();
  app.add_option("--spool-dir", spool_dir, "where the envelopes wait, on disk, until they are produced")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::unique_ptr<pqxx::connection> db;
  if (!database_url.empty()) db = std::make_unique<pqxx::connection>(database_url);
  auto epoch_seconds = [] {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  };
  // What the worker has stored, from the one connection this program keeps:
  // the benchmark reads progress from here instead of starting a psql for
  // every look, which would take CPU from the worker it measures. Prints
  // "progress <events stored> <epoch seconds>" at most every half second.
  double last_progress = 0;
  auto stored = [&]() -> std::size_t {
    pqxx::nontransaction tx(*db);
    std::size_t n = 0;
    try {
      n = tx.exec("SELECT coalesce(sum(next_offset), 0) FROM ingest_offsets")[0][0].as<std::size_t>();
    } catch (const pqxx::sql_error&) {
      return 0;  // not migrated yet
    }
    const double at = epoch_seconds();
    if (at - last_progress >= 0.5) {
      std::cout << "progress " << n << " " << std::fixed << at << std::endl;
      last_progress = at;
    }
    return n;
  };

  std::mt19937 rng(seed);
  std::unique_ptr<EventProducer> producer;
  if (!brokers.empty()) {
    ProducerSettings s;
    s.brokers = brokers;
    s.ack_timeout = std::chrono::seconds(60);
    s.queue_max_messages = 1000000;
    producer = std::make_unique<EventProducer>(s);
  }
  std::ofstream file;
  if (!out_file.empty()) file.open(out_file, std::ios::binary);
  std::atomic<std::size_t> failed{0};

  struct ServiceState {
    std::string head = std::string(40, '0');
    EpochMillis t = 0;
    int step = 0;
    int deployments = 0;
  };
  std::vector<ServiceState> state(static_cast<std::size_t>(services));
  const EpochMillis start = now_millis() - 80LL * 86400 * 1000;
  for (int s = 0; s < services; ++s) state[static_cast<std::size_t>(s)].t = start + s * 1000;

  // Every envelope is made before the first is produced, so that making
  // them (serializing, hashing) does not compete with the worker for the
  // CPU while it is measured. They wait in the spool (see EnvelopeSpool).
  std::unique_ptr<EnvelopeSpool> spool;
  if (producer) spool = std::make_unique<EnvelopeSpool>(spool_dir);
  SenderBodies bodies(body_bytes);
  std::size_t made = 0;
  std::size_t sequence = 0;
  std::string line;
  auto emit = [&](parser::Envelope& e) {
    if (made == events) return;
    e.id = e.source + ":bench-" + std::to_string(seed) + "-" + std::to_string(sequence++);
    e.received_at = format_time(now_millis());
    e.signature = sha_of(sequence, seed);
    const std::string text = parser::serialize_envelope(e, bodies.body(e.service, sequence));
    ++made;
    if (spool) spool->append(e.service, text);
    if (file.is_open()) {
      line.clear();
      copy_escape(line, text);
      line += '\n';
      file << line;
    }
  };

  while (made < events) {
    const int s = static_cast<int>(rng() % static_cast<unsigned>(services));
    ServiceState& st = state[static_cast<std::size_t>(s)];
    const std::string service = "bench/service-" + std::to_string(s);
    parser::Envelope e;
    e.service = service;
    e.repository = service;
    const unsigned roll = rng() % 100;
    if (roll < 60) {  // a push of 1-20 commits
      parser::Change change;
      change.ref = "refs/heads/main";
      change.before = st.head;
      const int n = 1 + static_cast<int>(rng() % 20);
      for (int i = 0; i < n; ++i) {
        st.t += 60'000 + static_cast<EpochMillis>(rng() % 600'000);
        st.head = sha_of(static_cast<std::uint64_t>(s) << 32 | static_cast<std::uint64_t>(st.step), static_cast<std::uint64_t>(i) + seed);
        change.commits.push_back({st.head, format_time(st.t), "dev", "change " + std::to_string(i), {}});
      }
      ++st.step;
      change.after = st.head;
      e.source = "github";
      e.source_event = "push";
      e.kind = parser::Kind::change;
      e.occurred_at = format_time(st.t);
      e.change = change;
    } else if (roll < 90) {  // a deployment: sometimes reported running first, then its outcome
      st.t += 120'000;
      parser::Deployment d;
      d.id = std::to_string(s) + "-" + std::to_string(st.deployments++);
      d.environment = roll < 85 ? "production" : "staging";
      d.sha = st.head;
      d.is_rollback = roll == 61;
      d.is_hotfix = roll == 62;
      e.source = "github";
      e.source_event = "deployment_status";
      e.kind = parser::Kind::deployment;
      if (rng() % 10 < 3) {
        parser::Envelope running = e;
        parser::Deployment r = d;
        r.status = "in_progress";
        r.started_at = format_time(st.t - 60'000);
        running.occurred_at = r.started_at;
        running.deployment = r;
        emit(running);
      }
      d.status = roll % 10 == 0 ? "failure" : "success";
      d.finished_at = format_time(st.t);
      e.occurred_at = d.finished_at;
      e.deployment = d;
    } else {  // an incident report
      parser::Incident i;
      i.id = "INC-" + std::to_string(s) + "-" + std::to_string(st.step / 3);
      i.status = roll < 95 ? "open" : "resolved";
      i.created_at = format_time(st.t + 600'000);
      if (i.status == "resolved") i.resolved_at = format_time(st.t + 3'600'000);
      i.environment = "production";
      i.severity = "SEV2";
      i.title = "latency";
      e.source = "pagerduty";
      e.source_event = "incident." + i.status;
      e.kind = parser::Kind::incident;
      e.occurred_at = i.resolved_at.empty() ? i.created_at : i.resolved_at;
      e.incident = i;
    }
    emit(e);
  }
  if (file.is_open()) file.close();
  if (spool) spool->finish_writing();

  std::size_t produced = 0;
  if (producer) {
    // The benchmark's clock starts here.
    std::cout << "producing " << std::fixed << epoch_seconds() << " cpu " << cpu_seconds() << std::endl;
    spool->read_all([&](const EnvelopeSpool::Record& r) {
      for (;;) {
        bool queued = true;
        producer->produce(KafkaMessage{topic, std::string(r.service), std::string(r.text), {}},
                          [&](const DeliveryResult& d) {
          if (d.status == DeliveryStatus::queue_full) queued = false;
          else if (d.status != DeliveryStatus::delivered) ++failed;
        });
        if (queued) break;
        producer->flush(std::chrono::milliseconds(100));
      }
      ++produced;
      if (db && produced % 250 == 0) {
        // Each look is a query on the worker's Postgres: not too often.
        while (produced > window && stored() + window < produced) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    });
    producer->flush(std::chrono::seconds(120));
    producer->shutdown();
    std::cout << "produced cpu " << std::fixed << cpu_seconds() << std::endl;
    if (db && failed.load() == 0) {
      // The benchmark's clock stops when every event produced is stored:
      // looked at every 5 ms, so that the end is not late by much. A worker
      // that stops storing for a minute fails the run instead of hanging it.
      std::size_t n = 0, last = 0;
      auto last_change = std::chrono::steady_clock::now();
      while ((n = stored()) < produced) {
        if (n != last) {
          last = n;
          last_change = std::chrono::steady_clock::now();
        } else if (std::chrono::steady_clock::now() - last_change > std::chrono::minutes(1)) {
          std::cerr << "the worker stored nothing for a minute: " << n << " of " << produced << " stored\n";
          return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      std::cout << "progress " << n << " " << std::fixed << epoch_seconds() << std::endl;
      std::cout << "stored " << n << " " << std::fixed << epoch_seconds() << std::endl;
    }
  }
  std::cerr << "events " << made << " produced " << produced << " failed " << failed.load() << "\n";
  return failed.load() == 0 ? 0 : 1;
}
