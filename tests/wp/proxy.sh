# shellcheck shell=bash
# Sourced by tests/wp/lab.sh: two HTTP proxies (Debian's tinyproxy) on
# loopback, for the client's proxy support:
#
#   open  http://127.0.0.1:PROXY_PORT      forwards anything (plain http and CONNECT)
#   auth  http://127.0.0.1:PROXY_PORT+1    the same, but only with Proxy-Authorization:
#                                          Basic PROXY_USER:PROXY_PASSWORD (else 407)
#
# No ConnectPort line: tinyproxy then allows CONNECT to any port (its
# default config would limit it to 443 and 563), so the https sites on
# HTTPS_PORT are reachable through a tunnel. The system's tinyproxy service
# and /etc/tinyproxy are not used: each instance has its own config file
# here and runs in the foreground (-d), so the pid we record is the process.
# Uses from lab.sh: STATE RUN LOGS PROXY_PORT and say die pid_alive
# stop_group started.

PROXY_DIR=$STATE/proxy
PROXY_USER=labproxy
PROXY_PASSWORD=lab-proxy-pass-1
PROXIES=(open auth)

proxy_port() { [[ $1 == open ]] && echo "$PROXY_PORT" || echo $((PROXY_PORT + 1)); }
proxy_url() { echo "http://127.0.0.1:$(proxy_port "$1")"; }

proxy_conf() {
    local name=$1
    cat <<EOF
# Written by tests/wp/lab.sh (proxy.sh) for the lab proxy '$name'; rewritten
# on every \`lab.sh up\`.
User nobody
Group nogroup
Port $(proxy_port "$name")
Listen 127.0.0.1
Timeout 60
LogFile "$LOGS/tinyproxy-$name.log"
LogLevel Connect
MaxClients 50
Allow 127.0.0.0/8
XTinyproxy No
EOF
    [[ $name == auth ]] && echo "BasicAuth $PROXY_USER $PROXY_PASSWORD"
    return 0
}

start_proxies() {
    local name conf tmp pidf rc i
    mkdir -p "$PROXY_DIR"
    for name in "${PROXIES[@]}"; do
        conf=$PROXY_DIR/$name.conf
        pidf=$RUN/tinyproxy-$name.pid
        tmp=$(mktemp "$PROXY_DIR/.conf.XXXXXX")
        proxy_conf "$name" >"$tmp"
        chmod 644 "$tmp"
        if pid_alive "$pidf" "$conf"; then
            # A changed config (new port, new password) takes a restart.
            if cmp -s "$tmp" "$conf"; then
                rm -f "$tmp"
                continue
            fi
            stop_group "$pidf" "$conf" "tinyproxy $name" 10
        fi
        mv -f "$tmp" "$conf"
        rc=0
        curl -s -o /dev/null --max-time 2 "$(proxy_url "$name")/" || rc=$?
        ((rc == 7)) || die "$(proxy_url "$name") is already in use by something lab.sh did not start (set WP_LAB_PROXY_PORT?)"
        # It drops to nobody before it writes its log.
        touch "$LOGS/tinyproxy-$name.log"
        chown nobody:nogroup "$LOGS/tinyproxy-$name.log"
        (exec setsid /usr/bin/tinyproxy -d -c "$conf" </dev/null >>"$LOGS/tinyproxy-$name.log" 2>&1 9>&-) &
        echo $! >"$pidf"
        started "$pidf" "$conf" "tinyproxy $name"
        for ((i = 0; i < 100; i++)); do
            # Listening: any HTTP answer (400 for a request that names no host).
            [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$(proxy_url "$name")/" || true) != 000 ]] && break
            kill -0 "$(<"$pidf")" 2>/dev/null || { tail -5 "$LOGS/tinyproxy-$name.log" >&2; die "tinyproxy $name exited (log: $LOGS/tinyproxy-$name.log)"; }
            sleep 0.1
        done
    done
}

stop_proxies() {
    local name
    for name in "${PROXIES[@]}"; do
        stop_group "$RUN/tinyproxy-$name.pid" "$PROXY_DIR/$name.conf" "tinyproxy $name" 10
    done
}

proxy_status() {
    local name pidf
    for name in "${PROXIES[@]}"; do
        pidf=$RUN/tinyproxy-$name.pid
        if pid_alive "$pidf" "$PROXY_DIR/$name.conf"; then
            printf '%-16s running, pgid %s, %s\n' "proxy $name" "$(<"$pidf")" "$(proxy_url "$name")"
        else
            printf '%-16s stopped\n' "proxy $name"
        fi
    done
}

# The proxies as lab.json records them.
proxies_json() {
    local open_pid auth_pid
    open_pid=$(cat "$RUN/tinyproxy-open.pid" 2>/dev/null || echo 0)
    auth_pid=$(cat "$RUN/tinyproxy-auth.pid" 2>/dev/null || echo 0)
    printf '{"open": {"url": "%s", "server": "tinyproxy", "pid": %s},' "$(proxy_url open)" "$open_pid"
    printf ' "auth": {"url": "%s", "server": "tinyproxy", "pid": %s, "username": "%s", "password": "%s"}}' \
        "$(proxy_url auth)" "$auth_pid" "$PROXY_USER" "$PROXY_PASSWORD"
}
