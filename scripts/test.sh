#!/usr/bin/env bash
# Everything the tests need on a fresh Debian 12 machine, then the tests:
# unit tests, the golden argv and compat corpus, and real guests booted
# under TCG.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
tests/guest/build.sh
cargo test --locked
