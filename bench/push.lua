-- wrk script for bench/receiver.sh: posts signed GitHub push deliveries.
--
-- Reads the bodies bench/receiver.sh generated: $BENCH_BODIES/push-<n>.json
-- and push-<n>.sig (the X-Hub-Signature-256 value), n = 1, 2, ... Each
-- request takes the next body (each thread starts at a different one) and a
-- unique X-GitHub-Delivery: <run nonce>-<thread>-<counter>.
--
-- Prints, after wrk's own summary, one machine-readable line:
--   BENCH requests=.. duration_s=.. rps=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=..
--         non2xx=.. not_accepted=.. socket_errors=..
-- non2xx counts every answer outside 200-299 (wrk's own "Non-2xx or 3xx"
-- line lets 3xx through); not_accepted counts 2xx answers without
-- "accepted" in the body (a dead letter is 202 too, but not the path this
-- measures); socket_errors are wrk's connect/read/write/timeout errors.

local dir = os.getenv("BENCH_BODIES") or error("BENCH_BODIES is not set")
local nonce = os.getenv("BENCH_RUN") or tostring(os.time())

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- Everything but the delivery id is fixed per body: pre-render the head and
-- the tail of each request so that request() only concatenates.
local head = "POST " .. wrk.path .. " HTTP/1.1\r\n" ..
             "Host: " .. wrk.host .. ":" .. tostring(wrk.port) .. "\r\n" ..
             "User-Agent: GitHub-Hookshot/bench\r\n" ..
             "Content-Type: application/json\r\n" ..
             "X-GitHub-Event: push\r\n" ..
             "X-GitHub-Delivery: "
local tails = {}
while true do
  local n = #tails + 1
  local body = slurp(dir .. "/push-" .. n .. ".json")
  if not body then break end
  local sig = (slurp(dir .. "/push-" .. n .. ".sig") or error("no signature for body " .. n)):gsub("%s+$", "")
  tails[n] = "\r\n" ..
             "X-Hub-Signature-256: " .. sig .. "\r\n" ..
             "Content-Length: " .. #body .. "\r\n" ..
             "\r\n" .. body
end
if #tails == 0 then error("no bodies in " .. dir) end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_common.lua")

-- Thread states (wrk_common.lua's setup() sets the global tid before init() runs).
non2xx = 0
not_accepted = 0
local counter = 0
local pos = 0
function init(args)
  tid = tid or 1
  pos = ((tid - 1) * 17) % #tails
end

function request()
  counter = counter + 1
  pos = pos % #tails + 1
  return head .. nonce .. "-" .. tid .. "-" .. counter .. tails[pos]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if non2xx <= 3 then io.stderr:write("non-2xx: " .. status .. " " .. (body or "") .. "\n") end
  elseif not (body and body:find('"accepted"', 1, true)) then
    not_accepted = not_accepted + 1
    if not_accepted <= 3 then io.stderr:write("not accepted: " .. status .. " " .. (body or "") .. "\n") end
  end
end

function done(summary, latency, requests)
  bench_report(summary, latency, {"non2xx", "not_accepted"})
end
