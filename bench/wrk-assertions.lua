-- wrk script: POST a different pre-built body on every request (each holds a client assertion
-- with its own jti: a replayed one is refused). Bodies come from WRK_BODIES, one a line; the
-- threads take alternate lines so no two requests share one.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  thread:set("nthreads", 0)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  local i = 0
  for line in io.lines(os.getenv("WRK_BODIES")) do
    if i % 2 == id then table.insert(bodies, line) end
    i = i + 1
  end
  next_body = 1
end

function request()
  local body = bodies[next_body]
  next_body = next_body + 1
  if next_body > #bodies then next_body = 1 end
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"rps":%.1f,"bytes":%d,' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6), summary.bytes,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
