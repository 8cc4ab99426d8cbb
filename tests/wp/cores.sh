# shellcheck shell=bash
# Sourced by tests/wp/lab.sh: WordPress cores other than the system's, taken
# from Debian's own packages of a newer suite (trixie ships 6.8, sid 7.1).
#
# The system's apt configuration is never changed: a private sources file,
# package lists and download cache live in the core cache, and apt-get is
# pointed at them with -o options. Nothing is installed with dpkg; the
# packages are unpacked with dpkg-deb -x into a staging tree, and the
# WordPress tree is copied out of it with every symlink replaced by the file
# it names (Debian's core links PHPMailer, getID3, lodash, jQuery UI ... from
# library packages that are not installed here).
#
# Cache (machine-wide, kept across runs and clones; WP_LAB_CACHE_DIR):
#   $CORE_CACHE/<version>/wordpress    the core, no symlinks left
#   $CORE_CACHE/<version>/themes       the default theme(s) of that release
#   $CORE_CACHE/<version>/package      the Debian version it came from
# Uses from lab.sh: LOGS say die.

CORE_CACHE=${WP_LAB_CACHE_DIR:-/var/cache/wprest-lab}/cores
# Which Debian suite ships which WordPress branch. A branch that left the
# suite is an error that names both, not a silent switch to another branch.
declare -A CORE_SUITE=([6.8]=trixie [7.1]=sid)

core_dir() { echo "$CORE_CACHE/$1/wordpress"; }
core_ready() { [[ -s $CORE_CACHE/$1/package && -f $CORE_CACHE/$1/wordpress/wp-includes/version.php ]]; }
# The exact release, as WordPress itself reports it ($wp_version).
core_release() {
    sed -n "s/^\$wp_version = '\([^']*\)';.*/\1/p" "$1/wp-includes/version.php"
}

# The mirror the system already uses (deb822 .sources, then sources.list),
# so that the private configuration reaches the same server.
system_mirror() {
    local kind=$1 uri
    uri=$(awk -v kind="$kind" '
            /^URIs:/ { uri = $2 }
            /^Suites:/ { sec = ($0 ~ /-security/); if (!found && (kind == "security") == sec && uri != "") { print uri; found = 1 } }' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null) || true
    if [[ -z $uri ]]; then
        uri=$(awk -v kind="$kind" '/^deb / { sec = ($0 ~ /-security/); if (!found && (kind == "security") == sec) { print $2; found = 1 } }' \
            /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null) || true
    fi
    if [[ -z $uri ]]; then
        [[ $kind == security ]] && uri=http://deb.debian.org/debian-security || uri=http://deb.debian.org/debian
    fi
    echo "$uri"
}

private_sources() {
    local suite=$1 main security keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    main=$(system_mirror main)
    security=$(system_mirror security)
    if [[ $suite == sid ]]; then
        printf 'Types: deb\nURIs: %s\nSuites: sid\nComponents: main\nSigned-By: %s\n' "$main" "$keyring"
    else
        printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: %s\n\n' \
            "$main" "$suite" "$suite" "$keyring"
        printf 'Types: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n' \
            "$security" "$suite" "$keyring"
    fi
}

# Fetch and unpack WordPress $1 (6.8, 7.1) into the cache unless it is there.
fetch_core() {
    local branch=$1 suite=${CORE_SUITE[$1]} apt_dir tmp pkg libs theme opts deps t0
    core_ready "$branch" && return 0
    t0=$(date +%s)
    mkdir -p "$CORE_CACHE"
    apt_dir=$CORE_CACHE/apt-$suite
    mkdir -p "$apt_dir/empty" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
    private_sources "$suite" >"$apt_dir/private.sources"
    opts=(-o "Dir::Etc::SourceList=$apt_dir/private.sources" -o "Dir::Etc::SourceParts=$apt_dir/empty"
        -o "Dir::Etc::PreferencesParts=$apt_dir/empty" -o "Dir::State::Lists=$apt_dir/lists"
        -o "Dir::Cache=$apt_dir/cache" -o Acquire::Languages=none -o APT::Sandbox::User=root)
    local log=$LOGS/fetch-$branch.log
    apt-get "${opts[@]}" update >"$log" 2>&1 || { tail -5 "$log" >&2; die "apt-get update for $suite failed (log: $log)"; }
    # The newest package of this branch (7.1.4+dfsg1-1 for 7.1).
    pkg=$(apt-cache "${opts[@]}" madison wordpress 2>>"$log" |
        awk -v b="$branch" -v s="$suite" '!found && $3 ~ "^" b "\\." && $0 ~ s { print $3; found = 1 }')
    [[ -n $pkg ]] || die "Debian $suite no longer ships WordPress $branch.x (apt-cache madison wordpress: $(apt-cache "${opts[@]}" madison wordpress 2>/dev/null | awk '{print $3}' | tr '\n' ' '))"
    # What the core symlinks into: the JavaScript and PHP library packages
    # among its Depends, and the default theme it recommends.
    deps=$(apt-cache "${opts[@]}" show "wordpress=$pkg" 2>>"$log" | sed -n 's/^\(Depends\|Recommends\): //p' | tr ',|' '\n\n' |
        sed 's/^ *//; s/ .*//' | sort -u)
    libs=$(grep -E '^(libjs-|libphp-|php-getid3$)' <<<"$deps" || true)
    theme=$(grep -E '^wordpress-theme-' <<<"$deps" || true)
    tmp=$(mktemp -d "$CORE_CACHE/.fetch-$branch.XXXXXX")
    # shellcheck disable=SC2086  # word lists on purpose
    (cd "$tmp" && apt-get "${opts[@]}" download "wordpress=$pkg" $libs $theme) >>"$log" 2>&1 ||
        { rm -rf "$tmp"; tail -5 "$log" >&2; die "apt-get download for WordPress $pkg failed (log: $log)"; }
    mkdir "$tmp/root"
    local deb
    for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/root" || die "dpkg-deb -x $deb failed"; done
    resolve_links "$tmp/root"
    mkdir "$tmp/out"
    cp -rL "$tmp/root/usr/share/wordpress" "$tmp/out/wordpress" 2>>"$log" ||
        { tail -5 "$log" >&2; die "copying WordPress $pkg out of its packages failed (a symlink with no target? log: $log)"; }
    # Default themes live in the core's wp-content; each site's own
    # wp-content links to them (as Debian's /var/lib/wordpress does).
    mv "$tmp/out/wordpress/wp-content/themes" "$tmp/out/themes"
    mkdir "$tmp/out/wordpress/wp-content/themes"
    echo "$pkg" >"$tmp/out/package"
    chmod -R a+rX,go-w "$tmp/out"
    rm -rf "${CORE_CACHE:?}/$branch"
    mv "$tmp/out" "$CORE_CACHE/$branch"
    rm -rf "$tmp"
    say "fetched WordPress $(core_release "$(core_dir "$branch")") (Debian $suite, package $pkg) in $(($(date +%s) - t0)) s"
}

# Point every absolute symlink of the staging tree $1 that names a file inside
# the staging tree at that file, so that `cp -L` copies the packaged file
# (Debian's wp-config.php and htaccess) rather than the system's. Links to
# files no package here ships (the CA bundle in /etc/ssl) keep their target.
resolve_links() {
    local root=$1 link target
    while IFS= read -r -d '' link; do
        target=$(readlink "$link")
        [[ $target == /* && -e $root$target ]] && ln -sfn "$root$target" "$link"
    done < <(find "$root" -type l -print0)
}

# Fetch every core that is missing, in parallel (mostly network time).
fetch_cores() {
    local b pids=() rc=0
    mkdir -p "$CORE_CACHE"
    # Another tree's lab.sh may be filling the same machine-wide cache.
    exec 8>"$CORE_CACHE/.lock"
    flock -w 600 8 || die "another lab.sh is still fetching cores (lock $CORE_CACHE/.lock)"
    for b in "$@"; do
        core_ready "$b" && continue
        fetch_core "$b" 8>&- 9>&- &
        pids+=($!)
    done
    for b in "${pids[@]}"; do wait "$b" || rc=1; done
    exec 8>&-
    ((rc == 0)) || die "fetching a WordPress core failed"
}
