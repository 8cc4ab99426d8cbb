#!/usr/bin/env bash
# Checks a running lab with plain curl, independently of wp_rest.py:
#   bash tests/wp/smoke.sh [RELEASE...]     default: every release in lab.json
# Reads tests/wp/lab.json (written by `lab.sh up`). Exits non-zero if a
# check failed. Leaves no posts behind.
#
# The fpm checks toggle `lab.sh fpm-fix on` and back off (needs root; the
# fix is always turned off again on exit). Set SMOKE_NO_FPM_FIX=1 to skip the
# toggle when other tests use the fpm sites at the same time.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_JSON=$HERE/lab.json
[[ -f $LAB_JSON ]] || { echo "smoke: no $LAB_JSON; run lab.sh up" >&2; exit 1; }

# j 'sites.main.users.admin.app_password'  -> value from lab.json, in the
# entry of the release being checked (RELEASE): its "sites", "wp_content" ...
j() {
    php -r '$v = json_decode(file_get_contents($argv[1]), true)["versions"][$argv[3]];
            foreach (explode(".", $argv[2]) as $k) { $v = $v[$k]; }
            echo is_bool($v) ? json_encode($v) : $v;' "$LAB_JSON" "$1" "$RELEASE"
}

TMPROOT=$(mktemp -d)
TMP=$TMPROOT
trap 'rm -rf "$TMPROOT"' EXIT
fails=0
ok() { printf 'ok   %s\n' "$*"; }
bad() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }

# req NAME CURL-ARGS... : body in $TMP/NAME.body, headers in $TMP/NAME.h, status echoed
req() {
    local name=$1
    shift
    curl -s -o "$TMP/$name.body" -D "$TMP/$name.h" -w '%{http_code}' --max-time 20 "$@"
}
header() { tr -d '\r' <"$TMP/$1.h" | grep -i "^$2:" | head -n1 | cut -d' ' -f2-; }
is_json() { php -r 'exit(json_decode(file_get_contents($argv[1])) === null ? 1 : 0);' "$TMP/$1.body"; }

# Sites of the release being checked that lab.json lists.
has_site() {
    php -r 'exit(isset(json_decode(file_get_contents($argv[1]), true)["versions"][$argv[2]]["sites"][$argv[3]]) ? 0 : 1);' \
        "$LAB_JSON" "$RELEASE" "$1"
}
# The https sites' certificate comes from the lab CA.
CA=$(php -r 'echo json_decode(file_get_contents($argv[1]), true)["ca_bundle"] ?? "";' "$LAB_JSON")
LAB_SH=$HERE/lab.sh

# jwt_probe NAME URL [CURL-ARGS]: POST jwt-auth/v1/token/validate with a Basic
# header (`user:pwd`, never valid anywhere); echoes the error code. The JWT
# double answers jwt_auth_bad_auth_header when the header reached PHP and
# jwt_auth_no_auth_header when the server dropped it.
jwt_probe() {
    local name=$1 url=$2
    shift 2
    req "$name" "$@" -X POST -H 'Authorization: Basic dXNlcjpwd2Q=' "$url/wp-json/jwt-auth/v1/token/validate" >/dev/null
    php -r 'echo json_decode(file_get_contents($argv[1]), true)["code"] ?? "(no code)";' "$TMP/$name.body"
}

# Everything below checks one release; ok/bad lines carry it as [6.8] etc.
smoke_release() {
RELEASE=$1
TMP=$TMPROOT/$RELEASE
mkdir -p "$TMP"
ok() { printf 'ok   [%s] %s\n' "$RELEASE" "$*"; }
bad() { printf 'FAIL [%s] %s\n' "$RELEASE" "$*"; fails=$((fails + 1)); }
for site in main plain basicauth production apache fpm https; do
    if ! has_site "$site"; then
        printf 'skip %s: not in lab.json\n' "$site"
        continue
    fi
    api=$(j "sites.$site.api_root")
    tls=()
    [[ $api == https:* ]] && tls=(--cacert "$CA")
    # The index itself, by the root the Link header advertised.
    code=$(req "$site-index" "${tls[@]}" "$api")
    link=$(tr -d '\r' <"$TMP/$site-index.h" | grep -i '^link:' | grep -o '<[^>]*>; rel="https://api.w.org/"' | head -n1 || true)
    if [[ $code == 200 ]] && is_json "$site-index" && [[ $link == "<$api>; rel=\"https://api.w.org/\"" ]]; then
        ok "$site: REST index at $api is JSON with Link to itself"
    else
        bad "$site: REST index $api -> $code, link '$link'"
    fi
    site_hdr=$(header "$site-index" X-WPRest-Lab-Site)
    [[ $site_hdr == "$site" ]] && ok "$site: answered by lab site '$site_hdr'" || bad "$site: X-WPRest-Lab-Site '$site_hdr'"
done

# main: app passwords, write access, seed total.
url=$(j sites.main.url)
app=$(j sites.main.users.admin.app_password)
code=$(req me -u "admin:$app" "$url/wp-json/wp/v2/users/me")
[[ $code == 200 ]] && grep -q '"slug":"admin"' "$TMP/me.body" && ok "main: users/me with admin app password -> 200" || bad "main: users/me -> $code"

code=$(req create -u "admin:$app" -H 'Content-Type: application/json' \
    -d '{"title":"smoke test draft","status":"draft"}' "$url/wp-json/wp/v2/posts")
id=$(php -r '$b = json_decode(file_get_contents($argv[1]), true); echo $b["id"] ?? "";' "$TMP/create.body")
status=$(php -r '$b = json_decode(file_get_contents($argv[1]), true); echo $b["status"] ?? "";' "$TMP/create.body")
if [[ $code == 201 && $status == draft && -n $id ]]; then
    ok "main: POST /wp/v2/posts -> 201 draft id $id"
    code=$(req delete -u "admin:$app" -X DELETE "$url/wp-json/wp/v2/posts/$id?force=true")
    [[ $code == 200 ]] && ok "main: DELETE post $id?force=true -> 200" || bad "main: delete $id -> $code"
else
    bad "main: POST /wp/v2/posts -> $code status '$status'"
fi

code=$(req author-me -u "author:$(j sites.main.users.author.app_password)" "$url/wp-json/wp/v2/users/me")
[[ $code == 200 ]] && ok "main: users/me with author app password -> 200" || bad "main: author users/me -> $code"

code=$(req cats "$url/wp-json/wp/v2/categories?slug=$(j sites.main.seed_category_slug)")
cat_id=$(php -r '$b = json_decode(file_get_contents($argv[1]), true); echo $b[0]["id"] ?? "";' "$TMP/cats.body")
code=$(req seed "$url/wp-json/wp/v2/posts?categories=$cat_id&per_page=100")
total=$(header seed X-WP-Total)
pages=$(header seed X-WP-TotalPages)
[[ $code == 200 && $total == "$(j sites.main.seed_posts)" && $pages == 3 ]] &&
    ok "main: seed category $cat_id X-WP-Total $total, X-WP-TotalPages $pages" ||
    bad "main: seed category -> $code total '$total' pages '$pages'"

code=$(req bad-app -u "admin:aaaa bbbb cccc dddd eeee ffff" "$url/wp-json/wp/v2/users/me")
[[ $code == 401 ]] && ok "main: wrong app password -> 401" || bad "main: wrong app password -> $code"

# production: application passwords not offered over http, and ignored.
url=$(j sites.production.url)
grep -q '"authentication":\[\]' "$TMP/production-index.body" && ok 'production: index has "authentication":[]' ||
    bad "production: index authentication is not []"
grep -q '"application-passwords"' "$TMP/main-index.body" && ok 'main: index offers application-passwords' ||
    bad "main: index does not offer application-passwords"
code=$(req prod-me -u "admin:$(j sites.production.users.admin.app_password)" "$url/wp-json/wp/v2/users/me")
[[ $code == 401 ]] && ok "production: users/me with app password -> 401" || bad "production: users/me -> $code"

# plain: only ?rest_route= reaches the API.
url=$(j sites.plain.url)
code=$(req plain-posts "$url/?rest_route=/wp/v2/posts")
[[ $code == 200 ]] && is_json plain-posts && ok "plain: /?rest_route=/wp/v2/posts -> 200 JSON" || bad "plain: ?rest_route -> $code"
code=$(req plain-wpjson "$url/wp-json/wp/v2/posts")
if is_json plain-wpjson; then bad "plain: /wp-json/wp/v2/posts gave JSON ($code)"; else ok "plain: /wp-json/wp/v2/posts -> $code, not JSON"; fi
code=$(req plain-me -u "admin:$(j sites.plain.users.admin.app_password)" "$url/?rest_route=/wp/v2/users/me")
[[ $code == 200 ]] && ok "plain: users/me via ?rest_route with app password -> 200" || bad "plain: users/me -> $code"

# basicauth: the login password over Basic works (the lab's mu-plugin
# emulating "JSON Basic Authentication" 0.1); like the real plugin, it turns
# an application password into 500 incorrect_password: its wp_authenticate()
# error has no HTTP status, so the REST server answers 500.
url=$(j sites.basicauth.url)
if [[ -f $(j wp_content)/mu-plugins/wprest-lab-basic-auth.php ]]; then
    code=$(req ba-login -u "admin:$(j sites.basicauth.users.admin.password)" "$url/wp-json/wp/v2/users/me")
    [[ $code == 200 ]] && ok "basicauth: users/me with the login password -> 200" || bad "basicauth: login password -> $code"
    code=$(req ba-me -u "admin:$(j sites.basicauth.users.admin.app_password)" "$url/wp-json/wp/v2/users/me")
    [[ $code == 500 ]] && grep -q '"incorrect_password"' "$TMP/ba-me.body" &&
        ok "basicauth: app password -> 500 incorrect_password (as the real plugin)" || bad "basicauth: app password -> $code"
else
    code=$(req ba-me -u "admin:$(j sites.basicauth.users.admin.app_password)" "$url/wp-json/wp/v2/users/me")
    [[ $code == 200 ]] && ok "basicauth: no basic-auth mu-plugin installed; app password -> 200" || bad "basicauth: users/me -> $code"
fi

# ---- real web servers (apache.sh): what `doctor` must tell apart.

if has_site apache; then
    # apache: mod_php (plus WordPress's own rewrite line): the header arrives.
    url=$(j sites.apache.url)
    code=$(req ap-me -u "admin:$(j sites.apache.users.admin.app_password)" "$url/wp-json/wp/v2/users/me")
    [[ $code == 200 ]] && grep -q '"slug":"admin"' "$TMP/ap-me.body" &&
        ok "apache: users/me with admin app password -> 200" || bad "apache: users/me -> $code"
    got=$(jwt_probe ap-probe "$url")
    [[ $got == jwt_auth_bad_auth_header ]] && ok "apache: JWT probe -> $got (header reaches PHP)" ||
        bad "apache: JWT probe -> $got"
fi

if has_site fpm; then
    # fpm: PHP-FPM behind mod_proxy_fcgi without CGIPassAuth: correct app
    # password, yet 401 as if nothing had been sent, and the probe sees no header.
    url=$(j sites.fpm.url)
    fpm_app=$(j sites.fpm.users.admin.app_password)
    fpm_check() { # $1 = off|on
        local want_me=401 want_probe=jwt_auth_no_auth_header code got code_field
        [[ $1 == on ]] && want_me=200 want_probe=jwt_auth_bad_auth_header
        code=$(req "fpm-me-$1" -u "admin:$fpm_app" "$url/wp-json/wp/v2/users/me")
        code_field=$(php -r 'echo json_decode(file_get_contents($argv[1]), true)["code"] ?? "";' "$TMP/fpm-me-$1.body")
        if [[ $code == "$want_me" && ( $1 == on || $code_field == rest_not_logged_in ) ]]; then
            ok "fpm (fix $1): users/me with a correct app password -> $code ${code_field}"
        else
            bad "fpm (fix $1): users/me -> $code ${code_field}, expected $want_me"
        fi
        got=$(jwt_probe "fpm-probe-$1" "$url")
        [[ $got == "$want_probe" ]] && ok "fpm (fix $1): JWT probe -> $got" || bad "fpm (fix $1): JWT probe -> $got, expected $want_probe"
    }
    fpm_check off
    if [[ ${SMOKE_NO_FPM_FIX:-} == 1 ]]; then
        echo "skip fpm-fix toggle (SMOKE_NO_FPM_FIX=1)"
    elif [[ $(id -u) != 0 ]]; then
        echo "skip fpm-fix toggle (needs root)"
    else
        # Whatever happens below, leave the site in its default state.
        trap 'bash "$LAB_SH" fpm-fix off >/dev/null 2>&1 || true; rm -rf "$TMPROOT"' EXIT
        if bash "$LAB_SH" fpm-fix on >/dev/null; then
            ok "fpm: lab.sh fpm-fix on"
            fpm_check on
        else
            bad "fpm: lab.sh fpm-fix on failed"
        fi
        if bash "$LAB_SH" fpm-fix off >/dev/null; then
            ok "fpm: lab.sh fpm-fix off"
            fpm_check off
        else
            bad "fpm: lab.sh fpm-fix off failed"
        fi
    fi
fi

if has_site https; then
    # https: 'production', so application passwords exist only because the
    # request is https (is_ssl(): mod_ssl sets HTTPS=on).
    url=$(j sites.https.url)
    [[ $(j sites.https.environment) == production ]] && ok "https: environment production" ||
        bad "https: environment $(j sites.https.environment)"
    grep -q '"authentication":{"application-passwords":' "$TMP/https-index.body" &&
        ok 'https: index offers application-passwords' || bad "https: index does not offer application-passwords"
    code=$(req https-me --cacert "$CA" -u "admin:$(j sites.https.users.admin.app_password)" "$url/wp-json/wp/v2/users/me")
    [[ $code == 200 ]] && ok "https: users/me with admin app password -> 200" || bad "https: users/me -> $code"
    # Without the lab CA: a certificate error (curl exit 60), not a response.
    rc=0
    curl -s -o /dev/null --max-time 20 "$url/wp-json/" || rc=$?
    [[ $rc == 60 ]] && ok "https: without the lab CA curl fails with exit 60 (certificate)" ||
        bad "https: without the lab CA curl exit $rc, expected 60"
    # No JWT plugin there (no secret in its config).
    grep -q '"jwt-auth\\/v1"' "$TMP/https-index.body" && bad "https: jwt-auth/v1 present" ||
        ok "https: no jwt-auth/v1 namespace"
fi
}

releases=("$@")
if ((${#releases[@]} == 0)); then
    mapfile -t releases < <(php -r 'echo implode("\n", array_keys(json_decode(file_get_contents($argv[1]), true)["versions"])), "\n";' "$LAB_JSON")
fi
for release in "${releases[@]}"; do smoke_release "$release"; done

if ((fails)); then
    echo "smoke: $fails check(s) failed"
    exit 1
fi
echo "smoke: all checks passed"
