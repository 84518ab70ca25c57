# Writes a .cc holding every schemas/sql/NNN_*.sql file as a Migration.
# Usage: cmake -DSQL_DIR=... -DOUTPUT=... -P migrations_bundle.cmake
file(GLOB files "${SQL_DIR}/[0-9][0-9][0-9]_*.sql")
list(SORT files)
set(body "")
foreach(f IN LISTS files)
  get_filename_component(name "${f}" NAME)
  string(SUBSTRING "${name}" 0 3 version)
  math(EXPR version "${version}")
  file(READ "${f}" sql)
  string(APPEND body "    {${version}, \"${name}\", R\"fourkeys_sql(${sql})fourkeys_sql\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from schemas/sql by migrations_bundle.cmake; do not edit.
#include \"worker/migrations.h\"

namespace fourkeys::worker {

const std::vector<Migration>& bundled_migrations() {
  static const std::vector<Migration> migrations{
${body}  };
  return migrations;
}

}  // namespace fourkeys::worker
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
