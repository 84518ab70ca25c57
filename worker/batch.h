// One consumed message on its way through the stages.
#pragma once

#include "worker/decode.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fourkeys::worker {

struct ConsumedMessage {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string key;
  std::string value;  // the envelope text
  std::vector<std::pair<std::string, std::string>> headers;
};

// A message the decode stage accepted.
struct BatchEvent {
  const ConsumedMessage* message = nullptr;  // owned by the batch
  DecodedEvent event;
};

}  // namespace fourkeys::worker
