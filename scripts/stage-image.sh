#!/bin/sh
# Stages the build context of Circa's container image (deploy/image/Dockerfile, FROM scratch):
# the circa binary and every shared library `ldd` names for it, at the paths the loader looks
# in; git with its HTTPS helper, ssh and a POSIX sh (the server runs `git` for its mirrors, and
# git runs GIT_SSH_COMMAND through sh), with their libraries; the CA bundle; /etc/passwd and
# /etc/group with the unprivileged user circa (10001); /tmp (1777) and an empty data folder.
#
#   scripts/stage-image.sh BINARY CONTEXT      then: docker build -t circa CONTEXT
#
# CONTEXT is made anew. CIRCA_IMAGE_GIT=no leaves git, ssh and sh out (a server then mirrors
# nothing: every project's repository must be reachable some other way).
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 BINARY CONTEXT" >&2
    exit 2
fi
binary=$1
context=$2
here=$(cd "$(dirname "$0")/.." && pwd)
root=$context/root

rm -rf "$context"
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp" "$context/data"
chmod 1777 "$root/tmp"
cp "$here/deploy/image/Dockerfile" "$context/Dockerfile"

# libs FILE: the absolute paths of the libraries and loader FILE needs (none when static).
libs() {
    ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' || true
}

# put SRC DEST: copies SRC (links followed) to DEST under the root, with its libraries at their
# own paths.
put() {
    mkdir -p "$root$(dirname "$2")"
    cp -L "$1" "$root$2"
    for lib in $(libs "$1"); do
        if [ ! -e "$root$lib" ]; then
            mkdir -p "$root$(dirname "$lib")"
            cp -L "$lib" "$root$lib"
        fi
    done
}

put "$binary" /usr/local/bin/circa

if [ "${CIRCA_IMAGE_GIT:-yes}" != no ]; then
    git=$(command -v git)
    exec_path=$(git --exec-path)
    put "$git" /usr/bin/git
    # git finds its helpers in the exec path compiled into it; the built-in ones it runs by
    # their dashed names are links to git itself.
    for helper in git-remote-http git-remote-https; do
        put "$exec_path/$helper" "$exec_path/$helper"
    done
    for builtin in git-upload-pack git-receive-pack git-upload-archive; do
        mkdir -p "$root$exec_path"
        ln -sf /usr/bin/git "$root$exec_path/$builtin"
    done
    # An empty template folder where git looks for one (a new mirror copies nothing from it).
    mkdir -p "$root$(dirname "$(dirname "$exec_path")")/share/git-core/templates"
    if [ "$git" != /usr/bin/git ]; then
        mkdir -p "$root$(dirname "$git")"
        ln -sf /usr/bin/git "$root$git"
    fi
    put "$(command -v ssh)" /usr/bin/ssh
    put "$(command -v dash || command -v sh)" /bin/sh
fi

cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\ncirca:x:10001:10001:circa:/data:/sbin/nologin\n' \
    >"$root/etc/passwd"
printf 'root:x:0:\ncirca:x:10001:\n' >"$root/etc/group"
echo "staged $(du -sh "$root" | cut -f1) in $context"
