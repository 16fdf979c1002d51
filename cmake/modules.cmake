# One static library per module (docs/architecture.md, "Layering"): its sources, the modules its
# headers expose (PUBLIC) and the ones only its sources use (PRIVATE). Every module shares the
# precompiled header of lidere_core, so the PCH is built once.
function(lidere_add_module name)
  cmake_parse_arguments(M "" "" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  add_library(${name} STATIC ${M_SOURCES})
  target_link_libraries(${name} PUBLIC lidere_options ${M_PUBLIC} PRIVATE ${M_PRIVATE} lidere_warnings)
  if(NOT name STREQUAL "lidere_core")
    target_precompile_headers(${name} REUSE_FROM lidere_core)
  endif()
endfunction()
