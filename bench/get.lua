-- wrk script: GET with an optional bearer $TOKEN or cookie $COOKIE; prints one RESULT line.
local token = os.getenv("TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
-- Or a console session cookie in $COOKIE.
local cookie = os.getenv("COOKIE")
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end
dofile(os.getenv("BENCH_DIR") .. "/result.lua")
