-- Shared by the wrk scripts of bench/ (dofile'd first): numbers the threads
-- (each thread's global `tid`, set before its init() runs) and prints the
-- machine-readable line the bench scripts read after wrk's own summary:
--   BENCH requests=.. duration_s=.. rps=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=..
--         <each counter>=.. socket_errors=..
-- A counter is a global number every thread keeps (non2xx, ok, ...); the
-- line gives its sum over the threads.

local threads = {}
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

function bench_report(summary, latency, counters)
  local e = summary.errors
  local secs = summary.duration / 1e6
  local function ms(us) return string.format("%.3f", us / 1000) end
  local fields = {}
  for _, name in ipairs(counters) do
    local total = 0
    for _, t in ipairs(threads) do total = total + (t:get(name) or 0) end
    table.insert(fields, string.format("%s=%d", name, total))
  end
  io.write(string.format(
    "BENCH requests=%d duration_s=%.3f rps=%.1f p50_ms=%s p90_ms=%s p99_ms=%s max_ms=%s %s socket_errors=%d\n",
    summary.requests, secs, summary.requests / secs,
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)), ms(latency.max),
    table.concat(fields, " "), e.connect + e.read + e.write + e.timeout))
end
