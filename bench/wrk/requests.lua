-- wrk script for bench/overhead.py. Environment (read once per thread):
--   WRK_METHOD   GET or POST
--   WRK_PATH     the request path
--   WRK_TOKEN    optional bearer token
--   WRK_BODIES   optional file of JSON bodies, one a line; thread t of n sends lines t, t+n, t+2n, …
--   WRK_BODY     optional single JSON body sent with every request
-- done() prints one JSON line with the figures bench/overhead.py reads: requests, per-status counts,
-- latency percentiles (µs) and the number of bodies each thread used.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  method = os.getenv("WRK_METHOD") or "GET"
  path = os.getenv("WRK_PATH") or "/"
  statuses = {}
  used = 0
  bodies = nil
  local headers = {}
  local token = os.getenv("WRK_TOKEN")
  if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
  if method == "POST" then headers["Content-Type"] = "application/json" end
  local file = os.getenv("WRK_BODIES")
  if file and file ~= "" then
    bodies = {}
    local index = 0
    for line in io.lines(file) do
      if index % tonumber(os.getenv("WRK_THREADS")) == tid then table.insert(bodies, line) end
      index = index + 1
    end
  end
  fixed = wrk.format(method, path, headers, os.getenv("WRK_BODY"))
  req_headers = headers
end

function request()
  if bodies then
    used = used + 1
    local body = bodies[used]
    if body == nil then error("bench/overhead.py: out of request bodies") end
    return wrk.format(method, path, req_headers, body)
  end
  return fixed
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  local bodies_used = 0
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for code, n in pairs(s) do counts[tostring(code)] = (counts[tostring(code)] or 0) + n end
    bodies_used = bodies_used + (thread:get("used") or 0)
  end
  local parts = {}
  for code, n in pairs(counts) do table.insert(parts, string.format('"%s": %d', code, n)) end
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d}, "statuses": {%s}, "p50_us": %d, "p90_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "mean_us": %.1f, "bodies_used": %d}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, table.concat(parts, ", "),
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.mean, bodies_used))
end
