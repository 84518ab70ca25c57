// A history (history.h) as the HTTP deliveries its senders would make: the
// body each sender writes, its headers and its signature.
#pragma once

#include "tools/generate/history.h"

#include <string>
#include <utility>
#include <vector>

namespace fourkeys::generate {

// The credentials the receiver checks (FOURKEYS_GITHUB_SECRET, ...). Each
// may list several values, as the receiver's settings do during a rotation:
// PagerDuty signs with every one, the others use the first.
struct Secrets {
  std::vector<std::string> github, gitlab, pagerduty, api;
};

struct Delivery {
  Millis time = 0;      // when the sender sends it; deliveries go out in this order
  std::string service;
  std::string source;   // github, gitlab, pagerduty, api, cdevents
  std::string event;    // push, Deployment Hook, incident.resolved, service.deployed, ...
  std::string path;     // POST target
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The receiver should publish it (202 accepted); false for deliveries a
  // real sender makes that carry no DORA signal (ping, in-progress states).
  bool stored = true;
};

// Every delivery of the history, in sending order.
std::vector<Delivery> render(const History& history, const Secrets& secrets);

// Time texts in the shapes senders write.
std::string rfc3339(Millis t);                            // 2024-05-01T12:00:00Z
std::string rfc3339_offset(Millis t, int offset_minutes);  // 2024-05-01T14:00:00+02:00
std::string space_time(Millis t, const std::string& zone);  // 2024-05-01 12:00:00 UTC / +0000

}  // namespace fourkeys::generate
