"""Helpers the tests share: running resnetlab in a child process, interrupting a run at a chosen step."""
