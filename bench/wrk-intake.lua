-- Case intake for wrk, a lighter load generator than loopdesk-bench (for a second opinion on
-- the intake figure). Needs TOKEN (an API token) in the environment; CT=complaint sends one case
-- type only, otherwise the four types rotate like the bench's.
--   TOKEN=$(loopdesk token create admin --name wrk) wrk -t2 -c64 -d10s --latency -s bench/wrk-intake.lua http://127.0.0.1:8080
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
local n = 0
local types = {"complaint", "inquiry", "service_request", "return"}
local severities = {"minor", "general", "major"}
request = function()
  n = n + 1
  local body = '{"type":"' .. (os.getenv("CT") or types[n % 4 + 1]) ..
    '","subject":"PS-200 上电后无输出 #' .. n ..
    '","description":"客户反映：现场安装时发现 PS-200（200W/24V）上电后无输出，批次 2026110042，请尽快确认原因并答复处理方案。' ..
    '","contact_name":"王经理","contact_phone":"13800138000","channel":"phone","severity":"' .. severities[n % 3 + 1] .. '"}'
  return wrk.format(nil, "/api/v1/cases", nil, body)
end
