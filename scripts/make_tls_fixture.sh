#!/usr/bin/env bash
# Writes the self-signed certificate the https:// tests serve with (fixtures/tls/): an EC key and a
# certificate for 127.0.0.1, valid for 100 years. Test-only; the key protects nothing.
set -euo pipefail
cd "$(dirname "$0")/../fixtures/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout key.pem -out cert.pem
