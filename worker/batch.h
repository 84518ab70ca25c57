// One consumed message on its way through the stages.
#pragma once

#include "common/kafka_reader.h"
#include "worker/decode.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fourkeys::worker {

// A message as consumed: topic, partition, offset, key, value (the envelope
// text) and headers.
using ConsumedMessage = ReadMessage;

// A message the decode stage accepted.
struct BatchEvent {
  const ConsumedMessage* message = nullptr;  // owned by the batch
  DecodedEvent event;
};

}  // namespace fourkeys::worker
