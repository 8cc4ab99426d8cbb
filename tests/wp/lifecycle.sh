#!/usr/bin/env bash
# Checks lab.sh's process handling, which smoke.sh (a running lab) cannot:
#
#   bash tests/wp/lifecycle.sh          a second `up` changes nothing (same pids,
#                                       no reload, configs untouched), and `up`
#                                       turns a left-over fpm-fix back off.
#                                       Safe while other tests run.
#   bash tests/wp/lifecycle.sh --down   also `down` (nothing it started may be
#                                       left running) and a cold `up`, timed,
#                                       then smoke.sh. The lab is down for a few
#                                       seconds: tests running meanwhile will notice.
#
# Needs root, like lab.sh. Reads processes from /proc; never kills anything.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=${WP_LAB_STATE_DIR:-/var/lib/wprest-lab/state}
RUN=$STATE/run
LOGS=$STATE/logs
LAB=$HERE/lab.sh
WITH_DOWN=0
[[ ${1:-} == --down ]] && WITH_DOWN=1

fails=0
ok() { printf 'ok   %s\n' "$*"; }
bad() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Everything that tells whether `up` touched the running lab: recorded pids,
# config mtimes, and how often Apache and PHP-FPM were reloaded (a graceful
# reload keeps the parent's pid). Not the children: prefork and pm=dynamic
# retire and fork idle ones on their own.
snapshot() {
    local f
    for f in "$RUN"/*.pid; do
        [[ -s $f ]] && echo "$(basename "$f") $(<"$f")"
    done
    stat -c '%n %Y' "$STATE/apache/httpd.conf" "$STATE/apache/fpm-fix.conf" "$STATE/fpm/php-fpm.conf" \
        /etc/wordpress/config-127.0.*.php "$STATE"/proxy/*.conf 2>&1
    echo "apache graceful: $(grep -c 'Graceful restart requested' "$LOGS/apache-error.log" 2>/dev/null || true)"
    echo "php-fpm reload: $(grep -c 'Reloading in progress' "$LOGS/php-fpm.log" 2>/dev/null || true)"
}

timed_up() { # $1 label; prints lab.sh's own "up in" line
    local t0 t1
    t0=$(now_ms)
    bash "$LAB" up >"$STATE/lifecycle-up.log" 2>&1 || { tail -20 "$STATE/lifecycle-up.log"; bad "$1: lab.sh up failed"; return 1; }
    t1=$(now_ms)
    ok "$1: lab.sh up in $(((t1 - t0) / 1000)).$(printf '%03d' $(((t1 - t0) % 1000))) s"
}

fpm_me() {
    local app
    app=$(php -r 'echo json_decode(file_get_contents($argv[1]), true)["sites"]["fpm"]["users"]["admin"]["app_password"];' "$HERE/lab.json")
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 -u "admin:$app" \
        "$(php -r 'echo json_decode(file_get_contents($argv[1]), true)["sites"]["fpm"]["url"];' "$HERE/lab.json")/wp-json/wp/v2/users/me"
}

# ---- a second up is a no-op
timed_up "warm up #1"
before=$(snapshot)
sleep 1 # a config rewrite within the same second would not change the mtime
timed_up "warm up #2"
after=$(snapshot)
if [[ $before == "$after" ]]; then
    ok "second up: same pids, no reload, configs untouched"
else
    bad "second up changed something:"
    diff <(echo "$before") <(echo "$after") || true
fi

# ---- up puts a left-over fpm-fix back off
bash "$LAB" fpm-fix on >/dev/null
code=$(fpm_me)
[[ $code == 200 ]] && ok "fpm-fix on: fpm users/me -> 200" || bad "fpm-fix on: fpm users/me -> $code"
timed_up "up with fpm-fix left on"
grep -q 'fpm-fix was on' "$STATE/lifecycle-up.log" && ok "up reported the left-over fix" || bad "up did not report the fix"
code=$(fpm_me)
[[ $code == 401 ]] && ok "after up: fpm users/me -> 401 (fix off again)" || bad "after up: fpm users/me -> $code"

# ---- down leaves nothing behind, cold up
if ((WITH_DOWN)); then
    groups=''
    for f in "$RUN"/*.pid; do [[ -s $f ]] && groups+=" $(<"$f")"; done
    bash "$LAB" down
    sleep 0.2
    left=''
    for g in $groups; do
        # Zombies are only waiting for pid 1 to reap them.
        left+=$(ps -o pid=,stat=,args= -g "$g" 2>/dev/null | awk '$2 !~ /^Z/' || true)
    done
    [[ -z $left ]] && ok "down: no process left in the groups it started ($groups )" || bad "down left: $left"
    left=$(grep -lsF -e "$STATE/apache/httpd.conf" -e "$STATE/fpm/php-fpm.conf" /proc/[0-9]*/cmdline || true)
    [[ -z $left ]] && ok "down: no apache2/php-fpm of this lab running" || bad "down left: $left"
    [[ ! -e $HERE/lab.json ]] && ok "down: lab.json removed" || bad "down: lab.json still there"
    timed_up "cold up"
    bash "$HERE/smoke.sh" >"$STATE/lifecycle-smoke.log" 2>&1 && ok "smoke.sh after cold up" ||
        { tail -20 "$STATE/lifecycle-smoke.log"; bad "smoke.sh after cold up"; }
fi

if ((fails)); then
    echo "lifecycle: $fails check(s) failed"
    exit 1
fi
echo "lifecycle: all checks passed"
