# Builds data files written by the calibration tools into the library, so that the binary needs no file
# beside it: data/operating-points.json (tools/calibrate.sh; `verify --operating-point far1e-3`) and
# data/int8-ranges.json (tools/calibrate-int8.sh; `--precision int8`). Each becomes
# generated/<name>.json.inc, a raw string literal.
function(facematch_embed_data name)
  set(json ${CMAKE_SOURCE_DIR}/data/${name}.json)
  file(READ ${json} text)
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/${name}.json.inc.tmp "R\"json(${text})json\"")
  configure_file(${CMAKE_CURRENT_BINARY_DIR}/${name}.json.inc.tmp
    ${CMAKE_CURRENT_BINARY_DIR}/generated/${name}.json.inc COPYONLY)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${json})
endfunction()
facematch_embed_data(operating-points)
facematch_embed_data(int8-ranges)
