"""Test-session settings shared by every test module."""

import os

# scikit-learn enables array-API dispatch (sklearn.config_context(array_api_dispatch=True)) only
# when SciPy was imported with its own array-API support on; set it before anything imports
# SciPy, as scikit-learn's own test suite does, so that the array-API tests (tests/test_xp.py)
# and scikit-learn's array-API estimator checks run instead of skipping.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
