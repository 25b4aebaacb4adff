"""The in-process object storage of the functional tests, for the fault tests here."""

from tests.functional.object.conftest import swift

__all__ = ["swift"]
