# shellcheck shell=bash
# Sourced by tests/wp/lab.sh: the lab's real web servers.
#
# One Apache 2.4 instance (prefork MPM, mod_php loaded) with its own config in
# the lab state dir, serving three WordPress sites per release on their own
# loopback addresses (127.0.0.N on 6.1, 127.0.68.N on 6.8, 127.0.71.N on 7.1),
# plus one PHP-FPM master with one pool for every release:
#
#   apache  http://127.0.0.5:PORT        mod_php; the rewrite line WordPress
#                                         writes into .htaccess since 5.6
#   fpm     http://127.0.0.6:PORT        PHP-FPM through mod_proxy_fcgi, no
#                                         CGIPassAuth/SetEnvIf/E=HTTP_AUTHORIZATION:
#                                         PHP never sees the Authorization header
#   https   https://127.0.0.8:HTTPS_PORT mod_ssl + mod_php, certificate from a
#                                         lab CA (ca_bundle in lab.json)
#
# `lab.sh fpm-fix on|off` writes/empties an included file holding
# `CGIPassAuth On` for the fpm vhosts and reloads Apache gracefully.
#
# Nothing here reads or changes /etc/apache2 (its enabled sites, modules,
# envvars) or the system php-fpm pool: Debian's packaged config would pull in
# whatever the machine has enabled, and a2enmod only edits /etc/apache2.
# Uses from lab.sh: STATE RUN LOGS SITES SITE_IP SITE_NAME SITE_SERVER SITE_PHP
# VERSIONS VERSION_CORE VERSION_CONTENT and say die need_root lock pid_alive
# stop_group started site_port site_url site_scheme site_core site_content.

APACHE_BIN=/usr/sbin/apache2
APACHE_MODULES=/usr/lib/apache2/modules
APACHE_DIR=$STATE/apache
APACHE_CONF=$APACHE_DIR/httpd.conf
# Written by Apache itself (PidFile) once its listeners are bound.
APACHE_PID=$RUN/apache.pid
# Included inside the fpm vhost's <Directory> blocks: the place where a
# site owner would put the fix in .htaccess. Empty (a comment) = no fix.
FPM_FIX_CONF=$APACHE_DIR/fpm-fix.conf
FPM_DIR=$STATE/fpm
FPM_CONF=$FPM_DIR/php-fpm.conf
FPM_SOCK=$FPM_DIR/php-fpm.sock
FPM_PID=$RUN/php-fpm.pid
TLS_DIR=$STATE/tls
CA_BUNDLE=$TLS_DIR/lab-ca.pem

# Apache and PHP-FPM get a clean environment: what the caller's shell has
# exported (proxies, WP_ENVIRONMENT_TYPE, ...) must not leak into getenv() of
# the sites. Debian's apache2 needs no APACHE_* variables when the config
# does not reference them (ours sets every path itself).
clean_env() { env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C "$@"; }
apache_ctl() { clean_env "$APACHE_BIN" -f "$APACHE_CONF" "$@"; }

php_version() { php -r 'echo PHP_MAJOR_VERSION, ".", PHP_MINOR_VERSION;'; }

apache_sites() {
    local s
    for s in "${SITES[@]}"; do [[ ${SITE_SERVER[$s]} == apache ]] && echo "$s"; done
    return 0
}

# Replace $2 with the text in $1 (a temp file) if it differs; true if it changed.
replace_if_changed() {
    local tmp=$1 file=$2
    if cmp -s "$tmp" "$file"; then
        rm -f "$tmp"
        return 1
    fi
    mv -f "$tmp" "$file"
    return 0
}

# ---------------------------------------------------------------- TLS

# A lab CA and a server certificate for the https site, made once and kept
# across down/up (tests may have pinned the CA file path; new keys on every up
# would only slow things down). Remade when missing, near expiry, or when the
# names the server certificate must carry change.
ensure_tls() {
    local site san want_san='' ip=''
    for site in $(apache_sites); do
        [[ $(site_scheme "$site") == https ]] || continue
        want_san+="IP:${SITE_IP[$site]}, "
        [[ -n $ip ]] || ip=${SITE_IP[$site]}
    done
    want_san+="DNS:localhost"
    mkdir -p "$TLS_DIR"
    chmod 755 "$TLS_DIR"

    if ! [[ -s $CA_BUNDLE && -s $TLS_DIR/lab-ca.key ]] ||
        ! openssl x509 -checkend $((30 * 86400)) -noout -in "$CA_BUNDLE" >/dev/null 2>&1; then
        # Own config instead of the system openssl.cnf: its [v3_ca] defaults
        # differ between distributions, and -addext would clash with them.
        # keyUsage and the key identifiers are what strict verifiers
        # (OpenSSL 3 with X509_STRICT, Python >= 3.13 defaults) insist on.
        cat >"$TLS_DIR/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
O = wp-rest test lab
CN = wp-rest test lab CA (lab only, trust nowhere else)
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
        openssl req -x509 -config "$TLS_DIR/ca.cnf" -newkey rsa:2048 -nodes -sha256 -days 3650 \
            -keyout "$TLS_DIR/lab-ca.key" -out "$CA_BUNDLE" >"$LOGS/tls.log" 2>&1 ||
            die "creating the lab CA failed (log: $LOGS/tls.log)"
        chmod 600 "$TLS_DIR/lab-ca.key"
        chmod 644 "$CA_BUNDLE"
        rm -f "$TLS_DIR/server.pem"     # signed by the old CA
        say "created lab CA $CA_BUNDLE"
    fi

    san=$(cat "$TLS_DIR/server.san" 2>/dev/null || true)
    if [[ $san != "$want_san" || ! -s $TLS_DIR/server.pem || ! -s $TLS_DIR/server.key ]] ||
        ! openssl x509 -checkend $((30 * 86400)) -noout -in "$TLS_DIR/server.pem" >/dev/null 2>&1 ||
        ! openssl verify -CAfile "$CA_BUNDLE" "$TLS_DIR/server.pem" >/dev/null 2>&1; then
        cat >"$TLS_DIR/server.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
O = wp-rest test lab
CN = $ip
[ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $want_san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
        {
            openssl req -new -config "$TLS_DIR/server.cnf" -newkey rsa:2048 -nodes \
                -keyout "$TLS_DIR/server.key" -out "$TLS_DIR/server.csr" &&
            # Random serial: no .srl file to keep, and a re-issued certificate
            # never repeats a serial of the same CA.
            openssl x509 -req -in "$TLS_DIR/server.csr" -CA "$CA_BUNDLE" -CAkey "$TLS_DIR/lab-ca.key" \
                -set_serial "0x$(openssl rand -hex 16)" -sha256 -days 825 \
                -extfile "$TLS_DIR/server.cnf" -extensions ext -out "$TLS_DIR/server.pem"
        } >>"$LOGS/tls.log" 2>&1 || die "creating the server certificate failed (log: $LOGS/tls.log)"
        # Read by Apache as root before it drops to www-data.
        chmod 600 "$TLS_DIR/server.key"
        rm -f "$TLS_DIR/server.csr"
        echo "$want_san" >"$TLS_DIR/server.san"
        say "issued server certificate for $want_san"
    fi
}

# ---------------------------------------------------------------- PHP-FPM

fpm_bin() { echo "/usr/sbin/php-fpm$(php_version)"; }

fpm_conf() {
    cat <<EOF
; Written by tests/wp/lab.sh (apache.sh) for the 'fpm' lab site; rewritten on
; every \`lab.sh up\`. Own pool and socket: the system pool in
; /etc/php/*/fpm/pool.d is not loaded (-y uses only this file).
[global]
error_log = $LOGS/php-fpm.log
daemonize = no

[wprest-lab]
user = www-data
group = www-data
listen = $FPM_SOCK
; Apache's children run as www-data and connect to the socket.
listen.owner = www-data
listen.group = www-data
listen.mode = 0660
; Several workers: a request WordPress makes to itself must not deadlock.
pm = dynamic
pm.max_children = 6
pm.start_servers = 2
pm.min_spare_servers = 1
pm.max_spare_servers = 3
; PHP errors go to the FPM log, never into a JSON body.
catch_workers_output = yes
decorate_workers_output = no
php_admin_flag[display_errors] = off
php_admin_flag[log_errors] = on
php_admin_value[memory_limit] = 256M
php_value[upload_max_filesize] = 64M
php_value[post_max_size] = 64M
EOF
}

start_fpm() {
    local tmp changed=0 i
    (( ${#FPM_SOCK} < 100 )) || die "PHP-FPM socket path too long for a unix socket: $FPM_SOCK (shorter WP_LAB_STATE_DIR?)"
    mkdir -p "$FPM_DIR"
    tmp=$(mktemp "$FPM_DIR/.conf.XXXXXX")
    fpm_conf >"$tmp"
    replace_if_changed "$tmp" "$FPM_CONF" && changed=1

    # The master renames itself "php-fpm: master process (<conf>)": the conf
    # path is in its command line either way.
    if pid_alive "$FPM_PID" "$FPM_CONF"; then
        if ((changed)); then
            clean_env "$(fpm_bin)" -t -y "$FPM_CONF" >>"$LOGS/php-fpm.log" 2>&1 ||
                die "php-fpm config test failed (log: $LOGS/php-fpm.log)"
            kill -USR2 "$(<"$FPM_PID")"     # graceful reload of the pool
            say "php-fpm config changed: reloaded"
            sleep 0.5
        fi
        return 0
    fi
    # Master gone but workers of its group left over: stop them first.
    stop_group "$FPM_PID" "$FPM_CONF" "leftover php-fpm" 10
    clean_env "$(fpm_bin)" -t -y "$FPM_CONF" >>"$LOGS/php-fpm.log" 2>&1 ||
        die "php-fpm config test failed (log: $LOGS/php-fpm.log)"
    rm -f "$FPM_SOCK"
    # -F: stay in the foreground, so $! is the master (exec keeps the pid)
    # and setsid gives it its own process group for `down`.
    (exec setsid env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C "$(fpm_bin)" -F -y "$FPM_CONF" \
        </dev/null >>"$LOGS/php-fpm.log" 2>&1 9>&-) &
    echo $! >"$FPM_PID"
    started "$FPM_PID" "$FPM_CONF" php-fpm
    for ((i = 0; i < 100; i++)); do
        [[ -S $FPM_SOCK ]] && return 0
        kill -0 "$(<"$FPM_PID")" 2>/dev/null || break
        sleep 0.1
    done
    tail -20 "$LOGS/php-fpm.log" >&2
    die "php-fpm did not create $FPM_SOCK (log: $LOGS/php-fpm.log)"
}

# ---------------------------------------------------------------- Apache config

# WordPress's pretty-permalink rules, in directory context as in .htaccess.
# $1=1 adds the line WordPress >= 5.6 writes itself (it copies the header into
# HTTP_AUTHORIZATION; REDIRECT_HTTP_AUTHORIZATION after the internal rewrite).
# That line is itself a fix for stripped headers, so the fpm site lacks it.
# Even under mod_php it matters: mod_php fills PHP_AUTH_USER/PW for Basic, but
# without this line $_SERVER has no HTTP_AUTHORIZATION, so Bearer tokens and
# the JWT validate probe see no header at all.
wp_rewrite_rules() {
    cat <<'EOF'
        RewriteEngine On
EOF
    [[ $1 == 1 ]] && cat <<'EOF'
        RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
EOF
    cat <<'EOF'
        RewriteBase /
        RewriteRule ^index\.php$ - [L]
        RewriteCond %{REQUEST_FILENAME} !-f
        RewriteCond %{REQUEST_FILENAME} !-d
        RewriteRule . /index.php [L]
EOF
}

apache_vhost() {
    local site=$1 ip=${SITE_IP[$1]} port handler fix_include='' rewrite_auth=1 tls='' core content
    port=$(site_port "$site")
    core=$(site_core "$site")
    content=$(site_content "$site")
    if [[ ${SITE_PHP[$site]} == fpm ]]; then
        handler="SetHandler \"proxy:unix:$FPM_SOCK|fcgi://wprest-lab-fpm\""
        fix_include="        # lab.sh fpm-fix on|off: \"CGIPassAuth On\" or nothing
        Include $FPM_FIX_CONF"
        rewrite_auth=0
    else
        handler='SetHandler application/x-httpd-php'
    fi
    if [[ $(site_scheme "$site") == https ]]; then
        tls="    SSLEngine on
    SSLCertificateFile $TLS_DIR/server.pem
    SSLCertificateKeyFile $TLS_DIR/server.key"
    fi
    # Empty lines (no TLS, no fix include) are dropped by apache_conf.
    cat <<EOF
# ---- lab site '$site' (${SITE_PHP[$site]})
<VirtualHost $ip:$port>
    ServerName $ip
$tls
    DocumentRoot $core
    # Debian layout: wp-content lives outside the document root.
    Alias /wp-content $content
    <FilesMatch "\.php\$">
        $handler
    </FilesMatch>
    # AllowOverride None everywhere: /usr/share/wordpress/.htaccess is a
    # root-owned symlink WordPress cannot write; the rules are here instead.
    <Directory $core>
$(wp_rewrite_rules "$rewrite_auth")
$fix_include
    </Directory>
$([[ -n $fix_include ]] && printf '    <Directory %s>\n%s\n    </Directory>' "$content" "$fix_include")
    CustomLog $LOGS/apache-access.log lab
</VirtualHost>
EOF
}

apache_conf() {
    local site listen='' ip port
    for site in $(apache_sites); do
        ip=${SITE_IP[$site]}
        port=$(site_port "$site")
        # "Listen ip:port https" is what tells Apache a non-443 port speaks TLS.
        if [[ $(site_scheme "$site") == https ]]; then
            listen+="Listen $ip:$port https"$'\n'
        else
            listen+="Listen $ip:$port"$'\n'
        fi
    done
    cat <<EOF
# Written by tests/wp/lab.sh (apache.sh); rewritten on every \`lab.sh up\`.
# A complete config of its own: nothing from /etc/apache2 is included.
ServerRoot $APACHE_DIR
DefaultRuntimeDir $APACHE_DIR/run
Mutex file:$APACHE_DIR/run default
PidFile $APACHE_PID
ErrorLog $LOGS/apache-error.log
LogLevel warn
ServerName wprest-lab.invalid
User www-data
Group www-data

# mod_php needs a non-threaded MPM. Both PHP flavours run in this one
# instance: mod_php only handles files whose handler says so (the apache and
# https vhosts); the fpm vhost hands .php to PHP-FPM.
LoadModule mpm_prefork_module $APACHE_MODULES/mod_mpm_prefork.so
LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so
LoadModule dir_module $APACHE_MODULES/mod_dir.so
LoadModule mime_module $APACHE_MODULES/mod_mime.so
LoadModule alias_module $APACHE_MODULES/mod_alias.so
LoadModule rewrite_module $APACHE_MODULES/mod_rewrite.so
LoadModule proxy_module $APACHE_MODULES/mod_proxy.so
LoadModule proxy_fcgi_module $APACHE_MODULES/mod_proxy_fcgi.so
LoadModule socache_shmcb_module $APACHE_MODULES/mod_socache_shmcb.so
LoadModule ssl_module $APACHE_MODULES/mod_ssl.so
LoadModule php_module $APACHE_MODULES/libphp$(php_version).so

StartServers 2
MinSpareServers 2
MaxSpareServers 6
MaxRequestWorkers 24
KeepAlive On
KeepAliveTimeout 5
Timeout 60
HostnameLookups Off
TypesConfig /etc/mime.types
DirectoryIndex index.php index.html
SSLSessionCache shmcb:$APACHE_DIR/run/ssl_scache(512000)
LogFormat "%v:%p %h %t \"%r\" %>s %O %D" lab

# Same PHP settings as the php -S sites; errors to the log, not the body.
php_admin_flag display_errors off
php_admin_flag log_errors on
php_admin_value memory_limit 256M
php_value upload_max_filesize 64M
php_value post_max_size 64M

<Directory />
    AllowOverride None
    Require all denied
</Directory>
$(# Each release's core and its wp-content (printf repeats the format per argument).
for v in "${VERSIONS[@]}"; do printf '<Directory %s>\n    Options FollowSymLinks\n    AllowOverride None\n    Require all granted\n</Directory>\n' "${VERSION_CORE[$v]}" "${VERSION_CONTENT[$v]}"; done)
# The 6.1 themes are links into the system core's wp-content.
<Directory /usr/share/wordpress/wp-content>
    Options FollowSymLinks
    AllowOverride None
    Require all granted
</Directory>
<FilesMatch "^\.ht">
    Require all denied
</FilesMatch>

$listen
$(for site in $(apache_sites); do echo; apache_vhost "$site" | sed '/^$/d'; done)
EOF
}

# ---------------------------------------------------------------- Apache process

fpm_fix_text() {
    if [[ $1 == on ]]; then
        printf '# Written by lab.sh fpm-fix on: let Apache pass Authorization to PHP-FPM.\nCGIPassAuth On\n'
    else
        printf '# lab.sh fpm-fix off (the default): no fix, PHP-FPM gets no Authorization header.\n'
    fi
}
fpm_fix_state() { grep -q '^CGIPassAuth On' "$FPM_FIX_CONF" 2>/dev/null && echo on || echo off; }

# Write the fix file; true if it changed.
write_fpm_fix() {
    local tmp
    mkdir -p "$APACHE_DIR"
    tmp=$(mktemp "$APACHE_DIR/.fix.XXXXXX")
    fpm_fix_text "$1" >"$tmp"
    chmod 644 "$tmp"
    replace_if_changed "$tmp" "$FPM_FIX_CONF"
}

apache_configtest() {
    local out
    out=$(apache_ctl -t 2>&1) || die "Apache config test failed for $APACHE_CONF:
$out"
}

# Graceful: running requests finish, new connections get the new config.
apache_graceful() {
    apache_configtest
    apache_ctl -k graceful 9>&- >>"$LOGS/apache-error.log" 2>&1 || die "apache2 -k graceful failed (log: $LOGS/apache-error.log)"
}

start_apache() {
    local tmp changed=0 site ip port rc i was_fix
    mkdir -p "$APACHE_DIR/run"
    tmp=$(mktemp "$APACHE_DIR/.conf.XXXXXX")
    apache_conf >"$tmp"
    replace_if_changed "$tmp" "$APACHE_CONF" && changed=1

    if pid_alive "$APACHE_PID" "$APACHE_CONF"; then
        # Warm up. Like install.php puts changed users back, `up` puts the
        # fpm site back into its default, broken state if a test left the fix
        # on; otherwise nothing is reloaded and running tests are undisturbed.
        was_fix=$(fpm_fix_state)
        write_fpm_fix off && changed=1
        [[ $was_fix == on ]] && say "fpm-fix was on (left by a test?): turned off"
        if ((changed)); then
            apache_graceful
            say "Apache config changed: reloaded gracefully"
            [[ $was_fix == on ]] && wait_fpm_fix off
        fi
        return 0
    fi

    stop_group "$APACHE_PID" "$APACHE_CONF" "leftover apache2" 10
    write_fpm_fix off || true
    # Refuse to start next to something we did not start (curl 7 = refused).
    for site in $(apache_sites); do
        ip=${SITE_IP[$site]}
        port=$(site_port "$site")
        rc=0
        curl -s -o /dev/null --max-time 2 "http://$ip:$port/" || rc=$?
        ((rc == 7)) || die "$ip:$port is already in use by something lab.sh did not start (set WP_LAB_PORT / WP_LAB_HTTPS_PORT?)"
    done
    apache_configtest
    # -k start daemonizes (own session, so its pid is its process group, as
    # `down` expects) and writes the PidFile once the listeners are bound.
    rm -f "$APACHE_PID"
    apache_ctl -k start </dev/null >>"$LOGS/apache-error.log" 2>&1 9>&- ||
        die "apache2 -k start failed (log: $LOGS/apache-error.log)"
    for ((i = 0; i < 100; i++)); do
        pid_alive "$APACHE_PID" "$APACHE_CONF" && { started "$APACHE_PID" "$APACHE_CONF" apache2; return 0; }
        sleep 0.1
    done
    tail -20 "$LOGS/apache-error.log" >&2
    die "Apache did not start (log: $LOGS/apache-error.log)"
}

stop_apache() {
    # SIGTERM to the group: the parent stops its children and removes the PidFile.
    stop_group "$APACHE_PID" "$APACHE_CONF" "apache2" 15
}

stop_fpm() {
    stop_group "$FPM_PID" "$FPM_CONF" "php-fpm" 15
    rm -f "$FPM_SOCK"
}

# ---------------------------------------------------------------- fpm-fix

# Wait until every fpm site behaves as the fix state says, seen from
# outside: users/me with the admin application password is 200 with the fix,
# 401 without. Several answers in a row, because a keep-alive or not yet
# retired child of the old generation may serve a request or two after a
# graceful reload.
wait_fpm_fix() {
    local want=$1 expect code url app i streak site
    [[ $want == on ]] && expect=200 || expect=401
    for site in $(apache_sites); do
        [[ ${SITE_NAME[$site]} == fpm ]] || continue
        url=$(site_url "$site")
        app=$(php -r '$s = json_decode(file_get_contents($argv[1]), true); echo $s["users"]["admin"]["app_password"];' \
            "$STATE/sites/$site.json")
        streak=0
        for ((i = 0; i < 150; i++)); do
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -u "admin:$app" "$url/wp-json/wp/v2/users/me") || true
            if [[ $code == "$expect" ]]; then
                ((++streak >= 3)) && break
            else
                streak=0
            fi
            sleep 0.1
        done
        ((streak >= 3)) || die "fpm-fix $want: users/me on $url still answers $code, expected $expect"
    done
}

cmd_fpm_fix() {
    local want=${1:-}
    [[ $want == on || $want == off ]] || { echo "usage: lab.sh fpm-fix on|off" >&2; exit 2; }
    need_root
    lock
    pid_alive "$APACHE_PID" "$APACHE_CONF" || die "the lab's Apache is not running; run 'lab.sh up' first"
    if write_fpm_fix "$want"; then
        apache_graceful
    fi
    wait_fpm_fix "$want"
    say "fpm-fix $want (CGIPassAuth $([[ $want == on ]] && echo On || echo absent) on every fpm site)"
}
