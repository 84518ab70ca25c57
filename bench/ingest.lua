-- wrk script for bench/ingest.sh: posts the seed's deployment bodies to
-- POST /events/deployment, each with a commit sha of its own, to the seed's
-- service or to fourkeys-parser (which also needs BENCH_TOKEN as a bearer
-- token; the seed's service ignores the header).
--
-- Prints, after wrk's own summary, one machine-readable line:
--   BENCH requests=.. duration_s=.. rps=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. ok=.. non2xx=..
--         socket_errors=..
-- ok counts 2xx answers (the seed's 200 "recorded", the receiver's 202).

local token = os.getenv("BENCH_TOKEN") or ""
local nonce = tonumber(os.getenv("BENCH_RUN") or "") or os.time()

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_common.lua")

ok = 0
non2xx = 0
local counter = 0
function init(args)
  tid = tid or 1
end

function request()
  counter = counter + 1
  -- 40 hex digits, unique per run, thread and request.
  local sha = string.format("%08x%08x%024x", nonce % 4294967296, tid, counter)
  local body = string.format(
    '{"service":"svc-%d","environment":"production","commit_sha":"%s",' ..
    '"commit_timestamp":"2026-11-01T10:00:00Z","deployed_at":"2026-11-01T12:00:00Z",' ..
    '"is_rollback":false,"is_hotfix":false}', counter % 50, sha)
  return wrk.format("POST", wrk.path, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

function response(status, headers, body)
  if status >= 200 and status <= 299 then
    ok = ok + 1
  else
    non2xx = non2xx + 1
    if non2xx <= 3 then io.stderr:write("non-2xx: " .. status .. " " .. (body or "") .. "\n") end
  end
end

function done(summary, latency, requests)
  bench_report(summary, latency, {"ok", "non2xx"})
end
