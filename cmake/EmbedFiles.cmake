# Embeds files into a generated C++ source as byte arrays, so the binary carries its own samples.
# vnawire_embed_files(OUT <file.cc> NAMESPACE <ns> FUNCTION <fn> BASE <dir> FILES <f>...)
function(vnawire_embed_files)
  cmake_parse_arguments(E "" "OUT;NAMESPACE;FUNCTION;BASE" "FILES" ${ARGN})
  add_custom_command(
    OUTPUT ${E_OUT}
    COMMAND ${CMAKE_COMMAND} -DOUT=${E_OUT} -DNAMESPACE=${E_NAMESPACE} -DFUNCTION=${E_FUNCTION}
            -DBASE=${E_BASE} "-DFILES=${E_FILES}" -P ${PROJECT_SOURCE_DIR}/cmake/embed_files_script.cmake
    DEPENDS ${E_FILES} ${PROJECT_SOURCE_DIR}/cmake/embed_files_script.cmake
    COMMENT "Embedding ${E_FUNCTION}"
    VERBATIM)
endfunction()
