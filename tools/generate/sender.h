// Sends deliveries to a receiver over plain HTTP/1.1 with keep-alive, at a
// chosen rate and concurrency, retrying as webhook senders do; or writes
// them to files.
#pragma once

#include "tools/generate/deliveries.h"

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <string>
#include <vector>

namespace fourkeys::generate {

struct Target {
  std::string host;
  std::string port;
  std::string base_path;  // prefix for every delivery's path, without a trailing slash
};

// "http://host:port[/prefix]"; throws std::invalid_argument otherwise.
Target parse_url(const std::string& url);

struct SendOptions {
  Target target;
  double rate = 0;       // deliveries per second over all connections; 0 = no limit
  int concurrency = 4;   // connections, each sending one delivery at a time
  int max_attempts = 8;  // per delivery, for 5xx answers and connection failures
  std::chrono::milliseconds first_backoff{250};
  std::chrono::milliseconds max_backoff{10'000};
  bool progress = false;  // a progress line on stderr
};

struct SendResult {
  std::size_t sent = 0;
  std::size_t accepted = 0;       // 202 accepted: stored by the worker
  std::size_t dead_lettered = 0;  // 202 dead_lettered
  std::size_t ignored = 0;        // 200 ignored
  std::size_t retries = 0;
  std::vector<std::string> errors;      // a 4xx, or retries used up: the delivery is lost
  std::vector<std::string> unexpected;  // answered, but not as the generator meant it
  double seconds = 0;
};

SendResult send_all(const std::vector<Delivery>& deliveries, const SendOptions& options);

// One file per delivery in `dir` (NNNNNN-<source>-<event>.http: request
// line, headers, blank line, body).
void write_files(const std::vector<Delivery>& deliveries, const std::string& dir);
// One JSON object per line: time, service, source, event, method, path,
// headers, body.
void write_json_lines(const std::vector<Delivery>& deliveries, std::ostream& out);

}  // namespace fourkeys::generate
