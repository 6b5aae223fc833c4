#!/usr/bin/env bash
# Re-extract user-visible strings and merge them into the English catalogue.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=.venv/bin
$bin/pybabel extract -F trainapp/translations/babel.cfg -k _l -k lazy_gettext \
  -o trainapp/translations/messages.pot --sort-output --omit-header --no-location .
$bin/pybabel update -i trainapp/translations/messages.pot -d trainapp/translations -l en --no-fuzzy-matching --ignore-obsolete
$bin/pybabel compile -d trainapp/translations
