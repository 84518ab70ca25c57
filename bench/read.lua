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

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_common.lua")

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
  bench_report(summary, latency, {"non2xx"})
end
