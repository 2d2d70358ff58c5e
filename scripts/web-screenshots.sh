#!/usr/bin/env bash
# web-screenshots.sh — regenerate docs/screenshots/*.png (shown in the README)
# by running the web console's browser test with its screenshots pointed
# there. usage: scripts/web-screenshots.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
mkdir -p docs/screenshots
SCREENSHOTS=$PWD/docs/screenshots BACSC=$BUILD/bacsc BACSC_SRC=$PWD BACSC_BUILD=$BUILD \
  bash tests/integration/test_web_browser.sh
ls -l docs/screenshots
