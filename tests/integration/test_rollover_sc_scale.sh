#!/usr/bin/env bash
# test_rollover_sc_scale.sh — test_rollover_sc.sh with 50 devices behind the
# primary and failover hubs (ctest label `scale`).
export BACSC_ROLLOVER_SC_DEVICES=${BACSC_ROLLOVER_SC_DEVICES:-50}
exec bash "$(dirname "$0")/test_rollover_sc.sh"
