#!/usr/bin/env bash
# Lints the SAM template with AWS's cfn-lint (aws-cloudformation/cfn-lint, a
# Python tool: `pipx install cfn-lint` or `pip install cfn-lint`). The npm
# package of the same name is a different, long-unmaintained validator
# without the SAM transform, so it is not used. Exits 77 (ctest: skipped)
# when cfn-lint is not installed; any finding, warnings included, fails.
set -euo pipefail
template=${1:?usage: run_cfn_lint.sh TEMPLATE}
if ! command -v cfn-lint >/dev/null; then
  echo "cfn-lint is not installed (pipx install cfn-lint); skipping" >&2
  exit 77
fi
cfn-lint --version
exec cfn-lint --format parseable -- "$template"
