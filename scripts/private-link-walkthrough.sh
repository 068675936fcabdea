#!/usr/bin/env bash
# The whole Private Link story, told with the bacport CLI alone, as a new
# user would try it against a fresh `bacport serve`:
#
#   1. start bacport and log in
#   2. create a resource group, a SQL server and a storage account
#   3. give the server a database (imported from SEED_BACPAC, or empty)
#   4. close the public path: a plain export is now refused
#   5. export with network isolation; see the job held for approval
#   6. approve its private endpoints on the server and the storage account
#   7. watch the export complete
#   8. import into a new database with network isolation: --wait names the
#      endpoints and prints the approve commands, which we run as printed
#   9. read the server's import/export history and the operations' status
#
# Environment:
#   BACPORT      the bacport program (default: bacport on PATH)
#   WORK         a directory for the server's data and the profile
#                (default: a new temporary directory)
#   SEED_BACPAC  a .bacpac to start the source database from (optional)
#
# Exits 0 when every step did what it says. When the server has no Private
# Link API, steps 4-8 cannot run: the script says so, runs the same export
# and import over the public path instead, and exits 0 with
# "PRIVATE LINK PART SKIPPED" in its output.
set -euo pipefail

BACPORT=${BACPORT:-bacport}
WORK=${WORK:-$(mktemp -d)}
SEED_BACPAC=${SEED_BACPAC:-}
export BACPORT_PROFILE="$WORK/profile.json"
# The administrator password comes from the environment, so it is never
# echoed or left in the shell history.
export BACPORT_ADMINISTRATOR_LOGIN_PASSWORD='Walk-through-Pa55'

GROUP=rg-walkthrough
SERVER=srv-walkthrough
ACCOUNT=walkthroughacct
CONTAINER=bacpacs

step() { printf '\n=== %s\n' "$*"; }
say() { printf '%s\n' "$*"; }
fail() {
	printf 'walkthrough FAILED: %s\n' "$*" >&2
	exit 1
}
# bp runs bacport and shows the command line, as a user would type it.
bp() {
	printf '$ bacport %s\n' "$*"
	"$BACPORT" "$@"
}
# field NAME reads the first string field NAME of the JSON on stdin.
field() {
	grep -o "\"$1\": *\"[^\"]*\"" | head -n 1 | sed 's/.*: *"\(.*\)"/\1/'
}
# wait_for DESCRIPTION COMMAND...: retry COMMAND for up to 60 s.
wait_for() {
	local what=$1
	shift
	for _ in $(seq 1 300); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	fail "timed out waiting for $what"
}

step "1. Start a fresh bacport serve and log in"
mkdir -p "$WORK"
"$BACPORT" serve --data-dir "$WORK/data" --listen 127.0.0.1:0 --blob-listen 127.0.0.1:0 \
	--poll-interval 200ms >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
stop_serve() {
	kill "$SERVE_PID" 2>/dev/null || true
	wait "$SERVE_PID" 2>/dev/null || true
}
trap stop_serve EXIT
serving() { grep -q "\"pid\": *$SERVE_PID\b" "$WORK/data/endpoints.json"; }
wait_for "bacport serve to write endpoints.json" serving
BLOB=$(field blob <"$WORK/data/endpoints.json")
bp login --data-dir "$WORK/data"

step "2. Create a resource group, a SQL server and a storage account"
bp group create "$GROUP"
bp sql server create -g "$GROUP" -s "$SERVER" --administrator-login walkadmin
bp storage account create -g "$GROUP" -n "$ACCOUNT"
SERVER_ID=$("$BACPORT" sql server show -g "$GROUP" -s "$SERVER" -o json | field id)
ACCOUNT_ID=$("$BACPORT" storage account show -g "$GROUP" -n "$ACCOUNT" -o json | field id)
KEY=$("$BACPORT" storage account keys list -g "$GROUP" -n "$ACCOUNT" -o json | field value)
[ -n "$SERVER_ID" ] && [ -n "$ACCOUNT_ID" ] && [ -n "$KEY" ] || fail "server id, account id or key missing"
# Secrets go in the environment, where the CLI looks for them, not on
# command lines that end up in logs.
export BACPORT_STORAGE_KEY="$KEY"
say "server:          $SERVER_ID"
say "storage account: $ACCOUNT_ID"

step "3. Give the server a database"
if [ -n "$SEED_BACPAC" ]; then
	say "Import $SEED_BACPAC over the public path, which needs 'allow Azure services'."
	bp storage blob upload -g "$GROUP" -n "$ACCOUNT" --container "$CONTAINER" --name seed.bacpac \
		--file "$SEED_BACPAC"
	bp sql server allow-azure-services on -g "$GROUP" -s "$SERVER"
	bp sql db import -g "$GROUP" -s "$SERVER" -d shop --storage-uri "$BLOB/$ACCOUNT/$CONTAINER/seed.bacpac" \
		--administrator-login walkadmin --wait
else
	bp sql db create -g "$GROUP" -s "$SERVER" -d shop
fi
bp sql db list -g "$GROUP" -s "$SERVER"

# Without the Private Link API there is nothing to approve: say so, and
# show the same round trip over the public path.
if ! "$BACPORT" private-link list >"$WORK/pl-check.out" 2>&1; then
	say ""
	say "PRIVATE LINK PART SKIPPED: this bacport has no Private Link API:"
	say "  $(cat "$WORK/pl-check.out")"
	say "Steps 4-8 need it. Running the export and import over the public path instead."
	bp sql server allow-azure-services on -g "$GROUP" -s "$SERVER"
	bp sql db export -g "$GROUP" -s "$SERVER" -d shop --storage-uri "$BLOB/$ACCOUNT/$CONTAINER/shop.bacpac" \
		--administrator-login walkadmin --wait
	bp sql db import -g "$GROUP" -s "$SERVER" -d shop-copy \
		--storage-uri "$BLOB/$ACCOUNT/$CONTAINER/shop.bacpac" \
		--administrator-login walkadmin --edition GeneralPurpose --service-objective-name GP_Gen5_2 --wait
	step "9. Read the history and the status"
	bp sql server import-export-history -g "$GROUP" -s "$SERVER"
	bp sql db list -g "$GROUP" -s "$SERVER"
	say ""
	say "walkthrough finished WITHOUT its private link part (PRIVATE LINK PART SKIPPED)"
	exit 0
fi

step "4. Close the public path: a plain export is refused"
bp sql server allow-azure-services off -g "$GROUP" -s "$SERVER"
bp sql server public-network-access Disabled -g "$GROUP" -s "$SERVER"
bp storage account update -g "$GROUP" -n "$ACCOUNT" --default-action Deny --bypass None
if bp sql db export -g "$GROUP" -s "$SERVER" -d shop --storage-uri "$BLOB/$ACCOUNT/$CONTAINER/public.bacpac" \
	--administrator-login walkadmin; then
	fail "an export without network isolation ran although the server keeps the service out"
fi
say "(refused, as it should be: the error says what to do)"

step "5. Export with network isolation: the job is held for approval"
bp sql db export -g "$GROUP" -s "$SERVER" -d shop --storage-uri "$BLOB/$ACCOUNT/$CONTAINER/shop.bacpac" \
	--administrator-login walkadmin \
	--use-network-isolation \
	--sql-server-resource-id-for-private-link "$SERVER_ID" \
	--storage-account-resource-id-for-private-link "$ACCOUNT_ID" | tee "$WORK/export.out"
EXPORT_ID=$(sed -n 's/^RequestId *: *//p' "$WORK/export.out")
[ -n "$EXPORT_ID" ] || fail "export printed no RequestId"
# pending_ids OPERATION prints the IDs of the operation's connections that
# wait for approval, from the Private Link Center.
pending_ids() {
	"$BACPORT" private-link list --pending -o json | grep -o '"id": *"[^"]*"' |
		sed 's/.*: *"\(.*\)"/\1/' | grep -- '/privateEndpointConnections/' | grep -- "$1" | sort -u
}
held() { [ "$(pending_ids "$EXPORT_ID" | wc -l)" -ge 2 ]; }
wait_for "the export's two pending private endpoints" held
say "The Private Link Center lists both; each owner also sees theirs on the resource itself:"
bp private-link list --pending
bp private-link list --resource-id "$ACCOUNT_ID"
bp sql db import-export-status "$EXPORT_ID" | tee "$WORK/held.out"
grep -q 'Phase *: *waitingForApproval' "$WORK/held.out" || fail "the export is not waiting for approval"

step "6. Approve the endpoints, on the SQL server and on the storage account"
for id in $(pending_ids "$EXPORT_ID"); do
	bp private-link approve "$id"
done

step "7. Watch the export complete"
bp sql db import-export-status "$EXPORT_ID" --wait

step "8. Import into a new database with network isolation"
say "--wait names the endpoints that hold the job and prints the commands that approve them;"
say "we run those commands exactly as printed."
"$BACPORT" sql db import -g "$GROUP" -s "$SERVER" -d shop-copy \
	--storage-uri "$BLOB/$ACCOUNT/$CONTAINER/shop.bacpac" \
	--administrator-login walkadmin --edition GeneralPurpose --service-objective-name GP_Gen5_2 \
	--database-max-size-bytes 1073741824 --backup-storage-redundancy Local \
	--use-network-isolation \
	--sql-server-resource-id-for-private-link "$SERVER_ID" \
	--storage-account-resource-id-for-private-link "$ACCOUNT_ID" \
	--wait >"$WORK/import.out" 2>"$WORK/import.err" &
IMPORT_PID=$!
advised() { [ "$(grep -c '^  bacport private-link approve ' "$WORK/import.err")" -ge 2 ]; }
wait_for "import --wait to print the approve commands" advised
grep '^  bacport private-link approve ' "$WORK/import.err" | sort -u | while read -r _ verb1 verb2 id; do
	bp "$verb1" "$verb2" "$id"
done
if ! wait "$IMPORT_PID"; then
	cat "$WORK/import.out" "$WORK/import.err"
	fail "the isolated import did not complete"
fi
cat "$WORK/import.err" "$WORK/import.out"
IMPORT_ID=$(sed -n 's/^RequestId *: *//p' "$WORK/import.out")

step "9. Read the history and the status"
bp sql server import-export-history -g "$GROUP" -s "$SERVER" | tee "$WORK/history.out"
[ "$(grep -c 'Completed' "$WORK/history.out")" -ge 2 ] || fail "the history does not show both jobs completed"
bp sql db import-export-status "$EXPORT_ID" --history | tee "$WORK/export-history.out"
grep -q 'privateEndpointApproved' "$WORK/export-history.out" || fail "the export's history shows no approval"
bp sql db import-export-status "$IMPORT_ID" -o json
bp sql db show -g "$GROUP" -s "$SERVER" -d shop-copy
say "The endpoints were removed when the jobs ended; their final states and traffic stay on record:"
bp private-link list --operation "$IMPORT_ID"
bp private-link list

say ""
say "walkthrough complete: exported and imported over approved private endpoints"
