"""pytest plugin for mutation runs only (scripts/mutation.sh loads it with ``-p tests.mutation_plugin``): the same
tests, with the cheapest password hasher, since mutmut runs the tests of a function once per mutant and hashing
passwords (creating users, logging in) is most of their time otherwise. Never loaded by scripts/test.sh."""
import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
