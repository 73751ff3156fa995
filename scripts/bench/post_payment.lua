-- wrk script: POST /payments with valid, distinct events; paymentIds spread over many keys.
-- Each thread numbers its own events; the thread id and a per-run nonce keep ids unique.
-- BENCH_FRESH=1 sends what a client sends: a new paymentId per request and no eventId (the
-- service assigns one); otherwise eventIds are sent and paymentIds reuse BENCH_KEYS keys.
-- `thread_id` is a global set per thread by setup(); a local of that name would shadow it.
local counter = 0
local nonce = os.getenv("BENCH_NONCE") or tostring(os.time())
local keys = tonumber(os.getenv("BENCH_KEYS") or "10000")
local fresh = os.getenv("BENCH_FRESH") == "1"
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

local function uuid(a, b)
  -- A valid UUID v4 shape built from the thread id and counter (unique within a run).
  return string.format("%08x-%04x-4%03x-8%03x-%012x", tonumber(nonce) % 0xffffffff, a % 0xffff,
    math.floor(b / 0x1000000000) % 0xfff, math.floor(b / 0x1000000) % 0xfff, b % 0x1000000000000)
end

request = function()
  counter = counter + 1
  if fresh then
    return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, string.format(
      '{"paymentId":"pay-%s-%d-%d","merchantId":"m-1","type":"PAYMENT_CREATED",' ..
      '"amount":%d,"currency":"EUR","occurredAt":"2026-11-25T10:00:00Z"}',
      nonce, thread_id, counter, 100 + counter))
  end
  local id = uuid(thread_id, counter)
  local body = string.format(
    '{"eventId":"%s","paymentId":"pay-%d-%d","merchantId":"m-1","type":"PAYMENT_CREATED",' ..
    '"amount":%d,"currency":"EUR","occurredAt":"2026-11-25T10:00:00Z"}',
    id, thread_id, counter % keys, 100 + counter)
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end

done = function(summary, latency, requests)
  io.write(string.format("BENCH_JSON {\"requests\":%d,\"duration_us\":%d,\"errors_status\":%d," ..
    "\"errors_connect\":%d,\"errors_timeout\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f}\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000))
end
