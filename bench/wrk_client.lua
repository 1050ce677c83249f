-- wrk script: every connection (one per thread) is a client with its own session.
-- Arguments after "--": METHOD PATH CSRF_HEADER, then COOKIE TOKEN per thread.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local method, path, header = args[1], args[2], args[3]
  local headers = { ["Cookie"] = args[4 + 2 * id], ["Content-Length"] = "0" }
  if method == "POST" then
    headers[header] = args[5 + 2 * id]
  end
  req = wrk.format(method, path, headers)
end

function request()
  return req
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
