#!/usr/bin/env bash
# Builds the .deb from an already built tree (cpack only installs and packs: seconds), unpacks it into a throwaway
# root with dpkg-deb -x and checks what docs/packaging.md promises: the layout, the control fields, that the
# unpacked binary runs and finds its data there rather than in the source tree, and that a custom sink builds
# against the unpacked SDK through CMake and through pkg-config.
#   deb_package_test.sh BUILD_DIR VERSION [ALLOCATOR]
set -euo pipefail
build_dir="$1"
version="$2"
allocator="${3:-system}"  # VNAWIRE_ALLOCATOR: with jemalloc, the package must depend on it

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
expect_file() {
  [ -f "$root/$1" ] || fail "the package has no $1"
}
expect_in() {  # TEXT NEEDLE WHAT
  grep -qF -- "$2" <<<"$1" || fail "$3: '$2' not in: $1"
}

for tool in cpack dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (dpkg-dev, cmake)" >&2; exit 1; }
done
if ! cpack -G DEB --config "$build_dir/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1; then
  cat "$work/cpack.log" >&2
  echo "FAIL: cpack could not build the package (is the tree built? cmake --build build)" >&2
  exit 1
fi
deb=$(find "$work/out" -maxdepth 1 -name "vnawire_${version}_*.deb" | head -1)
[ -n "$deb" ] || { ls "$work/out" >&2; echo "FAIL: no vnawire_${version}_<arch>.deb" >&2; exit 1; }

# Control fields: dpkg-shlibdeps' libraries, the run-time dictionary, the configuration as a conffile.
depends=$(dpkg-deb -f "$deb" Depends)
expected=(libzmq5 liblmdb0 libcld2-0 libpqxx libyaml-cpp0.7 libcurl4 hunspell-fr)
[ "$allocator" = jemalloc ] && expected+=(libjemalloc2)
for package in "${expected[@]}"; do
  expect_in "$depends" "$package" "Depends"
done
[ "$(dpkg-deb -f "$deb" Package)" = vnawire ] || fail "the package is not named vnawire"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "the package's version is not $version"
dpkg-deb -e "$deb" "$work/control"
[ "$(cat "$work/control/conffiles")" = /etc/vnawire/vnawire.yaml ] || fail "conffiles: $(cat "$work/control/conffiles")"
for script in postinst prerm postrm; do
  [ -x "$work/control/$script" ] || fail "no executable $script"
  sh -n "$work/control/$script" || fail "$script is not valid sh"
done

# Layout: nothing outside /usr and /etc, nothing under /usr/local.
outside=$(dpkg-deb -c "$deb" | awk '{print $6}' | grep -v -e '^\./$' -e '^\./usr/' -e '^\./etc/' || true)
[ -z "$outside" ] || fail "files outside /usr and /etc: $outside"
if dpkg-deb -c "$deb" | grep -q '\./usr/local'; then fail "files under /usr/local"; fi
root="$work/root"
dpkg-deb -x "$deb" "$root"
# The SDK's library folder is lib/ or lib/<multiarch>/, as GNUInstallDirs chose for the configured prefix.
libdir=$(cd "$root" && dirname "$(find usr/lib -name libvnawire_sdk.a | head -1)")
for file in usr/bin/vnawire etc/vnawire/vnawire.yaml usr/lib/systemd/system/vnawire.service \
  usr/share/vnawire/sites/vietnamplus.yaml usr/include/vnawire/sdk.h "$libdir/libvnawire_sdk.a" \
  "$libdir/cmake/vnawire/vnawireConfig.cmake" "$libdir/cmake/vnawire/vnawireConfigVersion.cmake" \
  "$libdir/pkgconfig/vnawire-sdk.pc" usr/share/doc/vnawire/examples/sinks/cpp/store.cc \
  usr/share/doc/vnawire/README.md; do
  expect_file "$file"
done
[ -x "$root/usr/share/doc/vnawire/examples/sinks/python/store.py" ] || fail "the Python example is not executable"
# Every unit deploy/systemd/ has, naming the binary where the package puts it.
for unit in "$root"/usr/lib/systemd/system/*.service; do
  if grep -q /usr/local/bin "$unit"; then fail "$(basename "$unit") still runs /usr/local/bin/vnawire"; fi
done
grep -qE '^ExecStart=/usr/bin/vnawire .*/etc/vnawire/vnawire\.yaml' "$root/usr/lib/systemd/system/vnawire.service" ||
  fail "vnawire.service does not run /usr/bin/vnawire on /etc/vnawire/vnawire.yaml"
expect_in "$(cat "$root/etc/vnawire/vnawire.yaml")" "state_dir: /var/lib/vnawire" "the default configuration"

# The maintainer scripts, run on the unpacked root as `dpkg --root` runs them (DPKG_ROOT): they succeed without the
# root's systemd, leave the host alone, and create the vnawire user in the root when the package has a sysusers file.
host_users=$(md5sum /etc/passwd /etc/group)
for step in "postinst configure" "prerm remove" "postrm remove"; do
  # shellcheck disable=SC2086 # the script's name, then its argument
  DPKG_ROOT="$root" sh "$work/control/"$step >"$work/script.log" 2>&1 || fail "$step in DPKG_ROOT: $(cat "$work/script.log")"
done
[ "$(md5sum /etc/passwd /etc/group)" = "$host_users" ] || fail "a maintainer script changed the host's users"
if [ -f "$root/usr/lib/sysusers.d/vnawire.conf" ] && command -v systemd-sysusers >/dev/null; then
  grep -q '^vnawire:' "$root/etc/passwd" 2>/dev/null || fail "postinst made no vnawire user in the root"
fi

# The unpacked binary runs, and accepts the configuration it is shipped with.
vnawire="$root/usr/bin/vnawire"
version_text=$("$vnawire" --version)
[ "$(head -1 <<<"$version_text")" = "vnawire $version" ] || fail "--version: $version_text"
[ "$allocator" != jemalloc ] || expect_in "$version_text" "allocator: jemalloc" "--version"
check=$("$vnawire" check-config "$root/etc/vnawire/vnawire.yaml" 2>&1) || fail "check-config rejects the default: $check"
expect_in "$check" ": ok (" "check-config"

# Site profiles come from the unpacked share/vnawire/sites, not the source tree: the unpacked profile is changed
# to read the title from <title>, and the extract filter must follow it.
sed -i 's|^  title: .*|  title: //head/title|' "$root/usr/share/vnawire/sites/vietnamplus.yaml"
page='{"id":"t","url":"https://fr.vietnamplus.vn/x.vnp","content_type":"text/html","body":"<html><head><title>From the installed profile</title></head><body><h1>Built-in reading</h1><article><h1>Source-tree profile</h1><div class=\"content\"><p>Premier paragraphe de la dépêche, assez long pour faire un corps de texte.</p></div></article></body></html>"}'
extracted=$("$vnawire" extract <<<"$page" 2>"$work/extract.err") || fail "extract: $(cat "$work/extract.err")"
expect_in "$extracted" '"title":"From the installed profile"' "extract with the unpacked site profiles"

# The whole pipeline from the unpacked binary alone: the demo starts every stage as a child process of the same
# binary, fetches the embedded samples over HTTP on 127.0.0.1, and exits 0 once every one has reached the sink.
if ! timeout 120 "$vnawire" demo --state-dir "$work/demo" >"$work/demo.out" 2>"$work/demo.err"; then
  fail "the unpacked binary's demo failed: $(tail -20 "$work/demo.err")"
fi
expect_in "$(cat "$work/demo.out")" "records: $work/demo/demo.db" "the unpacked binary's demo"

# A custom sink built against the unpacked SDK: the C++ example with find_package(vnawire), then with pkg-config.
# Run alone, outside a pipeline, it says what it misses and exits 2: it links and starts.
sink_src="$root/usr/share/doc/vnawire/examples/sinks/cpp"
if ! { cmake -S "$sink_src" -B "$work/sink" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$root/usr" &&
  cmake --build "$work/sink"; } >"$work/sink.log" 2>&1; then
  cat "$work/sink.log" >&2
  fail "the example sink does not build with find_package against the unpacked SDK"
else
  set +e
  "$work/sink/store" "$work/alone" 2>"$work/store.err"
  status=$?
  set -e
  [ "$status" = 2 ] || fail "the CMake-built sink exited $status: $(cat "$work/store.err")"
  expect_in "$(cat "$work/store.err")" "VNAWIRE_STAGE is not set" "the CMake-built sink"
fi
flags=$(PKG_CONFIG_PATH="$root/$libdir/pkgconfig" pkg-config --cflags --libs vnawire-sdk) ||
  fail "pkg-config does not know vnawire-sdk"
expect_in "$flags" "-I$root/$libdir/pkgconfig/" "pkg-config --cflags"
# shellcheck disable=SC2086 # the flags are words
if g++ -std=c++20 -O0 "$sink_src/store.cc" $flags -o "$work/store-pc" 2>"$work/pc.log"; then
  set +e
  "$work/store-pc" "$work/alone" 2>/dev/null
  status=$?
  set -e
  [ "$status" = 2 ] || fail "the pkg-config-built sink exited $status"
else
  cat "$work/pc.log" >&2
  fail "the example sink does not build with pkg-config against the unpacked SDK"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "ok: $deb, $(dpkg-deb -c "$deb" | wc -l) entries"
