-- wrk script: POST the bytes of $BODY_FILE with $CONTENT_TYPE (and a bearer $TOKEN if set);
-- prints one machine-readable RESULT line.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE") or "application/json"
local token = os.getenv("TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
dofile(os.getenv("BENCH_DIR") .. "/result.lua")
