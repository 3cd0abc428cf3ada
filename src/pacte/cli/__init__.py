"""The ``pacte`` command line: the hub operator's tool."""
