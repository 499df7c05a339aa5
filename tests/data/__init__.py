# A package, so that test modules named like other folders' (test_cifar.py, also in tests/models) can coexist.
