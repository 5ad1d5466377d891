-- tests/bench/healthz.lua — GET /healthz: the cost of TLS keep-alive, HTTP
-- parsing and routing alone, the baseline the token endpoint is compared with.
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
