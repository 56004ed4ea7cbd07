#!/usr/bin/env bash
# Generates the Python client (messages, type stubs and the service stub)
# from proto/ into OUT_DIR (default clients/python/gen), with the protoc
# that grpcio-tools bundles: `python -m grpc_tools.protoc`. Run it with the
# Python that has clients/python/requirements.txt installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-clients/python/gen}
python=${PYTHON:-python3}
mkdir -p "$out"
"$python" -m grpc_tools.protoc -I proto \
  --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
  proto/access/v1/access.proto
