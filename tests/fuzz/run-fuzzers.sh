#!/bin/sh
# run-fuzzers.sh [SECONDS]: build every libFuzzer target with clang in its own build
# directory and fuzz each for SECONDS (default 20), starting from tests/fuzz/seeds/<target>/.
# Exits non-zero when a target crashes, leaks or fails an invariant; the input that did it
# is kept in <build>/fuzz-artifacts/.
#
# Needs: clang and its libFuzzer runtime (Debian 12: clang-14 and libclang-rt-14-dev),
# plus the project's own build dependencies. Environment:
#   MODVIRT_FUZZ_BUILD  build directory (default: <source>/build-fuzz)
#   MODVIRT_FUZZ_JOBS   parallel compile jobs (default: 2)
#   CC                  the clang to use (default: clang)
set -eu

seconds=${1:-20}
case $seconds in
    '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${MODVIRT_FUZZ_BUILD:-$src/build-fuzz}
jobs=${MODVIRT_FUZZ_JOBS:-2}
cc=${CC:-clang}

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "$0: '$cc' not found; install clang (and libclang-rt-14-dev for libFuzzer)" >&2
    exit 2
fi

cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER="$cc" -DMODVIRT_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

targets=
for f in "$here"/fuzz_*.c; do
    targets="$targets $(basename "$f" .c)"
done
# shellcheck disable=SC2086 # one word per target
cmake --build "$build" --target $targets -j "$jobs"

mkdir -p "$build/fuzz-artifacts"
failed=
for t in $targets; do
    # The working corpus grows as the fuzzer learns; the seeds in the tree stay as they are.
    corpus="$build/fuzz-corpus/$t"
    mkdir -p "$corpus"
    set -- -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t-"
    if [ -f "$here/$t.dict" ]; then
        set -- "$@" -dict="$here/$t.dict"
    fi
    echo "== $t: ${seconds}s"
    if [ -d "$here/seeds/$t" ]; then
        set -- "$@" "$corpus" "$here/seeds/$t"
    else
        set -- "$@" "$corpus"
    fi
    if "$build/fuzz/$t" "$@"; then
        echo "== $t: ok"
    else
        echo "== $t: FAILED (see $build/fuzz-artifacts/)" >&2
        failed="$failed $t"
    fi
done

if [ -n "$failed" ]; then
    echo "fuzzers that failed:$failed" >&2
    exit 1
fi
echo "all fuzzers ran ${seconds}s without a finding"
