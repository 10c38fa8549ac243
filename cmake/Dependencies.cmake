# Finds every third-party library vnawire links; all come from Debian 12 packages (scripts/install-deps).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(cppzmq REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(LibXml2 REQUIRED)
find_package(CURL 7.88 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(ICU REQUIRED COMPONENTS uc i18n)
pkg_check_modules(LMDB REQUIRED IMPORTED_TARGET lmdb)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
# sd_notify for the daemon under systemd (Type=notify, watchdog); a no-op elsewhere.
pkg_check_modules(LIBSYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
if(VNAWIRE_ALLOCATOR STREQUAL "jemalloc")
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
endif()
# libpqxx 6.4 has no CMake config in Debian 12: pkg-config only (it brings libpq's include path).
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)

# CLD2 ships neither CMake nor pkg-config files. vnawire links the default 83-language tables: on the lingua
# test sentences they beat the 160-language "full" tables for every VNA language measured (docs/langid.md).
find_path(CLD2_INCLUDE_DIR cld2/public/compact_lang_det.h REQUIRED)
find_library(CLD2_LIBRARY cld2 REQUIRED)
add_library(vnawire_cld2 INTERFACE)
target_include_directories(vnawire_cld2 SYSTEM INTERFACE ${CLD2_INCLUDE_DIR})
target_link_libraries(vnawire_cld2 INTERFACE ${CLD2_LIBRARY})
