#include "worker/memory_estimate.h"

namespace fourkeys::worker::memory {
namespace {

template <typename Row>
std::size_t rows_heap(const std::vector<Row>& rows) {
  std::size_t total = vector_heap(rows);
  for (const Row& row : rows) total += heap_of(row);
  return total;
}

std::size_t strings_heap(const std::vector<std::string>& strings) {
  std::size_t total = vector_heap(strings);
  for (const std::string& s : strings) total += string_heap(s);
  return total;
}

}  // namespace

std::size_t heap_of(const ChangeRow& r) {
  return string_heap(r.change_id) + string_heap(r.source) + string_heap(r.event_type) + string_heap(r.event_id) +
         string_heap(r.repository) + string_heap(r.author) + string_heap(r.title);
}

std::size_t heap_of(const PushRow& r) {
  return string_heap(r.event_id) + string_heap(r.repository) + string_heap(r.ref) + string_heap(r.before) +
         string_heap(r.after) + strings_heap(r.commit_shas);
}

std::size_t heap_of(const DeploymentEventRow& r) {
  return string_heap(r.event_id) + string_heap(r.source) + string_heap(r.event_type) + string_heap(r.environment) +
         string_heap(r.deploy_id) + string_heap(r.sha) + string_heap(r.status) + strings_heap(r.additional_shas) +
         string_heap(r.repository);
}

std::size_t heap_of(const IncidentEventRow& r) {
  return string_heap(r.event_id) + string_heap(r.source) + string_heap(r.event_type) + string_heap(r.incident_id) +
         string_heap(r.status) + string_heap(r.root_cause_sha) + string_heap(r.severity) + string_heap(r.title) +
         string_heap(r.environment);
}

std::size_t heap_of(const DeploymentRow& r) {
  return string_heap(r.deploy_id) + string_heap(r.source) + string_heap(r.environment) + string_heap(r.status) +
         string_heap(r.main_commit) + string_heap(r.repository);
}

std::size_t heap_of(const DeploymentChangeRow& r) {
  return string_heap(r.deploy_id) + string_heap(r.environment) + string_heap(r.change_id);
}

std::size_t heap_of(const IncidentRow& r) {
  return string_heap(r.source) + string_heap(r.incident_id) + string_heap(r.environment) + string_heap(r.status) +
         string_heap(r.severity) + string_heap(r.title) + string_heap(r.root_cause_sha) + string_heap(r.deploy_id) +
         string_heap(r.attribution);
}

std::size_t heap_of(const MetricsDay& r) {
  return string_heap(r.environment) + string_heap(r.day) + vector_heap(r.lead_time_buckets);
}

std::size_t heap_of(const ServiceHistory& h) {
  return string_heap(h.service) + rows_heap(h.changes) + rows_heap(h.pushes) + rows_heap(h.deployment_events) +
         rows_heap(h.incident_events);
}

std::size_t heap_of(const DerivedService& d) {
  return string_heap(d.service) + rows_heap(d.deployments) + rows_heap(d.deployment_changes) +
         rows_heap(d.incidents);
}

std::size_t heap_of(const std::vector<MetricsDay>& metrics) { return rows_heap(metrics); }

}  // namespace fourkeys::worker::memory
