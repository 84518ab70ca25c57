-- wrk script for bench/read.sh: GETs spread over many services, so that one
-- service's rows cached by Postgres do not make every request cheap.
--
--   wrk ... -s bench/read.lua URL -- '/metrics/dora/{service}?days=90' 200
--
-- Each request replaces {service} in the path with svc-N, N drawn uniformly
-- from 1..count (each thread its own random sequence). A path without
-- {service} is requested as it is.
--
-- Prints, after wrk's own summary, one machine-readable line:
--   BENCH requests=.. duration_s=.. rps=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=..
--         non2xx=.. socket_errors=..
-- non2xx counts every answer outside 200-299 (wrk's own "Non-2xx or 3xx"
-- line lets 3xx through).

local threads = {}
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

non2xx = 0
local template = "/"
local count = 1

function init(args)
  tid = tid or 1
  template = args[1] or wrk.path
  count = tonumber(args[2] or "1") or 1
  math.randomseed(os.time() * 100 + tid)
end

function request()
  local path = template:gsub("{service}", "svc-" .. math.random(count))
  return wrk.format("GET", path)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if non2xx <= 3 then io.stderr:write("non-2xx: " .. status .. " " .. (body or "") .. "\n") end
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("non2xx") or 0) end
  local e = summary.errors
  local secs = summary.duration / 1e6
  local function ms(us) return string.format("%.2f", us / 1000) end
  io.write(string.format(
    "BENCH requests=%d duration_s=%.3f rps=%.1f p50_ms=%s p90_ms=%s p99_ms=%s max_ms=%s non2xx=%d socket_errors=%d\n",
    summary.requests, secs, summary.requests / secs,
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)), ms(latency.max),
    bad, e.connect + e.read + e.write + e.timeout))
end
