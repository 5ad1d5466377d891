-- tests/bench/refresh.lua — durable refresh grants: many rotating chains, each
-- request presenting the newest refresh token of one chain, as a real app does.
-- Every answer rotates the family in the store, so each is an fsync'd write.
-- Seeds (one refresh token per line in BENCH_SEEDS) are dealt BENCH_PER_THREAD
-- to each wrk thread: one per connection plus one, because wrk calls request()
-- once on the first thread to check the script, and that token is never sent.
-- A connection only sends after its answer, so a thread's queue never runs dry
-- unless a grant fails (then "exhausted" is sent and fails, and is counted).
dofile(os.getenv("BENCH_DIR") .. "/report.lua")

local seeds, next_seed = nil, 1

function setup(thread)
	if seeds == nil then
		seeds = {}
		for l in io.lines(os.getenv("BENCH_SEEDS")) do
			if #l > 0 then seeds[#seeds + 1] = l end
		end
	end
	local chunk = {}
	for _ = 1, tonumber(os.getenv("BENCH_PER_THREAD")) do
		if seeds[next_seed] then chunk[#chunk + 1] = seeds[next_seed] end
		next_seed = next_seed + 1
	end
	thread:set("seed", table.concat(chunk, " "))
end

function init(args)
	queue = {}
	for t in string.gmatch(seed or "", "%S+") do queue[#queue + 1] = t end
	headers = {
		["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC"),
		["Content-Type"] = "application/x-www-form-urlencoded",
	}
end

function request()
	local t = table.remove(queue) or "exhausted"
	return wrk.format("POST", "/token", headers, "grant_type=refresh_token&refresh_token=" .. t)
end

function response(status, hdrs, body)
	if status == 200 then
		local t = body:match('"refresh_token"%s*:%s*"([^"]+)"')
		if t then queue[#queue + 1] = t end
	end
end
