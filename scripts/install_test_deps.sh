#!/usr/bin/env sh
# What the tests need besides the Python packages: the browser test of the teaching
# page drives Debian's chromium through its driver. Installed only when missing.
set -eu
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver
fi
