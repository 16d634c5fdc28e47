-- wrk script: GET with an optional bearer $TOKEN; prints one RESULT line.
local token = os.getenv("TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
dofile(os.getenv("BENCH_DIR") .. "/result.lua")
