-- wrk script for bench/ingest.sh: posts the seed's deployment bodies to
-- POST /events/deployment, each with a commit sha of its own, to the seed's
-- service or to fourkeys-parser (which also needs BENCH_TOKEN as a bearer
-- token; the seed's service ignores the header).
--
-- Prints, after wrk's own summary, one machine-readable line:
--   BENCH requests=.. duration_s=.. rps=.. p50_ms=.. p99_ms=.. ok=.. non2xx=.. socket_errors=..
-- ok counts 2xx answers (the seed's 200 "recorded", the receiver's 202).

local token = os.getenv("BENCH_TOKEN") or ""
local nonce = tonumber(os.getenv("BENCH_RUN") or "") or os.time()

local threads = {}
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

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
  local good, bad = 0, 0
  for _, t in ipairs(threads) do
    good = good + (t:get("ok") or 0)
    bad = bad + (t:get("non2xx") or 0)
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "BENCH requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f ok=%d non2xx=%d socket_errors=%d\n",
    summary.requests, secs, summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    good, bad, e.connect + e.read + e.write + e.timeout))
end
