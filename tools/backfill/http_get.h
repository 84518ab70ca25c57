// A blocking HTTP/1.1 GET over plain TCP or TLS (Boost.Beast + OpenSSL), for
// one request at a time. TLS verifies the server's certificate against the
// system's trust store (OpenSSL's default paths; SSL_CERT_FILE and
// SSL_CERT_DIR point elsewhere) and its host name.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace fourkeys::backfill {

struct HttpAnswer {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct Endpoint {
  bool tls = false;
  std::string host;
  std::string port;       // "443", "80" or as given
  std::string base_path;  // the URL's path without a trailing slash ("" for none)
};

// Reads an http:// or https:// URL (no query, no user info). nullopt-like:
// returns false and sets `error` when the URL is not one.
bool parse_endpoint(const std::string& url, Endpoint& endpoint, std::string& error);

// A failure that asking again will not cure: the server's certificate did
// not verify (untrusted, expired, or for another host name).
class PermanentHttpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class HttpGetter {
 public:
  HttpGetter(Endpoint endpoint, std::chrono::milliseconds timeout, std::size_t body_limit = 64 * 1024 * 1024);
  ~HttpGetter();
  HttpGetter(const HttpGetter&) = delete;
  HttpGetter& operator=(const HttpGetter&) = delete;

  // GET `target` on the endpoint with `headers`. Throws std::runtime_error on
  // a network, TLS or protocol failure (PermanentHttpError when the
  // certificate does not verify) (the message never holds the headers,
  // which carry the token); an HTTP error status is an answer, not a throw.
  HttpAnswer get(const std::string& target, const std::vector<std::pair<std::string, std::string>>& headers);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fourkeys::backfill
