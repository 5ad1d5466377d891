-- tests/soak/mix.lua — the soak's wrk request mix over TLS keep-alive:
-- client_credentials at /token (client lookup, keyed-hash secret check, one
-- ES256 signature), discovery, JWKS and /healthz, in turn. SOAK_DELAY_MS paces
-- each connection (wrk's delay()) so the total rate sits at the wanted share of
-- the measured maximum; 0 for the maximum itself. SOAK_BASIC = base64(id:secret).
local n = 0
local delay_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "0")
local basic = "Basic " .. os.getenv("SOAK_BASIC")

function request()
	n = n + 1
	local k = n % 4
	if k == 0 then
		return wrk.format("POST", "/token", { ["Authorization"] = basic,
			["Content-Type"] = "application/x-www-form-urlencoded" },
			"grant_type=client_credentials")
	elseif k == 1 then
		return wrk.format("GET", "/.well-known/openid-configuration")
	elseif k == 2 then
		return wrk.format("GET", "/jwks")
	end
	return wrk.format("GET", "/healthz")
end

function delay()
	return delay_ms
end

-- One machine-readable line: requests, 2xx-3xx, errors, p50/p99/max in ms.
function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("SOAK requests=%d bad_status=%d connect=%d read=%d write=%d timeout=%d " ..
		"rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
		summary.requests, e.status, e.connect, e.read, e.write, e.timeout,
		summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
