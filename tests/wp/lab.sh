#!/usr/bin/env bash
# WordPress test lab: real WordPress sites of three releases side by side
# (6.1 from Debian 12's own package, 6.8 from Debian 13 "trixie", 7.1 from
# Debian "sid"), MariaDB, php -S, Apache with mod_php / PHP-FPM / TLS (see
# apache.sh) and two HTTP proxies (tinyproxy), all on loopback addresses, for
# the wp_rest.py integration tests. tests/wp/README.md lists the WordPress
# facts the lab relies on.
#
#   bash tests/wp/lab.sh up       install what is missing, start everything, write tests/wp/lab.json
#   bash tests/wp/lab.sh down     stop what `up` started (by recorded pid / process group)
#   bash tests/wp/lab.sh status   show what is running
#   bash tests/wp/lab.sh reset    down, then drop the lab databases, configs and state
#                                 (the next `up` is a fresh install with new app passwords)
#   bash tests/wp/lab.sh fpm-fix on|off
#                                 add/remove `CGIPassAuth On` for the 'fpm' sites (every
#                                 release) and reload Apache gracefully; returns once the
#                                 change is visible. `up` turns it off again (the default).
#   bash tests/wp/lab.sh stop-started FILE
#                                 stop only what the `up` that was given WP_LAB_STARTED=FILE
#                                 started (tests/run uses it to leave a running lab alone)
#
# Environment: WP_LAB_PORT (default 8765; every http site, each on its own
# address), WP_LAB_HTTPS_PORT (default: WP_LAB_PORT; the https sites),
# WP_LAB_PROXY_PORT (default WP_LAB_PORT+1: the open proxy; +1 the one that
# wants a password), WP_LAB_STATE_DIR (default /var/lib/wprest-lab/state),
# WP_LAB_CACHE_DIR (default /var/cache/wprest-lab: fetched cores, kept across
# runs), WP_LAB_VERSIONS (default "6.1 6.8 7.1": which releases to start).
# Needs root (apt, MariaDB, /etc/wordpress). One lab per machine: the config
# files in /etc/wordpress and the databases are machine-wide, and so is the
# state (pids, application passwords): `up` from a second clone of the
# project finds the running lab, leaves it as it is and writes that clone's
# lab.json.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PORT=${WP_LAB_PORT:-8765}
# The https sites have addresses of their own, so they can share the http
# port number; a separate variable in case a test wants the two to differ.
HTTPS_PORT=${WP_LAB_HTTPS_PORT:-$PORT}
PROXY_PORT=${WP_LAB_PROXY_PORT:-$((PORT + 1))}
STATE=${WP_LAB_STATE_DIR:-/var/lib/wprest-lab/state}
RUN=$STATE/run          # pids and the port of the running lab
LOGS=$STATE/logs
LAB_JSON=$HERE/lab.json
# Set by tests/run: every pid file of something this `up` started is listed
# there, so that the caller can stop exactly that and nothing else.
STARTED_LIST=${WP_LAB_STARTED:-}

DB_SOCK=/run/mysqld/mysqld.sock
# apache2 .. openssl: the Apache sites (apache.sh). Debian lets mod_php and
# php-fpm be installed together; neither is enabled in /etc/apache2 by us.
# tinyproxy: the proxies. The 6.8 and 7.1 cores run on this PHP (8.2) and
# need nothing more: their own libraries are copied in by cores.sh.
APT_PACKAGES=(wordpress php-cli php-mysql mariadb-server curl apache2 libapache2-mod-php php-fpm openssl tinyproxy)

# Read by the JWT mu-plugin (JWT_AUTH_SECRET_KEY) and by tests (lab.json).
# Fixed so tokens signed by a test stay valid across restarts.
JWT_SECRET='wprest-lab-jwt-secret-4b1d9c2e7f3a8b6d0e5c1f9a2d7b3e8c'

# shellcheck source=cores.sh
source "$HERE/cores.sh"

# ---------------------------------------------------------------- releases

# 6.1 is the system's package (core /usr/share/wordpress, content
# /var/lib/wordpress/wp-content); the others come from cores.sh and get a
# wp-content of their own (WP_CONTENT_DIR in their configs), so uploads,
# themes and mu-plugins of one release never show up in another.
read -r -a VERSIONS <<<"${WP_LAB_VERSIONS:-6.1 6.8 7.1}"
DEFAULT_VERSION=6.1
declare -A VERSION_NET=([6.1]=127.0.0 [6.8]=127.0.68 [7.1]=127.0.71)
declare -A VERSION_CORE=([6.1]=/usr/share/wordpress)
declare -A VERSION_CONTENT=([6.1]=/var/lib/wordpress/wp-content)
CONTENT_ROOT=/var/lib/wprest-lab
for v in "${VERSIONS[@]}"; do
    [[ -n ${VERSION_NET[$v]:-} ]] || { echo "lab: unknown WordPress release '$v' in WP_LAB_VERSIONS (known: 6.1 6.8 7.1)" >&2; exit 2; }
    [[ $v == "$DEFAULT_VERSION" ]] && continue
    VERSION_CORE[$v]=$(core_dir "$v")
    VERSION_CONTENT[$v]=$CONTENT_ROOT/$v/wp-content
done
[[ " ${VERSIONS[*]} " == *" $DEFAULT_VERSION "* ]] || { echo "lab: WP_LAB_VERSIONS must include $DEFAULT_VERSION" >&2; exit 2; }
OTHER_VERSIONS=()
for v in "${VERSIONS[@]}"; do [[ $v == "$DEFAULT_VERSION" ]] || OTHER_VERSIONS+=("$v"); done

# ---------------------------------------------------------------- sites

# The site variants, the same on every release. The Debian wp-config.php
# picks /etc/wordpress/config-<host>.php by the Host header without its port,
# so each loopback address is its own WordPress with its own database:
# 127.0.0.N for 6.1, 127.0.68.N for 6.8, 127.0.71.N for 7.1.
#
# apache, fpm, https: real web servers for telling 401 causes apart (doctor).
#   apache  Apache + mod_php: the Authorization header reaches PHP.
#   fpm     Apache + PHP-FPM (proxy_fcgi) without any fix: it does not.
#   https   Apache + mod_ssl + mod_php, 'production': application passwords
#           are available only because the request is https (is_ssl()).
# Octet 7 is left free on purpose (room for one more http variant).
VARIANTS=(main plain basicauth production apache fpm https)
declare -A VARIANT_OCTET=([main]=1 [plain]=2 [basicauth]=3 [production]=4 [apache]=5 [fpm]=6 [https]=8)
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
# main for the JWT tests; apache and fpm so that the token validate probe
# exists on a server that passes the header and on one that strips it.
# Not https.
declare -A SITE_JWT=([main]=1 [apache]=1 [fpm]=1)
# More than one worker everywhere: with a single php -S process any request
# WordPress makes to itself (site health, a plugin) would deadlock it.
declare -A SITE_WORKERS=([main]=4 [plain]=2 [basicauth]=2 [production]=2)

# Site ids: the variant name on 6.1 (as before there were several
# releases: pid files, databases and state keep their names), NAME@RELEASE
# on the others. Every table above is copied to the ids, so the rest of the
# script only deals with ids.
SITES=()
declare -A SITE_NAME=() SITE_VERSION=() SITE_IP=()
for v in "${VERSIONS[@]}"; do
    for name in "${VARIANTS[@]}"; do
        id=$name
        [[ $v == "$DEFAULT_VERSION" ]] || id=$name@$v
        SITES+=("$id")
        SITE_NAME[$id]=$name
        SITE_VERSION[$id]=$v
        SITE_IP[$id]=${VERSION_NET[$v]}.${VARIANT_OCTET[$name]}
        [[ $id == "$name" ]] && continue
        for table in SITE_ENV SITE_PERMALINK SITE_SEED SITE_SERVER SITE_PHP SITE_SCHEME SITE_JWT SITE_WORKERS; do
            declare -n ref=$table
            [[ -n ${ref[$name]:-} ]] && ref[$id]=${ref[$name]}
            unset -n ref
        done
    done
done
unset v name id table
# Database and its user: wprest_lab_main on 6.1, wprest_lab_main_71 on 7.1.
site_db() { local id=${1/@/_}; echo "wprest_lab_${id//./}"; }
site_core() { echo "${VERSION_CORE[${SITE_VERSION[$1]}]}"; }
site_content() { echo "${VERSION_CONTENT[${SITE_VERSION[$1]}]}"; }

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

# Note a pid file of something this `up` started (see STARTED_LIST).
started() {
    [[ -n $STARTED_LIST ]] && printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$STARTED_LIST"
    return 0
}

db_ping() { mariadb-admin --socket="$DB_SOCK" --connect-timeout=2 ping >/dev/null 2>&1; }
db_sql() { mariadb --socket="$DB_SOCK" -u root "$@"; }

# Run a command as www-data from / (root's cwd may be unreadable for it).
# exec keeps the pid: what we record is the real process.
as_www() { cd / && exec setpriv --reuid=www-data --regid=www-data --init-groups -- "$@"; }

need_root() { [[ $(id -u) == 0 ]] || die "must run as root (apt, MariaDB, /etc/wordpress)"; }

lock() {
    # Several test runs may call `up`/`down` at the same time from one tree.
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
    started "$RUN/mariadbd.pid" mariadbd mariadbd
    wait_db $!
}

setup_databases() {
    local site sql=''
    local db
    for site in "${SITES[@]}"; do
        db=$(site_db "$site")
        sql+="CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$db'@'localhost' IDENTIFIED BY 'lab-db-$site';
ALTER USER '$db'@'localhost' IDENTIFIED BY 'lab-db-$site';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$db'@'localhost';
"
    done
    db_sql <<<"$sql" || die "creating lab databases failed"
}

# ---------------------------------------------------------------- WordPress files

config_php() {
    local site=$1 url db version=${SITE_VERSION[$1]}
    url=$(site_url "$site")
    db=$(site_db "$site")
    cat <<EOF
<?php
// Written by tests/wp/lab.sh for the wp-rest test lab site '$site'.
// Rewritten on every \`lab.sh up\`; edit the script, not this file.
// WPREST_LAB_SITE is the variant (main, fpm ...), the same on every release.
define('WPREST_LAB_SITE', '${SITE_NAME[$site]}');
define('WPREST_LAB_VERSION', '$version');

define('DB_NAME', '$db');
define('DB_USER', '$db');
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
    if [[ $version != "$DEFAULT_VERSION" ]]; then
        # Debian's wp-config.php falls back to /var/lib/wordpress/wp-content,
        # the system's 6.1. (ABSPATH is right already: wp-load.php defines
        # it from its own directory before it loads the config.)
        echo "define('WP_CONTENT_DIR', '$(site_content "$site")');"
    fi
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

# The wp-content of a release other than the system's: its own directory
# tree, the default theme of that release copied in (a copy, not a link, so
# that php -S and Apache serve it from under WP_CONTENT_DIR), writable by the
# servers (www-data) for uploads.
prepare_content() {
    local v=$1 content=${VERSION_CONTENT[$1]} theme
    mkdir -p "$content"/{mu-plugins,plugins,themes,uploads}
    for theme in "$CORE_CACHE/$v/themes"/*/; do
        theme=$(basename "$theme")
        [[ -f $content/themes/$theme/style.css ]] && continue
        rm -rf "${content:?}/themes/$theme"
        cp -r "$CORE_CACHE/$v/themes/$theme" "$content/themes/$theme"
    done
    chown www-data:www-data "$content" "$content/uploads" "$content/plugins" "$content/themes"
}

# Copy tests/wp/mu-plugins/*.php into the mu-plugins directory of every
# release under a wprest-lab- prefix, and remove wprest-lab-* files that no
# longer have a source (renamed or deleted). Other files there are not ours.
sync_mu_plugins() {
    local src base out v dir
    declare -A want=()
    for src in "$HERE"/mu-plugins/*.php; do
        [[ -e $src ]] || continue
        # A syntax error would make every lab site answer 500; say which file.
        out=$(php -l "$src" 2>&1) || die "mu-plugin does not parse: $src
$out"
        base=$(basename "$src")
        [[ $base == wprest-lab-* ]] || base=wprest-lab-$base
        want[$base]=$src
    done
    for v in "${VERSIONS[@]}"; do
        dir=${VERSION_CONTENT[$v]}/mu-plugins
        mkdir -p "$dir"
        chown www-data:www-data "$dir"
        for base in "${!want[@]}"; do
            src=${want[$base]}
            if ! cmp -s "$src" "$dir/$base"; then
                install -m 0644 -o root -g root "$src" "$dir/.$base.tmp"
                mv -f "$dir/.$base.tmp" "$dir/$base"
            fi
        done
        for src in "$dir"/wprest-lab-*.php; do
            [[ -e $src ]] || continue
            base=$(basename "$src")
            [[ -n ${want[$base]:-} ]] || { rm -f "$src"; say "removed stale mu-plugin $base ($v)"; }
        done
    done
}

# Install (first time) or check/repair every site, in parallel: each has its
# own database. install.php prints the site's state (users, app passwords).
install_sites() {
    local site prev rc failed=0
    declare -A pids=()
    mkdir -p "$STATE/sites" "$STATE/opcache"
    chown www-data:www-data "$STATE/opcache"
    for site in "${SITES[@]}"; do
        prev=$STATE/sites/$site.json
        [[ -s $prev ]] || prev=/dev/null
        # OPcache's file cache keeps the compiled WordPress between runs: a
        # warm check of a site then costs about half as much CPU. CLI only;
        # the servers are left as they are.
        (as_www php -d display_errors=stderr -d memory_limit=512M -d opcache.enable_cli=1 \
            -d opcache.file_cache="$STATE/opcache" -d opcache.file_cache_only=1 "$HERE/install.php" \
            --site="${SITE_NAME[$site]}" --core="$(site_core "$site")" --host="${SITE_IP[$site]}:$(site_port "$site")" \
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
    # router.php finds wp-content through WPREST_LAB_CONTENT.
    (as_www env PHP_CLI_SERVER_WORKERS="${SITE_WORKERS[$site]}" WPREST_LAB_CONTENT="$(site_content "$site")" \
        setsid php -d display_errors=0 -d log_errors=1 -d memory_limit=256M \
        -d upload_max_filesize=64M -d post_max_size=64M \
        -S "$ip:$PORT" -t "$(site_core "$site")" "$HERE/router.php" </dev/null >>"$LOGS/php-$site.log" 2>&1 9>&-) &
    echo $! >"$pidf"
    started "$pidf" "-S $ip:" "php -S $site"
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
    local site=$1 url i code='' head='' link pid ctype log
    url=$(site_url "$site")
    if [[ ${SITE_SERVER[$site]} == apache ]]; then
        pid=$(<"$APACHE_PID")
        log=$LOGS/apache-error.log
    else
        pid=$(<"$RUN/php-$site.pid")
        log=$LOGS/php-$site.log
    fi
    for ((i = 0; i < 200; i++)); do
        head=$(site_curl "$site" -s -I --max-time 5 "$url/" | tr -d '\r') || true
        code=$(sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' <<<"$head")
        [[ $code == 200 ]] && break
        kill -0 "$pid" 2>/dev/null || { tail -20 "$log" >&2; die "the server of $site (pid $pid) exited (log: $log)"; }
        sleep 0.1
    done
    [[ $code == 200 ]] || die "$site did not answer 200 on $url/ (got ${code:-nothing}; log: $log)"
    link=$(grep -i '^link:' <<<"$head" | grep -o '<[^>]*>; rel="https://api.w.org/"' | sed -n '1s/^<\([^>]*\)>.*/\1/p') || true
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

# lab.json: the releases, each with its sites under their variant names;
# "sites" at the top is the default release's (6.1), as it was before there
# were several. A site entry also says its release ("version") and the exact
# WordPress it runs ("wordpress").
write_lab_json() {
    local args=() site ca v
    for site in "${SITES[@]}"; do
        ca=''
        [[ $(site_scheme "$site") == https ]] && ca=$CA_BUNDLE
        args+=("$site" "${SITE_NAME[$site]}" "${SITE_VERSION[$site]}" "$(site_url "$site")"
            "$(<"$RUN/api-root-$site")" "$(site_server_label "$site")" "$ca")
    done
    local releases=()
    for v in "${VERSIONS[@]}"; do
        releases+=("$v" "$(core_release "${VERSION_CORE[$v]}")" "$(version_package "$v")" "${VERSION_CORE[$v]}"
            "${VERSION_CONTENT[$v]}")
    done
    php -- "$PORT" "$HTTPS_PORT" "$CA_BUNDLE" "$STATE/sites" "$LAB_JSON" "$DEFAULT_VERSION" "$(proxies_json)" \
        "${#releases[@]}" "${releases[@]}" "${args[@]}" <<'PHP'
<?php
// Assemble lab.json from the per-site state written by install.php and the
// API roots read from the live servers. Written atomically: tests may be
// reading it.
[, $port, $https_port, $ca_bundle, $dir, $out, $default, $proxies, $n] = $argv;
$versions = [];
$i = 9;
for ($end = $i + (int) $n; $i < $end; $i += 5) {
    [$v, $release, $package, $core, $content] = array_slice($argv, $i, 5);
    $versions[$v] = ['wordpress' => $release, 'debian_package' => $package, 'core' => $core,
        'wp_content' => $content, 'sites' => []];
}
for (; $i < count($argv); $i += 7) {
    [$id, $name, $v, $url, $api, $server, $ca] = array_slice($argv, $i, 7);
    $s = json_decode(file_get_contents("$dir/$id.json"), true);
    $entry = ['url' => $url, 'api_root' => $api, 'server' => $server,
        'version' => $v, 'wordpress' => $versions[$v]['wordpress']];
    if ($ca !== '') $entry['ca_bundle'] = $ca;
    foreach (['jwt_secret', 'seed_category_slug', 'seed_posts'] as $k) {
        if (isset($s[$k])) $entry[$k] = $s[$k];
    }
    $entry['environment'] = $s['environment'];
    $entry['permalink_structure'] = $s['permalink_structure'];
    $entry['users'] = $s['users'];
    $versions[$v]['sites'][$name] = $entry;
}
// ca_bundle: the lab CA that signed the https sites' certificate (also in
// those sites' entries); give it to the client, e.g. curl --cacert.
$json = json_encode(['port' => (int) $port, 'https_port' => (int) $https_port, 'ca_bundle' => $ca_bundle,
    'default_version' => $default, 'sites' => $versions[$default]['sites'], 'versions' => $versions,
    'proxies' => json_decode($proxies, true)], JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES) . "\n";
file_put_contents("$out.tmp", $json);
rename("$out.tmp", $out);
PHP
}

# The Debian package a release's core came from.
version_package() {
    if [[ $1 == "$DEFAULT_VERSION" ]]; then
        dpkg-query -W -f='${Version}' wordpress
    else
        cat "$CORE_CACHE/$1/package"
    fi
}

# ---------------------------------------------------------------- Apache, PHP-FPM, TLS

# shellcheck source=apache.sh
source "$HERE/apache.sh"
# shellcheck source=proxy.sh
source "$HERE/proxy.sh"

# ---------------------------------------------------------------- commands

cmd_up() {
    need_root
    local t0 t1 site notes v fetching
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
    # The other releases' cores come over the network the first time (about
    # 10 s); meanwhile the database starts.
    fetch_cores "${OTHER_VERSIONS[@]}" 9>&- &
    fetching=$!
    start_db
    setup_databases
    wait "$fetching" || die "could not fetch the WordPress cores (logs: $LOGS/fetch-*.log)"
    for v in "${OTHER_VERSIONS[@]}"; do prepare_content "$v"; done
    write_configs
    sync_mu_plugins
    install_sites
    for site in $(phps_sites); do start_site "$site"; done
    ensure_tls
    start_fpm
    start_apache
    start_proxies
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
        printf 'lab: %-16s %-25s api %-46s %s\n' "$site" "$(site_url "$site")" "$(<"$RUN/api-root-$site")" "$notes"
    done
    for v in "${VERSIONS[@]}"; do
        say "WordPress $(core_release "${VERSION_CORE[$v]}") ($v): sites on ${VERSION_NET[$v]}.*, core ${VERSION_CORE[$v]}"
    done
    say "proxies: $(proxy_url open) (open), $(proxy_url auth) (user $PROXY_USER)"
    say "https sites: CA bundle $CA_BUNDLE; fpm sites: 'lab.sh fpm-fix on|off' toggles CGIPassAuth (now $(fpm_fix_state))"
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
    stop_proxies
    stop_apache
    stop_fpm
    # MariaDB flushes InnoDB on SIGTERM; give it time before forcing.
    stop_group "$RUN/mariadbd.pid" mariadbd mariadbd 60
    rm -f "$RUN"/api-root-* "$RUN/port" "$RUN/ports-apache" "$LAB_JSON"
}

# Stop what one `up` started (the lines it wrote to WP_LAB_STARTED), servers
# before the database, and nothing else. lab.json goes too if the database
# did: the lab is unusable without it.
cmd_stop_started() {
    local list=${1:-} lines=() i pidf expect label db=0
    [[ -n $list ]] || { echo "usage: lab.sh stop-started FILE" >&2; exit 2; }
    need_root
    [[ -s $list ]] || return 0
    lock
    mapfile -t lines <"$list"
    for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
        IFS=$'\t' read -r pidf expect label <<<"${lines[i]}"
        [[ $label == mariadbd ]] && { db=1; continue; }
        stop_group "$pidf" "$expect" "$label" 15
    done
    ((db)) && stop_group "$RUN/mariadbd.pid" mariadbd mariadbd 60
    ((db)) && rm -f "$RUN"/api-root-* "$RUN/port" "$RUN/ports-apache" "$LAB_JSON"
    rm -f "$list"
}

cmd_status() {
    local site ip code
    if pid_alive "$RUN/mariadbd.pid" mariadbd; then
        echo "mariadbd         running, pid $(<"$RUN/mariadbd.pid")"
    elif db_ping; then
        echo "mariadbd         running, not started by lab.sh"
    else
        echo "mariadbd         stopped"
    fi
    for site in $(phps_sites); do
        ip=${SITE_IP[$site]}
        if pid_alive "$RUN/php-$site.pid" "-S $ip:$PORT"; then
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$ip:$PORT/?rest_route=/") || true
            printf '%-16s running, pgid %s, http://%s:%s REST index %s\n' "$site" "$(<"$RUN/php-$site.pid")" "$ip" "$PORT" "$code"
        else
            printf '%-16s stopped\n' "$site"
        fi
    done
    if pid_alive "$FPM_PID" "$FPM_CONF"; then
        echo "php-fpm          running, pgid $(<"$FPM_PID"), socket $FPM_SOCK"
    else
        echo "php-fpm          stopped"
    fi
    if pid_alive "$APACHE_PID" "$APACHE_CONF"; then
        echo "apache2          running, pgid $(<"$APACHE_PID"), config $APACHE_CONF, fpm-fix $(fpm_fix_state)"
        for site in $(apache_sites); do
            code=$(site_curl "$site" -s -o /dev/null -w '%{http_code}' --max-time 5 "$(site_url "$site")/?rest_route=/") || true
            printf '%-16s %s, %s REST index %s\n' "$site" "$(site_server_label "$site")" "$(site_url "$site")" "$code"
        done
    else
        echo "apache2          stopped ($(apache_sites | tr '\n' ' '))"
    fi
    proxy_status
    [[ -f $LAB_JSON ]] && echo "lab.json         $LAB_JSON" || echo "lab.json         absent"
}

cmd_reset() {
    need_root
    cmd_down
    lock
    mkdir -p "$RUN" "$LOGS"
    local site sql='' started=0 db v
    if ! db_ping; then
        start_db
        started=1
    fi
    for site in "${SITES[@]}"; do
        db=$(site_db "$site")
        sql+="DROP DATABASE IF EXISTS \`$db\`; DROP USER IF EXISTS '$db'@'localhost';"
        rm -f "/etc/wordpress/config-${SITE_IP[$site]}.php"
        rm -rf "$(site_content "$site")/uploads/${SITE_NAME[$site]:?}"
    done
    db_sql <<<"$sql"
    ((started)) && stop_group "$RUN/mariadbd.pid" mariadbd mariadbd 60
    for v in "${VERSIONS[@]}"; do rm -f "${VERSION_CONTENT[$v]}"/mu-plugins/wprest-lab-*.php; done
    rm -rf "$STATE/sites" "$RUN" "$APACHE_DIR" "$FPM_DIR" "$TLS_DIR" "$PROXY_DIR"
    say "lab databases, configs, uploads and state removed (fetched cores stay in $CORE_CACHE)"
}

case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    reset) cmd_reset ;;
    fpm-fix) cmd_fpm_fix "${2:-}" ;;
    stop-started) cmd_stop_started "${2:-}" ;;
    *) echo "usage: $0 up|down|status|reset|fpm-fix on|off|stop-started FILE" >&2; exit 2 ;;
esac
