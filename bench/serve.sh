#!/usr/bin/env bash
# serve.sh: drives export and import jobs on `bacport serve` through its ARM
# API with curl.
#
# run.sh sources it for serve_start (a fresh `bacport serve` in
# $BENCH_OUT/serve, a resource group, an embedded storage account and one SQL
# server per engine), serve_stop and the measuring helpers. The timed part
# runs it as a script:
#   serve.sh export ENGINE DATABASE BLOB   export DATABASE to BLOB, wait for the job
#   serve.sh import ENGINE DATABASE BLOB   import BLOB into a new DATABASE, wait
#   serve.sh drop ENGINE DATABASE          delete the database (untimed preparation)
#   serve.sh ensure ENGINE DATABASE BLOB   export DATABASE to BLOB unless it exists
#   serve.sh phases LOG                    per-phase figures of the job in LOG
# ENGINE is postgres, mysql or sqlite. BLOB names get "-r$BENCH_ROUND" added,
# so every round writes a new blob and nothing has to be deleted in between.
# The job's status is polled every 0.2 s, so wall times are that exact.

SERVE_DIR=${SERVE_DIR:-$BENCH_OUT/serve}
SERVE_ENV=$SERVE_DIR/bench.env
SERVE_PID=
API_VERSION=2026-08-01-preview
SV_RG=bench SV_ACCOUNT=benchstore SV_CONTAINER=bench
SV_LOGIN=benchadmin SV_PASSWORD=Bench-Pa55-word
# The service needs a password; the shared MariaDB's root has none, so the
# mysql server resource logs in as this user (created if missing).
SV_MYUSER=bacbench SV_MYPASS=Bench-Pa55-word

sv_server() { echo "bench-$1"; }

sv_blob() { local b=$1; echo "${b%.bacpac}-r${BENCH_ROUND:-1}.bacpac"; }

# ---- HTTP ----------------------------------------------------------------------

# arm METHOD PATH [BODY]: calls the API; prints the body; headers go to
# $SERVE_DIR/last.headers. Fails on a status of 400 or more.
arm() {
    local method=$1 path=$2 body=${3:-} url code
    case $path in
    http*) url=$path ;;
    *) url="$SV_API$path" ;;
    esac
    case $url in *api-version=*) ;; *\?*) url="$url&api-version=$API_VERSION" ;;
    *) url="$url?api-version=$API_VERSION" ;; esac
    local args=(-sS --cacert "$SV_CERT" -H "Authorization: Bearer $SV_TOKEN"
        -H 'Content-Type: application/json' -X "$method" -D "$SERVE_DIR/last.headers"
        -o "$SERVE_DIR/last.body" -w '%{http_code}')
    [ -n "$body" ] && args+=(--data "$body")
    code=$(curl "${args[@]}" "$url") || return 1
    cat "$SERVE_DIR/last.body"
    [ "$code" -lt 400 ] || { echo >&2; echo "HTTP $code from $method $path" >&2; return 1; }
}

header() { awk -v h="$1" 'BEGIN{IGNORECASE=1} tolower($1) == tolower(h) ":" {sub(/\r$/, ""); print $2}' \
    "$SERVE_DIR/last.headers"; }

sv_load() {
    [ -f "$SERVE_ENV" ] || { echo "no bacport serve state in $SERVE_ENV" >&2; return 1; }
    . "$SERVE_ENV"
    SV_TOKEN=$(cat "$SV_TOKEN_FILE")
}

# ---- start, set up, stop ----------------------------------------------------------

serve_start() {
    have jq || { log "note: jq is missing; serve rows skipped"; return 1; }
    rm -rf "$SERVE_DIR"
    mkdir -p "$SERVE_DIR"
    # Free ports, so the run never collides with another bacport on the
    # default ones.
    local flags=(--data-dir "$SERVE_DIR/data") help
    help=$("$BACPORT" serve --help 2>&1)
    [[ $help == *--listen* ]] && flags+=(--listen 127.0.0.1:0)
    [[ $help == *--blob-listen* ]] && flags+=(--blob-listen 127.0.0.1:0)
    "$BACPORT" serve "${flags[@]}" >"$SERVE_DIR/serve.log" 2>&1 &
    SERVE_PID=$!
    local ep=$SERVE_DIR/data/endpoints.json deadline=$((SECONDS + 60))
    until [ -s "$ep" ] && jq -e .api "$ep" >/dev/null 2>&1; do
        if ! kill -0 "$SERVE_PID" 2>/dev/null || [ $SECONDS -gt $deadline ]; then
            log "bacport serve did not come up; last lines of $SERVE_DIR/serve.log:"
            tail -5 "$SERVE_DIR/serve.log" >&2
            return 1
        fi
        sleep 0.2
    done
    {
        echo "SERVE_PID=$SERVE_PID"
        echo "SV_API=$(jq -r .api "$ep" | sed 's:/*$::')"
        echo "SV_CERT=$(jq -r .certFile "$ep")"
        echo "SV_SUB=$(jq -r .subscriptionId "$ep")"
        echo "SV_TOKEN_FILE=$(jq -r .adminTokenFile "$ep")"
    } >"$SERVE_ENV"
    sv_load || return 1
    log "bacport serve (pid $SERVE_PID) at $SV_API; setting up resources"
    sv_setup >>"$SERVE_DIR/setup.log" 2>&1 ||
        { log "resource setup failed; see $SERVE_DIR/setup.log"; tail -3 "$SERVE_DIR/setup.log" >&2; return 1; }
}

sv_setup() {
    local rg="/subscriptions/$SV_SUB/resourceGroups/$SV_RG" acct key blob e
    arm PUT "$rg" '{"location":"local"}' || return 1
    acct="$rg/providers/Microsoft.Storage/storageAccounts/$SV_ACCOUNT"
    arm PUT "$acct" '{"location":"local","kind":"StorageV2","sku":{"name":"Standard_LRS"},"properties":{}}' ||
        return 1
    sv_wait_provisioned "$acct" || return 1
    key=$(arm POST "$acct/listKeys" | jq -r '.keys[0].value') || return 1
    blob=$(arm GET "$acct" | jq -r .properties.primaryEndpoints.blob | sed 's:/*$::') || return 1
    SV_KEY=$key SV_BLOB=$blob/$SV_CONTAINER
    echo "SV_KEY=$SV_KEY" >>"$SERVE_ENV"
    echo "SV_BLOB=$SV_BLOB" >>"$SERVE_ENV"

    if [ -z "$MYPASS" ]; then
        myq -e "CREATE USER IF NOT EXISTS '$SV_MYUSER'@'%' IDENTIFIED BY '$SV_MYPASS';
                GRANT ALL PRIVILEGES ON *.* TO '$SV_MYUSER'@'%'" || return 1
    fi
    for e in postgres mysql sqlite; do
        sv_server_put "$e" || return 1
        # Jobs without private link need the "allow Azure services" rule.
        arm PUT "$(sv_server_path "$e")/firewallRules/AllowAllWindowsAzureIps" \
            '{"properties":{"startIpAddress":"0.0.0.0","endIpAddress":"0.0.0.0"}}' || return 1
        # Adopt the dataset's database as a database resource.
        arm PUT "$(sv_server_path "$e")/databases/$DB" '{"location":"local"}' || return 1
    done
    sv_make_container
}

sv_server_path() { echo "/subscriptions/$SV_SUB/resourceGroups/$SV_RG/providers/Microsoft.Sql/servers/$(sv_server "$1")"; }

sv_server_put() {
    local e=$1 login=$SV_LOGIN pw=$SV_PASSWORD dsn
    case $e in
    postgres) dsn="postgres://$PGHOST:$PGPORT/?sslmode=disable" login=$PGUSER ;;
    mysql)
        dsn="mysql://$MYHOST:$MYPORT/"
        if [ -n "$MYPASS" ]; then login=$MYUSER pw=$MYPASS; else login=$SV_MYUSER pw=$SV_MYPASS; fi ;;
    # A directory DSN ends with a slash; the dataset's file is $DATA/$DB.sqlite.
    sqlite) dsn="sqlite://$DATA/" ;;
    esac
    arm PUT "$(sv_server_path "$e")" "$(jq -nc --arg l "$login" --arg p "$pw" --arg t "$e" --arg d "$dsn" \
        '{location:"local",properties:{administratorLogin:$l,administratorLoginPassword:$p,
          engine:{type:$t,dsn:$d}}}')" >/dev/null || return 1
    sv_wait_provisioned "$(sv_server_path "$e")"
}

# sv_wait_provisioned PATH: waits for a resource PUT that answered 201/202.
sv_wait_provisioned() {
    local deadline=$((SECONDS + 60)) state
    while [ $SECONDS -lt $deadline ]; do
        state=$(arm GET "$1" | jq -r '.properties.provisioningState // .properties.state // "Succeeded"')
        case $state in Succeeded | Ready) return 0 ;; Failed) return 1 ;; esac
        sleep 0.3
    done
    return 1
}

# The container is made with the account key through the Blob REST API
# (Shared Key), since ARM has no call for it in the embedded account.
sv_make_container() {
    local date sig url
    date=$(LC_ALL=C TZ=GMT date '+%a, %d %b %Y %H:%M:%S GMT')
    url="$SV_BLOB?restype=container"
    local acct=$SV_ACCOUNT path
    path=$(echo "$SV_BLOB" | sed -E 's#^https?://[^/]+##')
    # The canonical resource is /account followed by the URL path, which
    # for a path-style endpoint starts with the account name again.
    path="/$acct$path"
    local sts="PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:$date\nx-ms-version:2021-12-02\n$path\nrestype:container"
    sig=$(printf "$sts" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(echo -n "$SV_KEY" |
        base64 -d | xxd -p -c 256)" -binary | base64 -w0)
    curl -sS --cacert "$SV_CERT" -X PUT -H "x-ms-date: $date" -H 'x-ms-version: 2021-12-02' \
        -H 'Content-Length: 0' -H "Authorization: SharedKey $acct:$sig" -o /dev/null \
        -w 'container: HTTP %{http_code}\n' "$url"
}

serve_stop() {
    [ -n "$SERVE_PID" ] || return 0
    kill "$SERVE_PID" 2>/dev/null
    wait "$SERVE_PID" 2>/dev/null
    SERVE_PID=
}

serve_reset_peak() { echo 5 >"/proc/$SERVE_PID/clear_refs" 2>/dev/null; }
serve_peak_kb() { awk '/^VmHWM:/{print $2}' "/proc/$SERVE_PID/status" 2>/dev/null || echo 0; }

# serve_blob_size NAME: size of this round's blob NAME.
serve_blob_size() {
    local name
    name=$(sv_blob "$1")
    (sv_load && BACPORT_ENDPOINT=$SV_API BACPORT_TOKEN=$SV_TOKEN BACPORT_CA_FILE=$SV_CERT \
        BACPORT_SUBSCRIPTION=$SV_SUB "$BACPORT" storage blob list -g "$SV_RG" -n "$SV_ACCOUNT" \
        --container "$SV_CONTAINER" --prefix "$name" -o json 2>/dev/null |
        jq -r --arg n "$name" '[.value[]? | select(.name == $n) | .size][0] // 0') || echo 0
}

# serve_db_path ENGINE NAME: what checks.sh needs to reach a database the
# service made.
serve_db_path() {
    case $1 in
    sqlite) echo "$DATA/$2.sqlite" ;;
    *) echo "$2" ;;
    esac
}

# ---- jobs ------------------------------------------------------------------------

sv_storage_json() {
    jq -nc --arg k "$SV_KEY" --arg u "$SV_BLOB/$1" '{storageKeyType:"StorageAccessKey",
        storageKey:$k, storageUri:$u, authenticationType:"Sql"}'
}

sv_creds() {
    case $1 in
    postgres) echo "$PGUSER" "$SV_PASSWORD" ;;
    mysql) if [ -n "$MYPASS" ]; then echo "$MYUSER" "$MYPASS"; else echo "$SV_MYUSER" "$SV_MYPASS"; fi ;;
    sqlite) echo "$SV_LOGIN" "$SV_PASSWORD" ;;
    esac
}

# sv_follow: follows the async operation of the last 202 until it ends.
sv_follow() {
    local async loc doc status
    async=$(header Azure-AsyncOperation)
    loc=$(header Location)
    [ -n "$async" ] || { echo "no Azure-AsyncOperation header" >&2; return 1; }
    echo "operation ${async##*/}" | sed 's/?.*//'
    if [ -n "${SV_FOLLOW:-}" ]; then
        local url=$async
        case $url in *api-version=*) ;; *\?*) url="$url&api-version=$API_VERSION" ;;
        *) url="$url?api-version=$API_VERSION" ;; esac
        "$SV_FOLLOW" -cert "$SV_CERT" -token-file "$SV_TOKEN_FILE" "$url" || return 1
        [ -n "$loc" ] && arm GET "$loc" && echo
        return 0
    fi
    while :; do
        doc=$(arm GET "$async") || return 1
        status=$(echo "$doc" | jq -r .status)
        case $status in
        Succeeded | Completed) break ;;
        Failed | Canceled | Cancelled)
            echo "job $status: $doc"
            return 1 ;;
        esac
        sleep 0.2
    done
    [ -n "$loc" ] && arm GET "$loc" && echo
    return 0
}

sv_export() {
    local e=$1 db=$2 blob l p
    blob=$(sv_blob "$3")
    read -r l p < <(sv_creds "$e")
    arm POST "$(sv_server_path "$e")/databases/$db/export" \
        "$(sv_storage_json "$blob" | jq -c --arg l "$l" --arg p "$p" \
            '. + {administratorLogin:$l, administratorLoginPassword:$p}')" || return 1
    echo
    sv_follow
}

sv_import() {
    local e=$1 db=$2 blob l p
    blob=$(sv_blob "$3")
    read -r l p < <(sv_creds "$e")
    arm POST "$(sv_server_path "$e")/import" \
        "$(sv_storage_json "$blob" | jq -c --arg l "$l" --arg p "$p" --arg d "$db" \
            '. + {administratorLogin:$l, administratorLoginPassword:$p, databaseName:$d,
                  edition:"Standard", serviceObjectiveName:"S0", maxSizeBytes:"1099511627776"}')" || return 1
    echo
    sv_follow
}

# sv_ensure ENGINE DATABASE BLOB: exports DATABASE to this round's BLOB
# unless it is there, so an import group runs without its export group
# (untimed: it is called in the preparation).
sv_ensure() {
    local size
    size=$(serve_blob_size "$3")
    [ "${size:-0}" -gt 0 ] 2>/dev/null && return 0
    sv_export "$@" >/dev/null
}

sv_drop() {
    arm DELETE "$(sv_server_path "$1")/databases/$2" >/dev/null || true
}

# sv_phases LOG: the phases of the job whose id LOG names, from the
# operation's history ("entered phase X" entries), as "phase=seconds" pairs,
# and the data throughput of the rich status.
sv_phases() {
    local id hist st
    id=$(awk '/^operation /{print $2; exit}' "$1")
    [ -n "$id" ] || { echo -; return; }
    hist=$(arm GET "/bacport/operations/$id/history" 2>/dev/null) || { echo -; return; }
    st=$(arm GET "/bacport/operations/$id" 2>/dev/null)
    echo "$hist" | jq -r --argjson st "${st:-null}" '
        def secs: sub("\\.[0-9]+"; "") | sub("Z$"; "Z") | fromdateiso8601? // null;
        [(.value // .)[] | {t: ((.time // .timestamp // .at) | tostring), m: (.message // .text // "")}] as $h
        | [range(0; $h | length) as $i | $h[$i] | select(.m | startswith("entered phase "))
           | {p: (.m | ltrimstr("entered phase ")), t: .t}] as $ph
        | [range(0; $ph | length) as $i
           | "\($ph[$i].p)=\(if $i + 1 < ($ph | length)
                then ((($ph[$i + 1].t | .[0:19] + "Z" | fromdateiso8601) -
                       ($ph[$i].t | .[0:19] + "Z" | fromdateiso8601)) | tostring) + "s"
                else "end" end)"]
        | join(" ")
          + (if $st != null and ($st.progress.bytesPerSecond // 0) > 0
             then " data_MBps=\(($st.progress.bytesPerSecond / 1e6 * 10 | round) / 10)" else "" end)
    ' 2>/dev/null || echo -
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    . "$(dirname "$0")/lib.sh"
    sv_load || exit 1
    cmd=$1
    shift
    case $cmd in
    export) sv_export "$@" ;;
    import) sv_import "$@" ;;
    drop) sv_drop "$@" ;;
    ensure) sv_ensure "$@" ;;
    phases) sv_phases "$@" ;;
    *) echo "usage: serve.sh export|import ENGINE DATABASE BLOB | drop ENGINE DATABASE | phases LOG" >&2
       exit 2 ;;
    esac
fi
