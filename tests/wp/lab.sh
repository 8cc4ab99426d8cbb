#!/usr/bin/env bash
# WordPress test lab: several real WordPress sites (Debian package, MariaDB,
# php -S, and Apache with mod_php / PHP-FPM / TLS, see apache.sh) on loopback
# addresses, for the wp_rest.py integration tests.
#
#   bash tests/wp/lab.sh up       install what is missing, start everything, write tests/wp/lab.json
#   bash tests/wp/lab.sh down     stop what `up` started (by recorded pid / process group)
#   bash tests/wp/lab.sh status   show what is running
#   bash tests/wp/lab.sh reset    down, then drop the lab databases, configs and state
#                                 (the next `up` is a fresh install with new app passwords)
#   bash tests/wp/lab.sh fpm-fix on|off
#                                 add/remove `CGIPassAuth On` for the 'fpm' site and reload
#                                 Apache gracefully; returns once the change is visible.
#                                 `up` turns it off again (the default).
#
# Environment: WP_LAB_PORT (default 8765; every http site, each on its own
# address), WP_LAB_HTTPS_PORT (default: WP_LAB_PORT; the https site on
# 127.0.0.8), WP_LAB_STATE_DIR (default tests/wp/.state).
# Needs root (apt, MariaDB, /etc/wordpress). One lab per machine: the config
# files in /etc/wordpress and the databases are machine-wide.
#
# Facts this relies on are in /work/shared/WORDPRESS-LAB.md.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PORT=${WP_LAB_PORT:-8765}
# The https site has an address of its own, so it can share the http port
# number; a separate variable in case a test wants the two to differ.
HTTPS_PORT=${WP_LAB_HTTPS_PORT:-$PORT}
STATE=${WP_LAB_STATE_DIR:-$HERE/.state}
RUN=$STATE/run          # pids and the port of the running lab
LOGS=$STATE/logs
LAB_JSON=$HERE/lab.json

WP_CORE=/usr/share/wordpress
WP_CONTENT=/var/lib/wordpress/wp-content
MU_DIR=$WP_CONTENT/mu-plugins
DB_SOCK=/run/mysqld/mysqld.sock
# apache2 .. openssl: the Apache sites (apache.sh). Debian lets mod_php and
# php-fpm be installed together; neither is enabled in /etc/apache2 by us.
APT_PACKAGES=(wordpress php-cli php-mysql mariadb-server curl apache2 libapache2-mod-php php-fpm openssl)

# Read by the colleague's JWT mu-plugin (JWT_AUTH_SECRET_KEY) and by tests
# (lab.json). Fixed so tokens signed by a test stay valid across restarts.
JWT_SECRET='wprest-lab-jwt-secret-4b1d9c2e7f3a8b6d0e5c1f9a2d7b3e8c'

# The sites. The Debian wp-config.php picks /etc/wordpress/config-<host>.php
# by the Host header without its port, so each loopback address is its own
# WordPress with its own database.
#
# apache, fpm, https: real web servers for telling 401 causes apart (doctor).
#   apache  Apache + mod_php: the Authorization header reaches PHP.
#   fpm     Apache + PHP-FPM (proxy_fcgi) without any fix: it does not.
#   https   Apache + mod_ssl + mod_php, 'production': application passwords
#           are available only because the request is https (is_ssl()).
# 127.0.0.7 is left free on purpose (room for one more http variant).
SITES=(main plain basicauth production apache fpm https)
declare -A SITE_IP=([main]=127.0.0.1 [plain]=127.0.0.2 [basicauth]=127.0.0.3 [production]=127.0.0.4
    [apache]=127.0.0.5 [fpm]=127.0.0.6 [https]=127.0.0.8)
# 'local' makes application passwords available over plain http; 'production'
# is the real-world case where they silently are not.
declare -A SITE_ENV=([main]=local [plain]=local [basicauth]=local [production]=production
    [apache]=local [fpm]=local [https]=production)
declare -A SITE_PERMALINK=([main]=/%postname%/ [plain]=plain [basicauth]=/%postname%/ [production]=/%postname%/
    [apache]=/%postname%/ [fpm]=/%postname%/ [https]=/%postname%/)
declare -A SITE_SEED=([main]=260 [plain]=0 [basicauth]=0 [production]=0 [apache]=0 [fpm]=0 [https]=0)
# Who serves the site: php -S (one server per site, started here) or the one
# lab Apache (apache.sh); for Apache, which PHP.
declare -A SITE_SERVER=([main]=phps [plain]=phps [basicauth]=phps [production]=phps
    [apache]=apache [fpm]=apache [https]=apache)
declare -A SITE_PHP=([apache]=mod_php [fpm]=fpm [https]=mod_php)
declare -A SITE_SCHEME=([https]=https)
# Sites that define JWT_AUTH_SECRET_KEY, which activates the JWT mu-plugin:
# main for the JWT tests; apache and fpm so that the validate probe of
# PROTOCOLS.md 7.4(a) exists on a server that passes the header and on one
# that strips it. Not https.
declare -A SITE_JWT=([main]=1 [apache]=1 [fpm]=1)
# More than one worker everywhere: with a single php -S process any request
# WordPress makes to itself (site health, a plugin) would deadlock it.
declare -A SITE_WORKERS=([main]=4 [plain]=2 [basicauth]=2 [production]=2)

site_scheme() { echo "${SITE_SCHEME[$1]:-http}"; }
site_port() { [[ $(site_scheme "$1") == https ]] && echo "$HTTPS_PORT" || echo "$PORT"; }
site_url() { echo "$(site_scheme "$1")://${SITE_IP[$1]}:$(site_port "$1")"; }
phps_sites() {
    local s
    for s in "${SITES[@]}"; do [[ ${SITE_SERVER[$s]} == phps ]] && echo "$s"; done
    return 0
}

say() { printf 'lab: %s\n' "$*"; }
die() { printf 'lab: ERROR: %s\n' "$*" >&2; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# True if the pid recorded in $1 is alive and its command line contains $2.
# The command-line check guards against a recycled pid after a reboot or
# crash; it is never used to pick what to kill.
pid_alive() {
    local file=$1 expect=$2 pid
    [[ -s $file ]] || return 1
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$expect"
}

db_ping() { mariadb-admin --socket="$DB_SOCK" --connect-timeout=2 ping >/dev/null 2>&1; }
db_sql() { mariadb --socket="$DB_SOCK" -u root "$@"; }

# Run a command as www-data from / (root's cwd may be unreadable for it).
# exec keeps the pid: what we record is the real process.
as_www() { cd / && exec setpriv --reuid=www-data --regid=www-data --init-groups -- "$@"; }

need_root() { [[ $(id -u) == 0 ]] || die "must run as root (apt, MariaDB, /etc/wordpress)"; }

lock() {
    # Colleagues may run `up`/`down` at the same time from the same tree.
    # Everything started while holding it must get `9>&-`, or a long-lived
    # server inherits the lock and the next `up` waits forever.
    mkdir -p "$STATE"
    exec 9>"$STATE/lab.lock"
    flock -w 300 9 || die "another lab.sh is still running (lock $STATE/lab.lock)"
}

# ---------------------------------------------------------------- packages

ensure_packages() {
    local missing=() p created_policy=0
    for p in "${APT_PACKAGES[@]}"; do
        # Not `dpkg -s | grep -q`: grep quits at the first match, dpkg dies of
        # SIGPIPE on long records (apache2's conffiles), and pipefail then
        # counts an installed package as missing.
        [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == 'install ok installed' ]] || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    say "installing packages: ${missing[*]}"
    # Without systemd, mariadb-server's postinst would start its own server
    # through the init script; we want only the one we start (and can stop).
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    local rc=0
    {
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}"
    } >"$LOGS/apt.log" 2>&1 || rc=$?
    ((created_policy)) && rm -f /usr/sbin/policy-rc.d
    ((rc == 0)) || { tail -20 "$LOGS/apt.log" >&2; die "apt-get failed (log: $LOGS/apt.log)"; }
}

# ---------------------------------------------------------------- MariaDB

wait_db() {
    local i pid=$1
    for ((i = 0; i < 300; i++)); do
        db_ping && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    tail -20 "$LOGS/mariadbd.log" >&2
    die "MariaDB (pid $pid) does not answer (log: $LOGS/mariadbd.log)"
}

start_db() {
    if pid_alive "$RUN/mariadbd.pid" mariadbd; then
        # Ours from a previous `up` (maybe still starting or recovering).
        wait_db "$(<"$RUN/mariadbd.pid")"
        return 0
    fi
    rm -f "$RUN/mariadbd.pid"
    if db_ping; then
        # Not ours (a previous lab whose state dir was removed, or a server
        # someone else started): use it, but `down` will leave it alone.
        say "MariaDB already running, not started by lab.sh: using it, down will not stop it"
        return 0
    fi
    mkdir -p /run/mysqld
    chown mysql:mysql /run/mysqld
    if [[ ! -d /var/lib/mysql/mysql ]]; then
        mariadb-install-db --user=mysql --datadir=/var/lib/mysql >"$LOGS/mariadb-install-db.log" 2>&1 ||
            die "mariadb-install-db failed (log: $LOGS/mariadb-install-db.log)"
    fi
    # Own session (setsid) so that it does not die with this shell and `down`
    # can signal exactly it. Socket only: the sites connect through it, and a
    # TCP port could clash with another server. Relaxed flushing makes seeding
    # and test writes faster; a lab does not need crash durability.
    (exec setsid /usr/sbin/mariadbd --user=mysql --socket="$DB_SOCK" --skip-networking \
        --innodb-flush-log-at-trx-commit=2 </dev/null >>"$LOGS/mariadbd.log" 2>&1 9>&-) &
    echo $! >"$RUN/mariadbd.pid"
    wait_db $!
}

setup_databases() {
    local site sql=''
    for site in "${SITES[@]}"; do
        sql+="CREATE DATABASE IF NOT EXISTS \`wprest_lab_$site\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'wprest_lab_$site'@'localhost' IDENTIFIED BY 'lab-db-$site';
ALTER USER 'wprest_lab_$site'@'localhost' IDENTIFIED BY 'lab-db-$site';
GRANT ALL PRIVILEGES ON \`wprest_lab_$site\`.* TO 'wprest_lab_$site'@'localhost';
"
    done
    db_sql <<<"$sql" || die "creating lab databases failed"
}

# ---------------------------------------------------------------- WordPress files

config_php() {
    local site=$1 url
    url=$(site_url "$site")
    cat <<EOF
<?php
// Written by tests/wp/lab.sh for the wp-rest test lab site '$site'.
// Rewritten on every \`lab.sh up\`; edit the script, not this file.
define('WPREST_LAB_SITE', '$site');

define('DB_NAME', 'wprest_lab_$site');
define('DB_USER', 'wprest_lab_$site');
define('DB_PASSWORD', 'lab-db-$site');
define('DB_HOST', 'localhost:$DB_SOCK');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');

// From the address the lab really serves, so home, siteurl, the REST index
// and the Link header match what clients connect to.
define('WP_HOME', '$url');
define('WP_SITEURL', '$url');

define('WP_ENVIRONMENT_TYPE', '${SITE_ENV[$site]}');
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('FS_METHOD', 'direct');
EOF
    if [[ -n ${SITE_JWT[$site]:-} ]]; then
        echo "define('JWT_AUTH_SECRET_KEY', '$JWT_SECRET');"
    fi
    # Fixed salts: login cookies and nonces stay valid across restarts.
    local k
    for k in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
        echo "define('$k', 'wprest-lab-$site-$k-not-secret');"
    done
}

write_configs() {
    local site file tmp
    for site in "${SITES[@]}"; do
        file=/etc/wordpress/config-${SITE_IP[$site]}.php
        tmp=$(mktemp /etc/wordpress/.lab-config.XXXXXX)
        config_php "$site" >"$tmp"
        if cmp -s "$tmp" "$file"; then
            rm -f "$tmp"
        else
            chown root:www-data "$tmp"
            chmod 0640 "$tmp"
            mv -f "$tmp" "$file"
        fi
    done
}

# Copy tests/wp/mu-plugins/*.php into the shared mu-plugins directory under a
# wprest-lab- prefix, and remove wprest-lab-* files that no longer have a
# source (a colleague renamed or deleted one). Other files there are not ours.
sync_mu_plugins() {
    local src base out
    declare -A want=()
    mkdir -p "$MU_DIR"
    chown www-data:www-data "$MU_DIR"
    for src in "$HERE"/mu-plugins/*.php; do
        [[ -e $src ]] || continue
        # A syntax error would make every lab site answer 500; say which file.
        out=$(php -l "$src" 2>&1) || die "mu-plugin does not parse: $src
$out"
        base=$(basename "$src")
        [[ $base == wprest-lab-* ]] || base=wprest-lab-$base
        want[$base]=1
        if ! cmp -s "$src" "$MU_DIR/$base"; then
            install -m 0644 -o root -g root "$src" "$MU_DIR/.$base.tmp"
            mv -f "$MU_DIR/.$base.tmp" "$MU_DIR/$base"
        fi
    done
    for src in "$MU_DIR"/wprest-lab-*.php; do
        [[ -e $src ]] || continue
        base=$(basename "$src")
        [[ -n ${want[$base]:-} ]] || { rm -f "$src"; say "removed stale mu-plugin $base"; }
    done
}

# Install (first time) or check/repair every site, in parallel: each has its
# own database. install.php prints the site's state (users, app passwords).
install_sites() {
    local site prev rc failed=0
    declare -A pids=()
    mkdir -p "$STATE/sites"
    for site in "${SITES[@]}"; do
        prev=$STATE/sites/$site.json
        [[ -s $prev ]] || prev=/dev/null
        (as_www php -d display_errors=stderr -d memory_limit=512M "$HERE/install.php" \
            --site="$site" --host="${SITE_IP[$site]}:$(site_port "$site")" \
            --permalink="${SITE_PERMALINK[$site]}" --seed="${SITE_SEED[$site]}") \
            <"$prev" >"$STATE/sites/.$site.json.new" 2>"$LOGS/install-$site.log" 9>&- &
        pids[$site]=$!
    done
    for site in "${SITES[@]}"; do
        rc=0
        wait "${pids[$site]}" || rc=$?
        if ((rc == 0)) && php -r 'exit(is_array(json_decode(file_get_contents($argv[1]), true)) ? 0 : 1);' \
            "$STATE/sites/.$site.json.new"; then
            mv -f "$STATE/sites/.$site.json.new" "$STATE/sites/$site.json"
        else
            failed=1
            printf 'lab: install of %s failed (rc %s), log %s:\n' "$site" "$rc" "$LOGS/install-$site.log" >&2
            tail -20 "$LOGS/install-$site.log" >&2
        fi
    done
    ((failed == 0)) || die "site installation failed"
}

# ---------------------------------------------------------------- servers

start_site() {
    local site=$1 ip=${SITE_IP[$1]} pidf=$RUN/php-$1.pid
    if pid_alive "$pidf" "-S $ip:$PORT"; then
        return 0
    fi
    # Master gone (crash, OOM) but workers of its group may still hold the
    # port: stop those first.
    stop_group "$pidf" "-S $ip:" "leftover php -S $site" 10
    # Something else on this address and port? curl exit 7 = refused.
    local rc=0
    curl -s -o /dev/null --max-time 2 "http://$ip:$PORT/" || rc=$?
    ((rc == 7)) || die "$ip:$PORT is already in use by something lab.sh did not start (set WP_LAB_PORT?)"
    # setsid: own process group, so `down` can stop the master and all its
    # workers with one signal. www-data: uploads and anything WordPress
    # writes must be writable by the server. Errors go to the log, never
    # into a JSON body.
    (as_www env PHP_CLI_SERVER_WORKERS="${SITE_WORKERS[$site]}" \
        setsid php -d display_errors=0 -d log_errors=1 -d memory_limit=256M \
        -d upload_max_filesize=64M -d post_max_size=64M \
        -S "$ip:$PORT" -t "$WP_CORE" "$HERE/router.php" </dev/null >>"$LOGS/php-$site.log" 2>&1 9>&-) &
    echo $! >"$pidf"
}

# curl for a lab site: trusts the lab CA for the https site (and only there).
site_curl() {
    local site=$1
    shift
    if [[ $(site_scheme "$site") == https ]]; then
        curl --cacert "$CA_BUNDLE" "$@"
    else
        curl "$@"
    fi
}

# Wait until the site answers, then record the API root that its Link header
# advertises (what discovery in the client will see) and check that this
# root really serves the JSON index. HEAD: WordPress sends the Link header
# from template_redirect and then skips rendering the theme.
wait_site() {
    local site=$1 url i code='' link pid ctype log
    url=$(site_url "$site")
    if [[ ${SITE_SERVER[$site]} == apache ]]; then
        pid=$(<"$APACHE_PID")
        log=$LOGS/apache-error.log
    else
        pid=$(<"$RUN/php-$site.pid")
        log=$LOGS/php-$site.log
    fi
    for ((i = 0; i < 200; i++)); do
        code=$(site_curl "$site" -s -I -o /dev/null -w '%{http_code}' --max-time 5 "$url/") || true
        [[ $code == 200 ]] && break
        kill -0 "$pid" 2>/dev/null || { tail -20 "$log" >&2; die "the server of $site (pid $pid) exited (log: $log)"; }
        sleep 0.1
    done
    [[ $code == 200 ]] || die "$site did not answer 200 on $url/ (got ${code:-nothing}; log: $log)"
    link=$(site_curl "$site" -s -I --max-time 10 "$url/" | tr -d '\r' | grep -i '^link:' |
        grep -o '<[^>]*>; rel="https://api.w.org/"' | head -n1 | sed 's/^<\([^>]*\)>.*/\1/') || true
    [[ -n $link ]] || die "$site: no Link rel=\"https://api.w.org/\" header on $url/"
    ctype=$(site_curl "$site" -s -o /dev/null -w '%{http_code} %{content_type}' --max-time 10 "$link") || true
    [[ $ctype == "200 application/json"* ]] || die "$site: API root $link answered '$ctype', expected 200 JSON"
    echo "$link" >"$RUN/api-root-$site"
}

# True if process group $1 has a member that is not a zombie. Plain
# `kill -0 -PGID` also counts zombies, and the orphaned php -S workers and
# mariadbd are reaped by whatever pid 1 is, which can take seconds.
group_alive() {
    local pgid=$1 f line rest
    for f in /proc/[0-9]*/stat; do
        # Processes come and go while we scan. Not $(<"$f"): in bash 5.2 a
        # failed $(<file) ends the script under set -e despite `|| continue`.
        { read -r line <"$f"; } 2>/dev/null || continue
        rest=${line##*) }     # fields after "pid (comm) ": state ppid pgrp ...
        set -- $rest
        [[ $3 == "$pgid" && $1 != Z ]] && return 0
    done
    return 1
}

# State letter of process $1 (R, S, Z...), empty if it is gone.
proc_state() {
    local line
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 0
    line=${line##*) }
    echo "${line%% *}"
}

stop_group() {
    # $1 pid file, $2 what its command line contains, $3 label,
    # $4 seconds to wait before SIGKILL
    local file=$1 expect=$2 label=$3 patience=$4 pid i
    [[ -s $file ]] || return 0
    pid=$(<"$file")
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && [[ $(proc_state "$pid") != Z ]] &&
        ! pid_alive "$file" "$expect"; then
        # The recorded pid now belongs to something else (reboot, pid reuse).
        say "pid $pid in $file is not $label any more; not touching it"
        rm -f "$file"
        return 0
    fi
    # The leader may be gone while workers of its group live on: signal the
    # group whenever any member exists.
    if [[ $pid =~ ^[0-9]+$ ]] && group_alive "$pid"; then
        kill -TERM -- "-$pid" 2>/dev/null || true
        for ((i = 0; i < patience * 10; i++)); do
            group_alive "$pid" || break
            sleep 0.1
        done
        if group_alive "$pid"; then
            say "$label did not stop, killing process group $pid"
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        say "stopped $label (process group $pid)"
    fi
    rm -f "$file"
}

# ---------------------------------------------------------------- lab.json

# What serves a site, as recorded in lab.json ("server").
site_server_label() {
    case ${SITE_SERVER[$1]}:${SITE_PHP[$1]:-} in
        phps:) echo "php -S" ;;
        apache:mod_php) [[ $(site_scheme "$1") == https ]] && echo "apache+mod_ssl+mod_php" || echo "apache+mod_php" ;;
        apache:fpm) echo "apache+php-fpm (proxy_fcgi, no CGIPassAuth unless lab.sh fpm-fix on)" ;;
    esac
}

write_lab_json() {
    local args=() site ca
    for site in "${SITES[@]}"; do
        ca=''
        [[ $(site_scheme "$site") == https ]] && ca=$CA_BUNDLE
        args+=("$site" "$(site_url "$site")" "$(<"$RUN/api-root-$site")" "$(site_server_label "$site")" "$ca")
    done
    php -- "$PORT" "$HTTPS_PORT" "$CA_BUNDLE" "$STATE/sites" "$LAB_JSON" "${args[@]}" <<'PHP'
<?php
// Assemble lab.json from the per-site state written by install.php and the
// API roots read from the live servers. Written atomically: tests may be
// reading it.
[, $port, $https_port, $ca_bundle, $dir, $out] = $argv;
$sites = [];
for ($i = 6; $i < count($argv); $i += 5) {
    [$name, $url, $api, $server, $ca] = array_slice($argv, $i, 5);
    $s = json_decode(file_get_contents("$dir/$name.json"), true);
    $entry = ['url' => $url, 'api_root' => $api, 'server' => $server];
    if ($ca !== '') $entry['ca_bundle'] = $ca;
    foreach (['jwt_secret', 'seed_category_slug', 'seed_posts'] as $k) {
        if (isset($s[$k])) $entry[$k] = $s[$k];
    }
    $entry['environment'] = $s['environment'];
    $entry['permalink_structure'] = $s['permalink_structure'];
    $entry['users'] = $s['users'];
    $sites[$name] = $entry;
}
// ca_bundle: the lab CA that signed the https site's certificate (also in
// that site's entry); give it to the client, e.g. curl --cacert.
$json = json_encode(['port' => (int) $port, 'https_port' => (int) $https_port, 'ca_bundle' => $ca_bundle,
    'sites' => $sites], JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES) . "\n";
file_put_contents("$out.tmp", $json);
rename("$out.tmp", $out);
PHP
}

# ---------------------------------------------------------------- Apache, PHP-FPM, TLS

# shellcheck source=apache.sh
source "$HERE/apache.sh"

# ---------------------------------------------------------------- commands

cmd_up() {
    need_root
    local t0 t1 site notes
    t0=$(now_ms)
    lock
    mkdir -p "$RUN" "$LOGS" "$STATE/sites"
    if [[ -s $RUN/port && $(<"$RUN/port") != "$PORT" ]]; then
        for site in $(phps_sites); do
            pid_alive "$RUN/php-$site.pid" "php" &&
                die "lab is running on port $(<"$RUN/port"); run 'lab.sh down' first"
        done
    fi
    if [[ -s $RUN/ports-apache && $(<"$RUN/ports-apache") != "$PORT $HTTPS_PORT" ]] &&
        pid_alive "$APACHE_PID" "$APACHE_CONF"; then
        die "the lab's Apache is running on ports $(<"$RUN/ports-apache"); run 'lab.sh down' first"
    fi
    echo "$PORT" >"$RUN/port"
    echo "$PORT $HTTPS_PORT" >"$RUN/ports-apache"

    ensure_packages
    start_db
    setup_databases
    write_configs
    sync_mu_plugins
    install_sites
    for site in $(phps_sites); do start_site "$site"; done
    ensure_tls
    start_fpm
    start_apache
    # In parallel: a fresh server's first request compiles all of WordPress
    # (~0.7 s each here).
    local -A waiting=()
    for site in "${SITES[@]}"; do
        wait_site "$site" 9>&- &
        waiting[$site]=$!
    done
    for site in "${SITES[@]}"; do
        wait "${waiting[$site]}" || die "site $site did not come up"
    done
    write_lab_json
    t1=$(now_ms)

    for site in "${SITES[@]}"; do
        notes=$(php -r '$s = json_decode(file_get_contents($argv[1]), true); echo implode("; ", $s["notes"]) ?: "ok";' \
            "$STATE/sites/$site.json")
        printf 'lab: %-10s %-24s api %-45s %s\n' "$site" "$(site_url "$site")" "$(<"$RUN/api-root-$site")" "$notes"
    done
    say "https site: CA bundle $CA_BUNDLE; fpm site: 'lab.sh fpm-fix on|off' toggles CGIPassAuth (now $(fpm_fix_state))"
    say "users admin/author/contributor/subscriber on every site; passwords and app passwords in ${LAB_JSON#"$PWD"/}"
    say "up in $(((t1 - t0) / 1000)).$(printf '%03d' $(((t1 - t0) % 1000))) s"
}

cmd_down() {
    need_root
    local site
    lock
    for site in $(phps_sites); do
        stop_group "$RUN/php-$site.pid" "-S ${SITE_IP[$site]}:" "php -S $site" 10
    done
    stop_apache
    stop_fpm
    # MariaDB flushes InnoDB on SIGTERM; give it time before forcing.
    stop_group "$RUN/mariadbd.pid" mariadbd mariadbd 60
    rm -f "$RUN"/api-root-* "$RUN/port" "$RUN/ports-apache" "$LAB_JSON"
}

cmd_status() {
    local site ip code
    if pid_alive "$RUN/mariadbd.pid" mariadbd; then
        echo "mariadbd   running, pid $(<"$RUN/mariadbd.pid")"
    elif db_ping; then
        echo "mariadbd   running, not started by lab.sh"
    else
        echo "mariadbd   stopped"
    fi
    for site in $(phps_sites); do
        ip=${SITE_IP[$site]}
        if pid_alive "$RUN/php-$site.pid" "-S $ip:$PORT"; then
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$ip:$PORT/?rest_route=/") || true
            printf '%-10s running, pgid %s, http://%s:%s REST index %s\n' "$site" "$(<"$RUN/php-$site.pid")" "$ip" "$PORT" "$code"
        else
            printf '%-10s stopped\n' "$site"
        fi
    done
    if pid_alive "$FPM_PID" "$FPM_CONF"; then
        echo "php-fpm    running, pgid $(<"$FPM_PID"), socket $FPM_SOCK"
    else
        echo "php-fpm    stopped"
    fi
    if pid_alive "$APACHE_PID" "$APACHE_CONF"; then
        echo "apache2    running, pgid $(<"$APACHE_PID"), config $APACHE_CONF, fpm-fix $(fpm_fix_state)"
        for site in $(apache_sites); do
            code=$(site_curl "$site" -s -o /dev/null -w '%{http_code}' --max-time 5 "$(site_url "$site")/?rest_route=/") || true
            printf '%-10s %s, %s REST index %s\n' "$site" "$(site_server_label "$site")" "$(site_url "$site")" "$code"
        done
    else
        echo "apache2    stopped ($(apache_sites | tr '\n' ' '))"
    fi
    [[ -f $LAB_JSON ]] && echo "lab.json   $LAB_JSON" || echo "lab.json   absent"
}

cmd_reset() {
    need_root
    cmd_down
    lock
    mkdir -p "$RUN" "$LOGS"
    local site sql='' started=0
    if ! db_ping; then
        start_db
        started=1
    fi
    for site in "${SITES[@]}"; do
        sql+="DROP DATABASE IF EXISTS \`wprest_lab_$site\`; DROP USER IF EXISTS 'wprest_lab_$site'@'localhost';"
        rm -f "/etc/wordpress/config-${SITE_IP[$site]}.php"
        rm -rf "${WP_CONTENT:?}/uploads/$site"
    done
    db_sql <<<"$sql"
    ((started)) && stop_group "$RUN/mariadbd.pid" mariadbd mariadbd 60
    rm -f "$MU_DIR"/wprest-lab-*.php
    rm -rf "$STATE/sites" "$RUN" "$APACHE_DIR" "$FPM_DIR" "$TLS_DIR"
    say "lab databases, configs, uploads and state removed"
}

case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    reset) cmd_reset ;;
    fpm-fix) cmd_fpm_fix "${2:-}" ;;
    *) echo "usage: $0 up|down|status|reset|fpm-fix on|off" >&2; exit 2 ;;
esac
