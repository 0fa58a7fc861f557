#!/bin/sh
# Like the public image: started without a config file, Redis listens on the container's network (the compose
# network is the boundary; no port is published), so protected mode, which would refuse other containers, is off.
set -eu
if [ "${1:-}" = redis-server ]; then
    case "${2:-}" in
        *.conf) ;;
        *) shift; set -- redis-server --protected-mode no "$@" ;;
    esac
fi
exec "$@"
