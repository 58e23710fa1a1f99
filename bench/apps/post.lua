-- wrk script: POST a body of BODY_BYTES bytes (environment) to the target path.
local size = tonumber(os.getenv("BODY_BYTES") or "10240")
wrk.method = "POST"
wrk.body = string.rep("p", size)
wrk.headers["Content-Type"] = "application/octet-stream"
