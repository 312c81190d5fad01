-- wrk script for Tally hits: POST /v1/sites/SITE/hits?key=K with an Origin
-- the site allows, so every request takes the full counting path.
--
--   wrk -tT ... -s hits.lua -- MODE [SITE] [ORIGIN] [KEYS] [START] [SEED] [T]
--
-- MODE  hot   one key ("/hot") for every request
--       zipf  KEYS keys (default 10000), drawn Zipf(s=1): key i has weight 1/i
--       walk  every request a new key: thread t of T takes START+t, +T, ...;
--             wraps at KEYS (creates KEYS distinct counters in total)
--       read  GET /v1/sites/SITE/counters?key=/hot: the same path, headers and
--             answer as a hit, without counting (the HTTP path's own cost)
--
-- Non-2xx answers are counted through response() and reported apart: they
-- are failures, never throughput. done() prints one JSON line, prefixed
-- "BENCH_JSON ", with the totals and wrk's latency percentiles (µs).

local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local mode, site, origin, keys, start, seed
local requests = {}   -- zipf: pre-formatted request per key
local sequence = {}   -- zipf: pre-drawn key indices
local position = 0
local nthreads = 1
local next_key = 0
-- Globals, so that done() can read them from each thread with get().
fail_count = 0
ok_count = 0

-- What a visitor's browser sends, not a short tool name: the bot filter
-- scans the User-Agent and the visitor hash covers it, on every hit.
local user_agent =
  "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"

local function hit(key)
  return wrk.format("POST", "/v1/sites/" .. site .. "/hits?key=" .. key,
                    {["Origin"] = origin, ["User-Agent"] = user_agent,
                     ["Content-Length"] = "0"}, nil)
end

function init(args)
  mode = args[1] or "hot"
  site = args[2] or "demo"
  origin = args[3] or "http://localhost:8080"
  keys = tonumber(args[4] or "10000")
  start = tonumber(args[5] or "0")
  seed = tonumber(args[6] or "1")
  nthreads = tonumber(args[7] or "1")
  local id = tonumber(id or 1)
  if mode == "hot" then
    requests[1] = hit("/hot")
  elseif mode == "read" then
    requests[1] = wrk.format("GET", "/v1/sites/" .. site .. "/counters?key=/hot",
                             {["Origin"] = origin, ["User-Agent"] = user_agent}, nil)
  elseif mode == "zipf" then
    -- Cumulative weights of Zipf(s=1) over `keys` keys, then a fixed
    -- per-thread sequence of draws (binary search in the CDF), so request()
    -- only indexes tables.
    local cdf, sum = {}, 0
    for i = 1, keys do sum = sum + 1 / i; cdf[i] = sum end
    math.randomseed(seed * 7919 + id)
    for n = 1, 100000 do
      local u = math.random() * sum
      local lo, hi = 1, keys
      while lo < hi do
        local mid = math.floor((lo + hi) / 2)
        if cdf[mid] < u then lo = mid + 1 else hi = mid end
      end
      sequence[n] = lo
    end
    for i = 1, keys do requests[i] = hit("/z" .. i) end
  else  -- walk
    next_key = start + id - 1
  end
end

sent_count = 0  -- global: requests this thread generated (walk: keys it took)

function request()
  sent_count = sent_count + 1
  if mode == "hot" or mode == "read" then
    return requests[1]
  elseif mode == "zipf" then
    position = position % #sequence + 1
    return requests[sequence[position]]
  else
    local k = next_key % keys
    next_key = next_key + nthreads
    return hit("/w" .. k)
  end
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok_count = ok_count + 1 else fail_count = fail_count + 1 end
end

function done(summary, latency, requests)
  local failed, succeeded, slowest = 0, 0, nil
  for _, t in ipairs(threads) do
    failed = failed + (t:get("fail_count") or 0)
    succeeded = succeeded + (t:get("ok_count") or 0)
    local sent = t:get("sent_count") or 0
    if slowest == nil or sent < slowest then slowest = sent end
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"ok":%d,"non2xx":%d,"socket_errors":%d,"seconds":%.3f,' ..
    '"ok_per_sec":%.1f,"p50_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"min_thread_requests":%d}\n',
    summary.requests, succeeded, failed, e.connect + e.read + e.write + e.timeout, seconds,
    succeeded / seconds, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean, slowest or 0))
end
