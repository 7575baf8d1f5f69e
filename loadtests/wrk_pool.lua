-- wrk script: replay a pool of pre-built raw HTTP requests (loadtests/gen_traffic.py), each once,
-- in pool order, and classify every answer.
--
--   wrk -t1 -c64 -d10s --timeout 5s -s loadtests/wrk_pool.lua http://127.0.0.1:PORT -- \
--       POOL_FILE [START_INDEX] [wrap|stop]
--
-- POOL_FILE holds "<length>\n<raw request>" records. START_INDEX (0-based) skips the requests a
-- warm-up run already sent. When the pool runs out, `wrap` starts again at the beginning (fine
-- for a server that does not care, such as bare_server.py) and `stop` sends `GET /healthz`
-- instead, so money requests are never sent twice; both count `exhausted`.
--
-- done() prints one line "WRKJSON {...}" with the totals, latency percentiles (microseconds)
-- from wrk's histogram and the answer classes:
--   ok       HTTP 2xx and a business success marker of one of the protocols (or bare's),
--   replay   ok answers that say they are replays ("replay":true, gamegate and the operator API),
--   refused  HTTP 2xx without a success marker (a business refusal), a sample is kept,
--   other    any other HTTP status, by status code.
-- Use one thread (-t1): the counters live in the thread's Lua state and done() reads them.

local find, sub = string.find, string.sub

local pool, count = {}, 0
local wrap = true
local samples_max = 5
local threads = {}
-- globals: done() reads them with thread:get()
index, sent, exhausted = 0, 0, 0
ok, replay, refused = 0, 0, 0
statuses, samples = {}, {}

local SUCCESS = {
  '"status":"ok"',   -- gamegate, bare_server
  '"status":"RS_OK"', -- hub88
  '"status":"OK"',   -- evolution
  '"error":0,',      -- pragmatic
  '"error":0}',
}

local function load_pool(path)
  local file = assert(io.open(path, "rb"))
  local data = file:read("*a")
  file:close()
  local pos = 1
  while pos <= #data do
    local newline = find(data, "\n", pos, true)
    local length = tonumber(sub(data, pos, newline - 1))
    count = count + 1
    pool[count] = sub(data, newline + 1, newline + length)
    pos = newline + 1 + length
  end
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  load_pool(args[1])
  index = tonumber(args[2] or "0")
  wrap = (args[3] or "wrap") == "wrap"
end

local healthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
local verified = false

function request()
  -- wrk calls request() once after init() only to check that it parses, and never sends that
  -- one: answer it without consuming the pool.
  if not verified then
    verified = true
    return pool[index + 1] or healthz
  end
  if index >= count then
    exhausted = exhausted + 1
    if not wrap then
      return healthz
    end
    index = 0
  end
  index = index + 1
  sent = sent + 1
  return pool[index]
end

local function success(body)
  for i = 1, #SUCCESS do
    if find(body, SUCCESS[i], 1, true) then
      return true
    end
  end
  -- softswiss: a 200 whose body is not an error ({"code":...}) is a success
  return sub(body, 1, 8) ~= '{"code":' and find(body, '"balance":', 1, true) ~= nil
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    statuses[status] = (statuses[status] or 0) + 1
    if #samples < samples_max then
      table.insert(samples, status .. " " .. sub(body, 1, 200))
    end
    return
  end
  if success(body) then
    ok = ok + 1
    if find(body, '"replay":true', 1, true) then
      replay = replay + 1
    end
  else
    refused = refused + 1
    if #samples < samples_max then
      table.insert(samples, status .. " " .. sub(body, 1, 200))
    end
  end
end

local function json_string(text)
  return '"' .. text:gsub('[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local t = threads[1]
  local other = {}
  for code, n in pairs(t:get("statuses")) do
    table.insert(other, string.format('"%d":%d', code, n))
  end
  local sample_texts = {}
  for _, text in ipairs(t:get("samples")) do
    table.insert(sample_texts, json_string(text))
  end
  local errors = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"sent":%d,"next_index":%d,' ..
    '"exhausted":%d,"ok":%d,"replay":%d,"refused":%d,"other":{%s},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d},"samples":[%s]}\n',
    summary.requests, summary.duration, summary.bytes, t:get("sent"), t:get("index"),
    t:get("exhausted"), t:get("ok"), t:get("replay"), t:get("refused"), table.concat(other, ","),
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, table.concat(sample_texts, ",")))
end
