# What `cmake --install` lays out beyond the binary and the SDK (their own CMakeLists.txt install those), and the
# Debian package CPack builds from it (docs/packaging.md): `cmake --build build --target package`.
include(GNUInstallDirs)

# The server configuration. Debian keeps /etc out of /usr, as GNUInstallDirs does for the prefix /usr; the rule is
# applied at install time so that `cmake --install build --prefix DIR` (the SDK's users, the tests) writes
# DIR/etc/vnawire instead of the machine's /etc. file(INSTALL) adds $DESTDIR itself.
install(CODE "set(vnawire_default_config \"${PROJECT_SOURCE_DIR}/config/vnawire.yaml\")")
install(CODE [[
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(vnawire_config_dir /etc/vnawire)
  else()
    set(vnawire_config_dir "${CMAKE_INSTALL_PREFIX}/etc/vnawire")
  endif()
  file(INSTALL "${vnawire_default_config}" DESTINATION "${vnawire_config_dir}")
]])

# Site profiles: the extract stage looks for them at <bindir>/../share/vnawire/sites (stages/extract/CMakeLists.txt).
# The lexicons are compiled into the binary and need no data path.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/config/sites/ DESTINATION ${CMAKE_INSTALL_DATADIR}/vnawire/sites
        FILES_MATCHING PATTERN "*.yaml")

# systemd units, users and folders, whichever deploy/systemd/ has, in lib/ (systemd's folders are never multiarch).
# The source units run /usr/local/bin/vnawire, where the README's by-hand install puts it; installed ones run the
# binary (and read the configuration) where this install puts them, known only at install time: the package is
# staged with the prefix /usr, whatever the build was configured with.
file(GLOB vnawire_units CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/deploy/systemd/*.service)
install(CODE "set(vnawire_units \"${vnawire_units}\")
              set(vnawire_units_staging \"${PROJECT_BINARY_DIR}/deploy/systemd\")
              set(vnawire_bindir \"${CMAKE_INSTALL_BINDIR}\")
              set(vnawire_unitdir lib/systemd/system)")
install(CODE [[
  # One staging folder per destination: installs into other prefixes may run at the same time (the tests do).
  string(MD5 destination "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")
  foreach(unit IN LISTS vnawire_units)
    get_filename_component(name "${unit}" NAME)
    file(READ "${unit}" text)
    string(REPLACE "/usr/local/bin/vnawire" "${CMAKE_INSTALL_PREFIX}/${vnawire_bindir}/vnawire" text "${text}")
    string(REPLACE "/etc/vnawire/" "${vnawire_config_dir}/" text "${text}")
    file(WRITE "${vnawire_units_staging}/${destination}/${name}" "${text}")
    file(INSTALL "${vnawire_units_staging}/${destination}/${name}" DESTINATION "${CMAKE_INSTALL_PREFIX}/${vnawire_unitdir}")
  endforeach()
]])
# Globbed rather than tested for, so that a file added later makes the build configure again.
file(GLOB vnawire_system_files CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/deploy/systemd/vnawire.sysusers
     ${PROJECT_SOURCE_DIR}/deploy/systemd/vnawire.tmpfiles)
foreach(file IN LISTS vnawire_system_files)
  get_filename_component(kind ${file} EXT)
  string(SUBSTRING ${kind} 1 -1 kind)
  install(FILES ${file} DESTINATION lib/${kind}.d RENAME vnawire.conf)
endforeach()

# The example sinks stay runnable (store.py, store.sh).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples USE_SOURCE_PERMISSIONS)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)

# The .deb. Staged with DESTDIR and the prefix /usr, so that /etc lands at /etc (see above).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME vnawire)
set(CPACK_PACKAGE_VENDOR "vnawire")
set(CPACK_PACKAGE_CONTACT "vnawire maintainers <vnawire@vnawire.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "streaming pipeline daemon for Vietnam News Agency dispatches")
# One string: CPack indents each line of it for the control file.
string(CONCAT CPACK_PACKAGE_DESCRIPTION
       "vnawire tails VNA's sites and folders and turns each dispatch into a structured record (text, title,\n"
       "lead, dateline, dates, entities) through fetch, dedupe, langid, extract and sink stages, each its own\n"
       "process, under a supervisor. The package carries the daemon, its systemd units, a server\n"
       "configuration in /etc/vnawire and the SDK for custom sinks.")
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES OFF)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://vnawire.invalid/")
# dpkg-shlibdeps (dpkg-dev) reads the binary's libraries: libzmq5, libpqxx, liblmdb0, libcld2, libcurl, ICU...
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Read at run time, unseen by dpkg-shlibdeps: the extract stage repairs glued French words with the Hunspell
# dictionary (stages/extract/extract_lexicon.cc) and does without it, worse, when it is missing.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "hunspell-fr")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "hunspell-en-us, hunspell-es")
# A custom sink built on the SDK (a static library) needs these headers and libzmq to link.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "cppzmq-dev, libzmq3-dev, nlohmann-json3-dev, cmake, pkg-config")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
    ${PROJECT_SOURCE_DIR}/deploy/debian/prerm ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
