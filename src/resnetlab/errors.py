"""Errors that mean "the input was wrong", as opposed to a bug.

The command line reports a `UserInputError` as one line saying what is wrong and how to fix it; anything else is a
bug in resnetlab and keeps its traceback.
"""


class UserInputError(ValueError):
    """A name, option or size the user gave is not valid."""
