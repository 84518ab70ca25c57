// A small blocking HTTP/1.1 client for integration tests (Boost.Beast), with
// keep-alive: requests on one HttpClient reuse its connection.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fourkeys::testing {

struct HttpReply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(const std::string& name) const;  // case-insensitive; empty when absent
};

class HttpClient {
 public:
  HttpClient(std::string host, unsigned short port);
  ~HttpClient();

  // Sends a request; `headers` are sent as given (Content-Length is added).
  HttpReply request(const std::string& method, const std::string& target,
                    const std::vector<std::pair<std::string, std::string>>& headers = {},
                    const std::string& body = "");

  // Sends only the header block, announcing `content_length` bytes (no
  // Content-Length header at all when it is kNoLength), then reads the
  // answer without sending the body.
  static constexpr std::size_t kNoLength = static_cast<std::size_t>(-1);
  HttpReply request_header_only(const std::string& method, const std::string& target,
                                const std::vector<std::pair<std::string, std::string>>& headers,
                                std::size_t content_length);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fourkeys::testing
