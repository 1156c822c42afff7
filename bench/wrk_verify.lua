-- wrk script of bench/verify.py: one POST /v1/verifications per line of $BENCH_REQUESTS
-- (key, reference and code separated by tabs), each line once, in order; prints a JSON summary.
local requests = {}

function init(args)
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local key, reference, code = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)")
    requests[#requests + 1] = wrk.format("POST", "/v1/verifications",
      {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"},
      '{"mandate_reference":"' .. reference .. '","code":"' .. code .. '"}')
  end
end

local next_request = 0

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
