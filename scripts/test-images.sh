#!/bin/sh
# Builds the small local images the end-to-end tests run jobs in (the test machines have no
# image registry). Idempotent: an image that exists is left alone.
#
#   circa-test/busybox:latest   busybox-static only: /bin/sh, no bash
#   circa-test/bash:latest      the same plus a static bash at /bin/bash
set -eu

need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null
        else
            echo "test-images: $1 is missing; install the Debian package $2" >&2
            exit 1
        fi
    fi
}

build() { # NAME WITH_BASH
    if docker image inspect "$1" >/dev/null 2>&1; then
        return 0
    fi
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/home/circleci" "$root/var/run"
    chmod 1777 "$root/tmp"
    cp "$(command -v busybox)" "$root/bin/busybox"
    for applet in $("$root/bin/busybox" --list); do
        [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
    done
    if [ "$2" = yes ]; then
        cp "$(command -v bash-static)" "$root/bin/bash"
    fi
    printf 'root:x:0:0:root:/root:/bin/sh\ncircleci:x:3434:3434:circleci:/home/circleci:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\ncircleci:x:3434:\n' >"$root/etc/group"
    chown 3434:3434 "$root/home/circleci"
    tar -C "$root" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/sh"]' - "$1" >/dev/null
    rm -rf "$root"
    trap - EXIT
    echo "test-images: built $1"
}

need busybox busybox-static
need bash-static bash-static
build circa-test/busybox:latest no
build circa-test/bash:latest yes
