#!/usr/bin/env bash
# Real pip output, made offline in $1: the installed packages, one package's files, hashes of
# local files, the compatible tags and an inspect report. Every printed line is a clean line.
set -u
cd "$1" || exit 1
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INDEX=1 PYTHONDONTWRITEBYTECODE=1
pip --version
pip list
pip list --format=freeze
pip list --format=json | python3 -m json.tool
pip show pip
pip show -f pip | head -150
pip show -v pytest 2>/dev/null || pip show -v setuptools
printf 'requests-lite==1.0\n' > req.txt
printf 'print("hello")\n' > one.py
printf 'x = 1\n' > two.py
pip hash one.py two.py req.txt
pip hash -a sha512 one.py
pip freeze
pip check
pip config list
pip debug --verbose 2>&1 | head -120
pip inspect 2>/dev/null | head -300
pip download --no-index -d dl nonexistent-package-xyz 2>&1 || true
pip install --no-index nonexistent-package-xyz 2>&1 || true
