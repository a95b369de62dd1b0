# FwRepo.cmake — CMake integration of the fwrepo build plugin.
#
#   include(FwRepo)            # with this directory on CMAKE_MODULE_PATH, or
#   find_package(FwRepo CONFIG) # with FwRepo_DIR / CMAKE_PREFIX_PATH pointing here
#
#   fwrepo_publish(TARGET <tgt> TYPE <n> [NAME <s>] [TAGS <t>...] [FORMAT bin|hex|elf]
#                  [DEVICE_TYPES <id>...] [VERSION <semver>] [DESCRIPTION <s>]
#                  [ALLOW_REPUBLISH] [ALLOW_FAILURE] [CREATE_TYPE])
#     Adds a POST_BUILD step to <tgt>: the toolchain's objcopy (CMAKE_OBJCOPY, e.g.
#     arm-none-eabi-objcopy) converts the ELF to FORMAT, then `fwrepo publish` uploads it with
#     the project's version (PROJECT_VERSION). Without a configured server (FWREPO_URL unset
#     and no fwrepo.toml) the step prints one line and succeeds, so local builds never break.
#
#   fwrepo_stamp_header(TARGET <tgt> [OUTPUT <file.h>] [VERSION <semver>])
#     Generates a header of FWREPO_* #defines (version, commit, dirty, FWREPO_STAMP) before
#     every build of <tgt> and puts its directory on <tgt>'s include path. The file is only
#     rewritten when a fact changed, so builds stay incremental.
#
# Set FWREPO_EXECUTABLE to choose the fwrepo binary; otherwise it is searched on PATH.

include_guard(GLOBAL)
cmake_minimum_required(VERSION 3.15)

if(NOT FWREPO_EXECUTABLE)
  find_program(FWREPO_EXECUTABLE NAMES fwrepo HINTS ENV FWREPO_HOME PATH_SUFFIXES bin)
endif()

function(_fwrepo_version out_var explicit)
  if(explicit)
    set(${out_var} "${explicit}" PARENT_SCOPE)
  elseif(PROJECT_VERSION)
    set(${out_var} "${PROJECT_VERSION}" PARENT_SCOPE)
  else()
    message(FATAL_ERROR "fwrepo: no version: give project(... VERSION x.y.z) or VERSION to the fwrepo_* call")
  endif()
endfunction()

function(fwrepo_stamp_header)
  cmake_parse_arguments(FW "" "TARGET;OUTPUT;VERSION" "" ${ARGN})
  if(NOT FW_TARGET)
    message(FATAL_ERROR "fwrepo_stamp_header: TARGET is required")
  endif()
  if(NOT FW_OUTPUT)
    set(FW_OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/fwrepo/${FW_TARGET}/fwrepo_stamp.h")
  endif()
  _fwrepo_version(version "${FW_VERSION}")
  get_filename_component(dir "${FW_OUTPUT}" DIRECTORY)
  file(MAKE_DIRECTORY "${dir}")
  if(FWREPO_EXECUTABLE)
    set(cmd "${FWREPO_EXECUTABLE}" stamp --quiet --format c-header --version "${version}"
            --version-source "CMake PROJECT_VERSION" --source-dir "${CMAKE_CURRENT_SOURCE_DIR}"
            --output "${FW_OUTPUT}")
    # Once now so the header exists for the first compile, then before every build.
    execute_process(COMMAND ${cmd} RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "fwrepo stamp failed (${rc})")
    endif()
    add_custom_target(${FW_TARGET}_fwrepo_stamp
      COMMAND ${cmd}
      BYPRODUCTS "${FW_OUTPUT}"
      COMMENT "fwrepo: stamping ${FW_TARGET}"
      VERBATIM)
    add_dependencies(${FW_TARGET} ${FW_TARGET}_fwrepo_stamp)
  elseif(NOT EXISTS "${FW_OUTPUT}")
    message(STATUS "fwrepo: fwrepo not found; ${FW_TARGET} gets an unstamped header")
    file(WRITE "${FW_OUTPUT}"
      "#pragma once\n#define FWREPO_VERSION \"${version}\"\n#define FWREPO_SEMVER \"${version}\"\n"
      "#define FWREPO_GIT_SHA \"\"\n#define FWREPO_GIT_SHORT \"\"\n#define FWREPO_GIT_DIRTY \"0\"\n"
      "#define FWREPO_GIT_BRANCH \"\"\n#define FWREPO_GIT_DESCRIBE \"\"\n#define FWREPO_STAMP \"unstamped\"\n")
  endif()
  target_include_directories(${FW_TARGET} PRIVATE "${dir}")
endfunction()

function(fwrepo_publish)
  cmake_parse_arguments(FW "ALLOW_REPUBLISH;ALLOW_FAILURE;CREATE_TYPE"
                           "TARGET;TYPE;NAME;FORMAT;VERSION;DESCRIPTION" "TAGS;DEVICE_TYPES" ${ARGN})
  if(NOT FW_TARGET OR NOT FW_TYPE)
    message(FATAL_ERROR "fwrepo_publish: TARGET and TYPE are required")
  endif()
  if(NOT TARGET ${FW_TARGET})
    message(FATAL_ERROR "fwrepo_publish: ${FW_TARGET} is not a target")
  endif()
  if(NOT FW_NAME)
    set(FW_NAME "${FW_TARGET}")
  endif()
  if(NOT FW_FORMAT)
    set(FW_FORMAT bin)
  endif()
  _fwrepo_version(version "${FW_VERSION}")
  if(NOT FWREPO_EXECUTABLE)
    message(STATUS "fwrepo: fwrepo executable not found (set FWREPO_EXECUTABLE); ${FW_TARGET} will not be published")
    return()
  endif()

  set(elf "$<TARGET_FILE:${FW_TARGET}>")
  set(base "$<TARGET_FILE_DIR:${FW_TARGET}>/$<TARGET_FILE_BASE_NAME:${FW_TARGET}>")
  set(convert "")
  if(FW_FORMAT STREQUAL "bin")
    set(artifact "${base}.bin")
    set(convert COMMAND "${CMAKE_OBJCOPY}" -O binary "${elf}" "${artifact}")
  elseif(FW_FORMAT STREQUAL "hex")
    set(artifact "${base}.hex")
    set(convert COMMAND "${CMAKE_OBJCOPY}" -O ihex "${elf}" "${artifact}")
  elseif(FW_FORMAT STREQUAL "elf")
    set(artifact "${elf}")
  else()
    message(FATAL_ERROR "fwrepo_publish: FORMAT must be bin, hex or elf, not '${FW_FORMAT}'")
  endif()
  if(convert AND NOT CMAKE_OBJCOPY)
    message(FATAL_ERROR "fwrepo_publish: FORMAT ${FW_FORMAT} needs CMAKE_OBJCOPY (set by a cross toolchain file)")
  endif()

  set(args publish "${artifact}" --type "${FW_TYPE}" --name "${FW_NAME}" --version "${version}"
           --version-source "CMake PROJECT_VERSION" --source-dir "${CMAKE_CURRENT_SOURCE_DIR}"
           --skip-if-unconfigured)
  foreach(tag IN LISTS FW_TAGS)
    list(APPEND args --tag "${tag}")
  endforeach()
  foreach(device_type IN LISTS FW_DEVICE_TYPES)
    list(APPEND args --device-type "${device_type}")
  endforeach()
  if(FW_DESCRIPTION)
    list(APPEND args --description "${FW_DESCRIPTION}")
  endif()
  if(FW_ALLOW_REPUBLISH)
    list(APPEND args --allow-republish)
  endif()
  if(FW_ALLOW_FAILURE)
    list(APPEND args --allow-failure)
  endif()
  if(FW_CREATE_TYPE)
    list(APPEND args --create-type)
  endif()
  add_custom_command(TARGET ${FW_TARGET} POST_BUILD
    ${convert}
    COMMAND "${FWREPO_EXECUTABLE}" ${args}
    COMMENT "fwrepo: publishing ${FW_NAME} ${version} (${FW_FORMAT})"
    VERBATIM)
endfunction()
