extension WrkLoad {
    /// The Lua script every wrk thread runs (wrk gives each thread its own Lua state).
    ///
    /// Arguments after `--`: mode, request file, nonce. In `template` mode the file is one
    /// request head (request line and headers, no Content-Length) and a body in which every
    /// `{{ID}}` becomes an id no other request of the run carries (nonce, thread, request
    /// count, position), so the ingest service's memory of acknowledged ids never answers
    /// without producing. In `pool` mode (requests that need a signature over the body, which
    /// LuaJIT cannot compute cheaply) the file is `<file>-<thread>`: prepared requests
    /// separated by NUL bytes, each sent once; a thread that runs out sends `GET /health/live`
    /// and counts it as `exhausted`, which makes the run invalid.
    ///
    /// `done()` prints one line, `HEADCOUNT-WRK {json}`, with wrk's own counters and its
    /// latency percentiles in microseconds.
    static let script = #"""
        local threads = {}

        function setup(thread)
          table.insert(threads, thread)
          thread:set("tid", #threads)
        end

        local mode, head, parts, pieces, pool, nonce
        sent, exhausted = 0, 0
        local spare = "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

        local function slurp(path)
          local file = assert(io.open(path, "rb"))
          local data = file:read("*a")
          file:close()
          return data
        end

        function init(args)
          mode, nonce = args[1], args[3]
          if mode == "template" then
            local data = slurp(args[2])
            local split = assert(data:find("\r\n\r\n", 1, true), "no end of head in the template")
            head = data:sub(1, split - 1) .. "\r\nContent-Length: "
            local body = data:sub(split + 4)
            parts = {}
            local start = 1
            while true do
              local at = body:find("{{ID}}", start, true)
              if not at then break end
              table.insert(parts, body:sub(start, at - 1))
              start = at + 6
            end
            table.insert(parts, body:sub(start))
            pieces = {}
          else
            local data = slurp(args[2] .. "-" .. tid)
            pool = {}
            local start = 1
            while start <= #data do
              local stop = data:find("\0", start, true) or (#data + 1)
              table.insert(pool, data:sub(start, stop - 1))
              start = stop + 1
            end
          end
        end

        function request()
          sent = sent + 1
          if mode == "template" then
            local prefix = nonce .. "-" .. tid .. "-" .. sent .. "-"
            local count = #parts
            for j = 1, count - 1 do
              pieces[2 * j - 1] = parts[j]
              pieces[2 * j] = prefix .. j
            end
            pieces[2 * count - 1] = parts[count]
            local body = table.concat(pieces, "", 1, 2 * count - 1)
            return head .. #body .. "\r\n\r\n" .. body
          end
          local prepared = pool[sent]
          if prepared == nil then
            exhausted = exhausted + 1
            return spare
          end
          return prepared
        end

        function done(summary, latency, requests)
          local sentTotal, exhaustedTotal = 0, 0
          for _, thread in ipairs(threads) do
            sentTotal = sentTotal + thread:get("sent")
            exhaustedTotal = exhaustedTotal + thread:get("exhausted")
          end
          local e = summary.errors
          io.write(string.format(
            'HEADCOUNT-WRK {"requests":%d,"duration_us":%d,"sent":%d,"exhausted":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}\n',
            summary.requests, summary.duration, sentTotal, exhaustedTotal, e.status, e.connect, e.read, e.write, e.timeout,
            latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
        end
        """#
}
