"""Where and how a run computes: the device and its precision, the processes of a distributed run and their launcher."""
