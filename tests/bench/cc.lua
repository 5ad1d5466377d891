-- tests/bench/cc.lua — POST /token grant_type=client_credentials with HTTP Basic
-- client authentication (BENCH_BASIC = base64 of id:secret): client lookup,
-- keyed-hash secret check and one ES256 signature per request.
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
wrk.method = "POST"
wrk.path = "/token"
wrk.body = "grant_type=client_credentials"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
