#!/usr/bin/env bash
# serve.sh: drives export and import jobs on `bacport serve` through its ARM
# API with curl. Sourced by run.sh for the start/stop/measure helpers; run as
# a script for the timed part:
#   serve.sh export ENGINE DATABASE BLOB   export DATABASE to BLOB, wait for the job
#   serve.sh import ENGINE DATABASE BLOB   import BLOB into a new DATABASE, wait
# ENGINE is postgres, mysql or sqlite: each has its own SQL server resource.

SERVE_DIR=${SERVE_DIR:-$BENCH_OUT/serve}
SERVE_STATE=$SERVE_DIR/bench.env
SERVE_PID=

serve_start() { return 1; }
serve_stop() { :; }
serve_reset_peak() { :; }
serve_peak_kb() { echo 0; }
serve_blob_size() { echo 0; }
serve_db_path() { echo "$2"; }
