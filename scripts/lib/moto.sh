#!/usr/bin/env bash
# Shared by the publish bench scripts (source it): `start_moto LOG` starts moto's S3 server (.venv, from
# `make test-deps`) on a free loopback port, waits until it answers, creates the bucket `bench`, exports the AWS
# variables that point tilepress and the AWS CLI at it, and stops it when the script exits.

start_moto() {
    local log="$1" port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
    moto_pid=$!
    trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.2; done
    curl -sf -X PUT "http://127.0.0.1:$port/bench" >/dev/null
    export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
    export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
}
