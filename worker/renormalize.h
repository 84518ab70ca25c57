// Normalizing stored deliveries again, as the receiver would today: what
// `fourkeys-worker --rebuild` does when the service map (or the settings that
// decide what a delivery means) changed, so that a reorganisation re-derives
// services, teams and environments for the whole history without any
// webhook being sent again.
//
// Pure: no I/O. It runs the receiver's own normalizers (parser/) on the
// sender's body kept in each envelope's `raw`, with the request path and
// headers kept in its `delivery`, and then the service map. Authentication
// is not repeated: the delivery was authenticated when it arrived.
#pragma once

#include "parser/service_map/service_map.h"
#include "parser/source.h"
#include "parser/source_routes.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fourkeys::worker {

struct RenormalizeSettings {
  std::shared_ptr<const parser::ServiceMap> service_map;  // null: no map (the defaults)
  std::string incident_label = "Incident";                // FOURKEYS_INCIDENT_LABEL
  std::vector<std::pair<std::string, std::string>> deploy_workflows;  // FOURKEYS_GITHUB_DEPLOY_WORKFLOWS
};

struct Renormalized {
  enum class Outcome {
    renormalized,  // `envelopes` are what the receiver would publish now (one, or a split push's parts)
    kept,          // the envelope carries no `delivery` (an older receiver wrote it): returned unchanged
    dropped,       // the delivery would now be ignored or dead-lettered: `reason` says why
  };
  Outcome outcome = Outcome::kept;
  std::vector<std::string> envelopes;  // JSON texts
  std::string reason;
  // The id the whole delivery has (`part_of` of a split push's parts, else
  // the envelope id): every part of one delivery gives the same envelopes,
  // so a caller normalizes each delivery once.
  std::string delivery_id;
  // The stored envelope was one part of a split delivery (it has `part_of`).
  bool stored_part = false;
};

class DeliveryRenormalizer {
 public:
  explicit DeliveryRenormalizer(RenormalizeSettings settings);
  ~DeliveryRenormalizer();
  DeliveryRenormalizer(const DeliveryRenormalizer&) = delete;
  DeliveryRenormalizer& operator=(const DeliveryRenormalizer&) = delete;

  // The envelopes for the delivery stored as `envelope_text` (an envelope
  // the decode stage accepted). Keeps the stored `received_at` (times the
  // sender left out default to it) and `signature`. Throws
  // std::invalid_argument when the text is not such an envelope.
  Renormalized renormalize(std::string_view envelope_text) const;

 private:
  RenormalizeSettings settings_;
  std::vector<std::unique_ptr<parser::Source>> sources_;
  parser::SourceRoutes routes_;
};

// The exact text of the top-level `raw` member of an envelope's JSON text
// (the sender's body byte for byte), or nullopt when there is none. Requires
// `envelope_text` to be valid JSON.
std::optional<std::string_view> stored_raw_text(std::string_view envelope_text);

}  // namespace fourkeys::worker
