-- tests/bench/report.lua — wrk's end-of-run hook shared by the bench scripts:
-- one machine-readable line that run.sh turns into the table (wrk's own text
-- output rounds and mixes units).
function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		'BENCH {"requests":%d,"duration_us":%d,"non2xx":%d,"errors":%d,"p99_us":%d,"p50_us":%d}\n',
		summary.requests, summary.duration, e.status,
		e.connect + e.read + e.write + e.timeout,
		latency:percentile(99), latency:percentile(50)))
end
