# Stages what tally embeds into one tree STAGE: web/public (counter.js, the
# plain-HTML demo) and on top of it web/dist, the npm build of the résumé demo
# and the dashboard (scripts/serve.sh and scripts/test.sh run `npm ci` and
# `npm run build` in web/ first). Without a web/dist (no npm), /demo/ falls
# back to the plain counter.js page and /dashboard/ says how to build it.
# Run at build time: cmake -DWEB=<repo>/web -DSTAGE=<dir> -P stage_assets.cmake
file(REMOVE_RECURSE "${STAGE}")
file(COPY "${WEB}/public/" DESTINATION "${STAGE}")
if(EXISTS "${WEB}/dist")
  file(COPY "${WEB}/dist/" DESTINATION "${STAGE}")
endif()
if(NOT EXISTS "${STAGE}/demo/index.html")
  file(COPY_FILE "${WEB}/public/demo/plain.html" "${STAGE}/demo/index.html")
endif()
if(NOT EXISTS "${STAGE}/dashboard/index.html")
  file(WRITE "${STAGE}/dashboard/index.html" "<!doctype html><meta charset=utf-8><title>Tally dashboard</title><p>The dashboard was not built into this binary: run <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>, then rebuild tally (scripts/serve.sh does both).</p>\n")
endif()
